"""TTL and condition semantics shared by the backends that evaluate them in Python (memory, SQLite).

DynamoDB states the same rules as ConditionExpressions in ``dynamodb.py``; the store suite checks that
all three agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.store.base import IfAbsent, IfExpired, IfOwner, IfVersion

if TYPE_CHECKING:
    from core.store.base import Cond, Item


def live(item: Item | None, now: float) -> Item | None:
    """The item, or None when it is absent or its ``ttl`` is at or before ``now``."""
    if item is None:
        return None
    ttl = item.get("ttl")
    return None if ttl is not None and ttl <= now else item


def cond_holds(cond: Cond, stored: Item | None, now: float) -> bool:
    """Whether a put under ``cond`` may replace ``stored`` (an expired item counts as absent)."""
    match cond:
        case IfAbsent(now=at) | IfExpired(now=at):
            return live(stored, at) is None
        case IfVersion(version=want):
            current = live(stored, now)
            version = (current.get("version") or 0) if current else 0
            return version == want
        case IfOwner(owner=owner):
            return stored is not None and stored.get("owner") == owner
    raise TypeError(f"unknown condition {cond!r}")
