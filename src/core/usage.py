"""Usage reports: the per-request counters of ``records.add_usage`` summed per day and one dimension.

The management API (``GET /v0/management/usage``) and ``cliproxy usage`` both answer from here, so a report
reads the same locally and against a deployment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from core.store import records

if TYPE_CHECKING:
    from core.store.base import Store

By = Literal["credential", "model", "client-key"]
BY_CHOICES: tuple[By, ...] = ("credential", "model", "client-key")
COUNTERS = ("requests", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "errors")
MAX_DAYS = records.USAGE_KEEP_DAYS + 1


class UsageQueryError(ValueError):
    """A report asked for something we cannot answer (bad date, unknown dimension, too long a range)."""


@dataclass(frozen=True, slots=True)
class Row:
    day: str
    key: str  # the credential id, model or client key name (``by``)
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def day_range(start: str | None, end: str | None, *, today: dt.date | None = None, days: int = 7) -> list[str]:
    """The days from ``start`` to ``end`` inclusive (``YYYY-MM-DD``); by default the last ``days`` days."""
    today = today or dt.datetime.now(dt.UTC).date()
    last = _date(end) if end else today
    first = _date(start) if start else last - dt.timedelta(days=days - 1)
    if first > last:
        raise UsageQueryError("'from' is after 'to'")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise UsageQueryError(f"at most {MAX_DAYS} days per report (usage is kept {records.USAGE_KEEP_DAYS} days)")
    return [(first + dt.timedelta(days=i)).isoformat() for i in range(count)]


async def report(store: Store, days: list[str], by: str) -> list[Row]:
    """One row per (day, ``by`` value) that saw requests, ordered by day then key."""
    if by not in BY_CHOICES:
        raise UsageQueryError(f"'by' must be one of {', '.join(BY_CHOICES)}")
    position = BY_CHOICES.index(by)
    rows = []
    for day in days:
        sums: dict[str, dict[str, int]] = {}
        for dims, counters in (await records.load_usage(store, day)).items():
            bucket = sums.setdefault(dims[position] or "-", {})
            for name in COUNTERS:
                bucket[name] = bucket.get(name, 0) + counters.get(name, 0)
        rows += [Row(day, key, **sums[key]) for key in sorted(sums)]
    return rows


def totals(rows: list[Row]) -> dict[str, int]:
    return {name: sum(getattr(row, name) for row in rows) for name in COUNTERS}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageQueryError(f"{text!r} is not a date (YYYY-MM-DD)") from None
