"""Pool state shared by every instance through the store, with a short per-process cache.

Steady state costs one store read per request (the affinity pin) and no write: credentials and cooldowns
come from a snapshot refreshed every few seconds, a session on its home credential (``pool.Choice.home``)
needs no pin at all, a pin is rewritten only when it moves or half its TTL has passed. Usage is one atomic counter write
per request when it ends (an instance may be reclaimed at any moment, so nothing waits in memory). Anything that matters is in the store, so a cold instance behaves like a warm one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core import errors, models, pool, refresh
from core.store import records

if TYPE_CHECKING:
    import httpx

    from core import ir
    from core.config import Config
    from core.credentials import Credential
    from core.errors import FailureKind
    from core.store.base import Store

_LISTS_RELOAD_S = 60.0  # upstream model lists change rarely: no store read for them on every snapshot


@dataclass(frozen=True, slots=True)
class Snapshot:
    credentials: tuple[Credential, ...]
    index: models.Index
    cooldowns: dict[tuple[str, str], float]  # live ones: (credential id, model group or "*") -> until
    loaded_at: float
    levels: dict[tuple[str, str], int] = field(default_factory=dict)  # stored backoff exponents (> 0)


@dataclass
class PoolState:
    config: Config
    store: Store
    clock: Callable[[], float] = time.time
    ttl: float = 3.0
    _snap: Snapshot | None = None
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock)
    _local_cool: dict[tuple[str, str], float] = field(default_factory=dict)
    _refresh_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _turn: int = 0
    _lists: dict[str, tuple[str, ...]] | None = None
    _lists_at: float = 0.0
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)

    async def snapshot(self) -> Snapshot:
        now = self.clock()
        snap = self._snap
        if snap is not None and now - snap.loaded_at < self.ttl:
            return snap
        async with self._loading:
            snap = self._snap
            if snap is None or self.clock() - snap.loaded_at >= self.ttl:
                snap = self._snap = await self._load()
        return snap

    async def _load(self) -> Snapshot:
        now = self.clock()
        stored = tuple(await records.load_credentials(self.store))
        creds = self.config.credentials + stored
        cooldowns: dict[tuple[str, str], float] = {}
        levels: dict[tuple[str, str], int] = {}
        for item in await records.load_cooldown_items(self.store):
            key = (item["cred_id"], item["model"])
            if item["until"] > now:
                cooldowns[key] = item["until"]
            if item.get("level"):
                levels[key] = int(item["level"])
        for key, until in self._local_cool.items():  # our own writes are visible at once
            if until > now and until > cooldowns.get(key, 0.0):
                cooldowns[key] = until
        return Snapshot(creds, models.Index(creds, await self._model_lists(now)), cooldowns, now, levels)

    async def _model_lists(self, now: float) -> dict[str, tuple[str, ...]]:
        """The upstreams' own model lists (core.model_lists), re-read from the store once a minute."""
        if self._lists is None or now - self._lists_at >= _LISTS_RELOAD_S:
            from core import model_lists

            self._lists, self._lists_at = await model_lists.load(self.store, now), now
        return self._lists

    def invalidate(self) -> None:
        self._snap = None

    def forget_model_lists(self) -> None:
        """The stored model lists changed (core.model_lists.refresh): the next snapshot reads them again."""
        self._lists, self._snap = None, None

    def next_turn(self) -> int:
        self._turn += 1
        return self._turn

    async def cool_down(self, cred: Credential, group: str, kind: FailureKind,
                        retry_after: float | None) -> pool.Rest | None:
        """Bench ``cred`` after a failure of ``kind`` (``pool.rest`` says how long and for which models),
        stored so every instance honours it. A window still open is kept rather than escalated: requests
        in flight when it opened fail too, and one failure is enough to double the next wait."""
        snap = await self.snapshot()
        now = self.clock()
        rest = pool.rest(kind, retry_after, snap.levels.get((cred.id, group), 0))
        if rest is None:
            return None
        model = "*" if rest.every_model else group
        key = (cred.id, model)
        until = now + rest.seconds
        if snap.cooldowns.get(key, 0.0) >= until:
            return rest
        self._local_cool[key] = until
        snap.cooldowns[key] = until
        if rest.level:
            snap.levels[key] = rest.level
        await records.set_cooldown(self.store, cred.id, model, until, kind, level=rest.level)
        return rest

    async def succeeded(self, cred: Credential, group: str) -> None:
        """A success resets the backoff of (credential, model); a write only when there is one to clear."""
        snap = self._snap
        key = (cred.id, group)
        if snap is None or key not in snap.levels:
            return
        del snap.levels[key]
        self._local_cool.pop(key, None)
        snap.cooldowns.pop(key, None)
        await records.clear_cooldown(self.store, cred.id, group)

    async def note_error(self, cred_id: str, err: errors.ProxyError) -> None:
        """The credential's last failure, for operators: status and type, never the upstream's text."""
        kind = err.code or getattr(err, "kind", None) or type(err).__name__
        await records.note_error(self.store, cred_id, err.status, kind, self.clock())

    async def get_pin(self, provider: str, session: str, group: str) -> tuple[str, float] | None:
        """(credential id, expiry) of the session's pin, if any."""
        return await records.get_pin(self.store, provider, session, group, self.clock())

    async def pin(self, provider: str, session: str, group: str, cred_id: str,
                  current: tuple[str, float] | None, *, home: str | None = None) -> None:
        """After a success on ``cred_id``: pin the session there, unless it already points here with more
        than half its TTL left. A success on the session's ``home`` needs no pin (the hash finds it again);
        an old pin elsewhere is dropped so that it cannot pull the session away later."""
        if cred_id == home:
            if current is not None:
                await records.unpin(self.store, provider, session, group)
            return
        ttl = self.config.routing.session_affinity_ttl
        now = self.clock()
        if current is not None and current[0] == cred_id and current[1] - now > ttl / 2:
            return
        await records.pin(self.store, provider, session, group, cred_id, ttl, now)

    async def add_usage(self, cred_id: str, model: str, usage: ir.Usage, *, client: str | None = None,
                        failed: bool = False) -> None:
        """Count one finished request (``failed``: it ended in an error) for the day, credential, model and
        client key name."""
        counters = {"requests": 1, "errors": int(failed), "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens, "cached_tokens": usage.cached_tokens,
                    "reasoning_tokens": usage.reasoning_tokens}
        await records.add_usage(self.store, records.usage_day(self.clock()), cred_id, model,
                                {k: v for k, v in counters.items() if v}, client=client or "")

    async def fresh(self, cred: Credential, http: httpx.AsyncClient, *, force: bool = False) -> Credential:
        """A credential whose access token is valid: refreshed (``core.refresh``) when near expiry, or when
        ``force``d; one refresh per credential at a time in this process, single-flight across instances."""
        if not refresh.refreshable(cred) or not (force or refresh.needed(cred, self.clock())):
            return cred
        lock = self._refresh_locks.setdefault(cred.id, asyncio.Lock())
        async with lock:
            try:
                done = await refresh.Refresh(self.store, http, self.config.oauth, self.owner, self.clock).run(
                    cred, force=force)
            except errors.UpstreamError:
                self.invalidate()  # the failure may have marked the credential needs-login
                raise
        if done.changed:
            self.invalidate()
        return done.cred

    async def stored_credentials(self) -> list[Credential]:
        """Every credential in the store (not the config's), in id order."""
        return await records.load_credentials(self.store)

    async def stored_credential(self, cred_id: str) -> Credential | None:
        return await records.get_credential(self.store, cred_id)

    async def save_credential(self, cred: Credential, *, expected_version: int) -> Credential | None:
        """Store ``cred`` if the stored version is still ``expected_version`` (0: new); None when another
        writer came first."""
        saved = await records.save_credential(self.store, cred, expected_version=expected_version)
        self.invalidate()
        return saved

    async def delete_credential(self, cred_id: str) -> bool:
        """Remove a stored credential with its lease and cooldowns; False when there was none."""
        existed = await records.delete_credential(self.store, cred_id)
        self.invalidate()
        return existed
