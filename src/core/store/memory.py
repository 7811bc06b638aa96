"""In-process store: dicts behind one asyncio lock. For tests and single-process runs without persistence."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import TYPE_CHECKING

from core.store import conditions

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.crypto import Cipher
    from core.store.base import Cond, Item


class MemoryStore:
    def __init__(self, *, cipher: Cipher | None = None) -> None:
        self.cipher = cipher
        self._items: dict[tuple[str, str], Item] = {}
        self._lock = asyncio.Lock()

    async def init(self) -> bool:
        """Nothing to create; present so every backend can be initialised the same way."""
        return False

    async def get(self, pk: str, sk: str) -> Item | None:
        item = conditions.live(self._items.get((pk, sk)), time.time())
        return copy.deepcopy(item) if item else None

    async def query(self, pk: str, sk_prefix: str = "") -> list[Item]:
        now = time.time()
        found = [
            item for (ipk, isk), item in self._items.items()
            if ipk == pk and isk.startswith(sk_prefix) and conditions.live(item, now)
        ]
        return copy.deepcopy(sorted(found, key=lambda item: item["sk"]))

    async def put(self, item: Item, *, cond: Cond | None = None) -> bool:
        key = (item["pk"], item["sk"])
        async with self._lock:
            if cond is not None and not conditions.cond_holds(cond, self._items.get(key), time.time()):
                return False
            self._items[key] = copy.deepcopy(item)
            return True

    async def delete(self, pk: str, sk: str) -> None:
        async with self._lock:
            self._items.pop((pk, sk), None)

    async def add(self, pk: str, sk: str, counters: Mapping[str, int], *, ttl: float | None = None) -> dict[str, int]:
        async with self._lock:
            item = self._items.setdefault((pk, sk), {"pk": pk, "sk": sk})
            for name, n in counters.items():
                item[name] = item.get(name, 0) + n
            if ttl is not None:
                item["ttl"] = ttl
            return {name: item[name] for name in counters}

    async def close(self) -> None:
        self._items.clear()
