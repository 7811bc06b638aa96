"""Credential choice: a pure function of (routes, cooldowns, pin, session, strategy, now).

Order of preference: the session's pinned credential when it is usable; then the highest priority group;
inside a group, ``fill-first`` takes ids in order, ``round-robin`` rotates -- by rendezvous hashing on the
session key when there is one (so a new session lands on a stable credential without any write), else by
a per-process turn counter. Cooling-down credentials are skipped; the caller tries the rest in order.

A session's *home* is where that order puts it when nothing is pinned or cooling: every instance finds it
again from the hash alone, so only a session that has moved away from its home needs a pin record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.models import Route, Target

Cooldowns = Mapping[tuple[str, str], float]  # (credential id, model group or "*") -> until (unix seconds)


@dataclass(frozen=True, slots=True)
class Choice:
    routes: tuple[Route, ...]  # usable routes, best first
    retry_at: float | None  # when nothing is usable: the earliest moment one becomes usable again
    home: str | None = None  # the session's credential when nothing is pinned or cooling (no record needed)


def cooling_until(cred_id: str, group: str, cooldowns: Cooldowns, now: float) -> float | None:
    """The end of the credential's cooldown for this model group, if it is cooling now."""
    until = max(cooldowns.get((cred_id, group), 0.0), cooldowns.get((cred_id, "*"), 0.0))
    return until if until > now else None


def candidates(target: Target, *, now: float, cooldowns: Cooldowns, pinned: str | None = None,
               session: str | None = None, strategy: str = "round-robin", turn: int = 0) -> Choice:
    usable: list[Route] = []
    soonest: float | None = None
    for route in target.routes:
        until = cooling_until(route.cred.id, target.group, cooldowns, now)
        if until is None:
            usable.append(route)
        elif soonest is None or until < soonest:
            soonest = until
    ordered = _order(usable, strategy=strategy, session=session, turn=turn)
    if pinned is not None:
        ordered.sort(key=lambda r: r.cred.id != pinned)  # stable: the pin first, the rest keep their order
    home = None
    if session is not None and target.routes:
        home = _order(list(target.routes), strategy=strategy, session=session, turn=turn)[0].cred.id
    return Choice(tuple(ordered), None if ordered else soonest, home)


def _order(routes: list[Route], *, strategy: str, session: str | None, turn: int) -> list[Route]:
    by_priority: dict[int, list[Route]] = {}
    for route in sorted(routes, key=lambda r: r.cred.id):
        by_priority.setdefault(route.cred.priority, []).append(route)
    ordered: list[Route] = []
    for priority in sorted(by_priority, reverse=True):
        group = by_priority[priority]
        if strategy == "round-robin" and len(group) > 1:
            if session is not None:
                group.sort(key=lambda r: _rendezvous(session, r.cred.id), reverse=True)
            else:
                shift = turn % len(group)
                group = group[shift:] + group[:shift]
        ordered.extend(group)
    return ordered


def _rendezvous(session: str, cred_id: str) -> bytes:
    return hashlib.blake2b(f"{session}\x00{cred_id}".encode(), digest_size=8).digest()


def cooldown_seconds(status: int, retry_after: float | None, level: int = 0) -> float:
    """How long a failure benches a credential for a model (CLIProxyAPI's table, Retry-After honoured)."""
    if retry_after is not None and retry_after > 0:
        return min(retry_after, 6 * 3600.0)
    if status == 429:
        return min(2.0**level, 1800.0)
    if status in (401, 402, 403):
        return 1800.0
    if status == 404:
        return 12 * 3600.0
    return 60.0  # 408, 5xx, connection errors, error events before output
