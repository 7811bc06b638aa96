"""Embedded store: one SQLite table ``items(pk, sk, data, ttl, version)`` in WAL mode.

Items are stored whole as JSON in ``data``; ``ttl`` and ``version`` are copied into columns so expiry can be
filtered in SQL. Conditional writes and counters run inside ``BEGIN IMMEDIATE`` transactions, which makes
them atomic across processes too (the CLI may import credentials while the server runs).

Reads run synchronously on their own connection: a WAL reader never waits for a writer, and a point read
costs about 3 µs inline against about 60 µs through a thread. Writes may wait on another process's lock,
so they run in a worker thread on the writer connection. Counter adds (every request's usage, the limits)
are group-committed: the adds that arrive while one batch is being written go together in the next
transaction, one thread hop for all of them, and each caller still gets its own counts once they are stored.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from core.store import conditions

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from core.crypto import Cipher
    from core.store.base import Cond, Item

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    data BLOB NOT NULL,
    ttl REAL,
    version INTEGER,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID
"""


class SqliteStore:
    def __init__(self, path: str, *, cipher: Cipher | None = None) -> None:
        self.path = path
        self.cipher = cipher
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._db = _connect(path)
        self._lock = threading.Lock()  # the writer connection is shared by the worker threads
        self._create_schema()
        self._reader = self._db if path == ":memory:" else _connect(path)
        self._adds: list[_Add] = []  # waiting for the next group commit
        self._committer: asyncio.Task[None] | None = None  # writing the group commits

    def _create_schema(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)

    async def init(self) -> bool:
        """The schema is created on open; kept so ``cliproxy store init`` treats every backend alike."""
        return False

    async def get(self, pk: str, sk: str) -> Item | None:
        row = self._reader.execute(
            "SELECT data FROM items WHERE pk = ? AND sk = ? AND (ttl IS NULL OR ttl > ?)",
            (pk, sk, time.time()),
        ).fetchone()
        return orjson.loads(row[0]) if row else None

    async def query(self, pk: str, sk_prefix: str = "") -> list[Item]:
        rows = self._reader.execute(
            "SELECT data FROM items WHERE pk = ? AND substr(sk, 1, ?) = ? AND (ttl IS NULL OR ttl > ?)"
            " ORDER BY sk",
            (pk, len(sk_prefix), sk_prefix, time.time()),
        ).fetchall()
        return [orjson.loads(row[0]) for row in rows]

    async def put(self, item: Item, *, cond: Cond | None = None) -> bool:
        return bool(await self._run(self._put, item, cond))

    async def delete(self, pk: str, sk: str) -> None:
        await self._run(self._delete, pk, sk)

    async def add(self, pk: str, sk: str, counters: Mapping[str, int], *, ttl: float | None = None) -> dict[str, int]:
        done: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        self._adds.append(_Add(pk, sk, dict(counters), ttl, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.get_running_loop().create_task(self._commit_adds())
        return dict(await asyncio.shield(done))  # a cancelled caller's add is still written

    async def _commit_adds(self) -> None:
        """Write the waiting adds, batch after batch, until none is left; each caller waits for its own."""
        while self._adds:
            batch, self._adds = self._adds, []
            try:
                results = await self._run(self._add_all, batch)
            except Exception as exc:  # noqa: BLE001 - every add of the batch failed alike
                for add in batch:
                    if not add.done.done():
                        add.done.set_exception(exc)
                continue
            for add, result in zip(batch, results, strict=True):
                if not add.done.done():
                    add.done.set_result(result)

    async def close(self) -> None:
        committer = self._committer
        if committer is not None and not committer.done() and committer.get_loop() is asyncio.get_running_loop():
            await committer  # the adds already asked for are written before the connections close
        with self._lock:
            self._reader.close()
            self._db.close()

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run off the event loop: a write may wait on another process's lock (up to ``timeout``)."""
        return await asyncio.to_thread(self._locked, fn, *args)

    def _locked(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            return fn(*args)

    # The synchronous write bodies, called in a worker thread with the lock held.

    def _put(self, item: Item, cond: Cond | None) -> bool:
        with _immediate(self._db):
            if cond is not None and not conditions.cond_holds(cond, self._stored(item["pk"], item["sk"]), time.time()):
                return False
            self._write(item)
            return True

    def _delete(self, pk: str, sk: str) -> None:
        self._db.execute("DELETE FROM items WHERE pk = ? AND sk = ?", (pk, sk))

    def _add_all(self, batch: list[_Add]) -> list[dict[str, int]]:
        """One transaction for the batch, applied in arrival order (each add sees the ones before it)."""
        results = []
        with _immediate(self._db):
            for add in batch:
                item = self._stored(add.pk, add.sk) or {"pk": add.pk, "sk": add.sk}
                for name, n in add.counters.items():
                    item[name] = item.get(name, 0) + n
                if add.ttl is not None:
                    item["ttl"] = add.ttl
                self._write(item)
                results.append({name: item[name] for name in add.counters})
        return results

    def _stored(self, pk: str, sk: str) -> Item | None:
        """The stored item even if expired: conditions decide what expiry means."""
        row = self._db.execute("SELECT data FROM items WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()
        return orjson.loads(row[0]) if row else None

    def _write(self, item: Item) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO items (pk, sk, data, ttl, version) VALUES (?, ?, ?, ?, ?)",
            (item["pk"], item["sk"], orjson.dumps(item), item.get("ttl"), item.get("version")),
        )


@dataclass(frozen=True, slots=True)
class _Add:
    pk: str
    sk: str
    counters: dict[str, int]
    ttl: float | None
    done: asyncio.Future[dict[str, int]]


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)


class _immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): takes the write lock before reading."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
