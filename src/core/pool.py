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
    from core.errors import FailureKind
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


@dataclass(frozen=True, slots=True)
class Rest:
    """How long a failure benches a credential: for every model (``model`` None) or for one model group."""

    seconds: float
    every_model: bool
    level: int  # the backoff exponent to store; the next failure without a hint waits 2**level s


AUTH_REST_S = 30 * 60.0
NOT_FOUND_REST_S = 12 * 3600.0
QUOTA_BACKOFF_CAP_S = 30 * 60.0
TRANSIENT_BACKOFF_CAP_S = 60.0
_HINT_CAP_S = 8 * 86400.0  # a Codex weekly reset is the longest hint an upstream gives


def rest(kind: FailureKind, retry_after: float | None, level: int = 0) -> Rest | None:
    """The cooldown for a failure of ``kind`` (``core.executors.classify``), ``level`` being the backoff
    exponent stored for that credential and model (0 after a success). None: the failure does not cool."""
    if kind == "bad-request":
        return None
    if kind in ("auth", "forbidden"):
        return Rest(AUTH_REST_S, True, 0)
    if kind == "not-found":
        return Rest(NOT_FOUND_REST_S, False, 0)
    if kind in ("quota", "rate-limit"):
        if retry_after is not None and retry_after > 0:
            return Rest(min(retry_after, _HINT_CAP_S), False, level)
        return _backoff(level, QUOTA_BACKOFF_CAP_S)
    return _backoff(level, TRANSIENT_BACKOFF_CAP_S)  # overloaded, server, network


def _backoff(level: int, cap: float) -> Rest:
    """1 s, 2 s, 4 s ... up to ``cap``; the level stops growing once the cap is reached."""
    seconds = 2.0**level
    if seconds >= cap:
        return Rest(cap, False, level)
    return Rest(seconds, False, level + 1)
