"""The Store protocol: five primitives every backend implements; domain logic lives in ``records``.

An item is a flat dict with ``pk`` and ``sk`` string keys, an optional ``ttl`` (unix seconds, after which
the item is treated as absent even before the backend deletes it) and an optional integer ``version``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.crypto import Cipher

Item = dict[str, Any]


@dataclass(frozen=True, slots=True)
class IfAbsent:
    """Put only if no live item (absent, or ttl passed) has this key."""

    now: float


@dataclass(frozen=True, slots=True)
class IfVersion:
    """Put only if the stored item's ``version`` equals this one."""

    version: int


@dataclass(frozen=True, slots=True)
class IfExpired:
    """Put only if the item is absent or its ``ttl`` is at or before ``now`` (lease takeover)."""

    now: float


@dataclass(frozen=True, slots=True)
class IfOwner:
    """Put only if the stored item (live or expired) has this ``owner`` (releasing one's own lease)."""

    owner: str


Cond = IfAbsent | IfVersion | IfExpired | IfOwner


class Store(Protocol):
    cipher: Cipher | None  # the key for secrets at rest (``records`` encrypts credentials with it)

    async def init(self) -> bool: ...  # create the table / schema when missing; True when it was created
    async def get(self, pk: str, sk: str) -> Item | None: ...
    async def query(self, pk: str, sk_prefix: str = "") -> list[Item]: ...
    async def put(self, item: Item, *, cond: Cond | None = None) -> bool: ...  # False when cond fails
    async def delete(self, pk: str, sk: str) -> None: ...
    async def add(self, pk: str, sk: str, counters: Mapping[str, int], *,
                  ttl: float | None = None) -> dict[str, int]: ...  # the counters' new totals
    async def close(self) -> None: ...
