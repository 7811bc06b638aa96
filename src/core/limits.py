"""A client key's model list and limits, enforced across every instance through the store.

Records (``<label>`` is the key's name, or ``key-<hash>`` for an unnamed key; never the key itself):

    LIMIT#<label> / DAY#<YYYY-MM-DD>   ``tokens`` (input + output) added when a response ends; ``ttl`` = day end + 1 day
    LIMIT#<label> / SLOT#<n>           a concurrency lease: ``owner``, ``ttl`` = lease end (a crashed instance's
                                       slot frees itself then); released early by marking it expired
    RPM#<label>   / <unix minute>      ``requests`` added atomically (ADD) per minute window; ``ttl`` = window end + 60 s

Cost per request: nothing for a key without limits. Otherwise one read at most (a query of ``LIMIT#<label>``,
which holds today's tokens and the live slots; made only with ``tokens-per-day`` or ``max-concurrent``), then
one atomic ADD for the minute window, one conditional put for a slot and, at the end, one put to free the slot
and one ADD for the tokens. The ADD's returned total decides the per-minute limit, so instances never race.
"""

from __future__ import annotations

import asyncio
import calendar
import os
import random
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from core import errors, ir
from core.models import parse_suffix
from core.store.base import IfExpired, IfOwner

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable

    from core.config import ClientKey
    from core.store.base import Store

# A lease outlives any request on Lambda (15 minutes at most); a crashed server's slot frees itself after it.
_LEASE_SECONDS = 900.0


def lease_seconds() -> float:
    """``$CLIPROXY_LEASE_SECONDS`` (tests, and servers with longer streams), else 900."""
    raw = os.environ.get("CLIPROXY_LEASE_SECONDS")
    return float(raw) if raw else _LEASE_SECONDS


def check_model(client: ClientKey | None, model: str) -> None:
    """403 when the key's ``models`` globs do not cover ``model`` (with or without its thinking suffix)."""
    if client is None or not client.models:
        return
    if client.allows(model) or client.allows(parse_suffix(model)[0]):
        return
    raise errors.ProxyError(f"this API key may not use model {model}", status=403, code="model_not_allowed",
                            param="model")


@dataclass(slots=True)
class Admission:
    """A request let through by its key's limits: count its tokens at the end, then give back its slot."""

    store: Store
    client: ClientKey
    owner: str
    slot: str | None = None
    released: bool = False

    async def count(self, usage: ir.Usage | None) -> None:
        tokens = (usage.input_tokens + usage.output_tokens) if usage else 0
        if self.client.tokens_per_day and tokens > 0:
            now = time.time()
            day = _day(now)
            await self.store.add(_pk(self.client), f"DAY#{day}", {"tokens": tokens}, ttl=_day_end(now) + 86400)

    async def release(self) -> None:
        if self.released or self.slot is None:
            return
        self.released = True
        item = {"pk": _pk(self.client), "sk": self.slot, "owner": self.owner, "ttl": time.time()}
        await self.store.put(item, cond=IfOwner(self.owner))  # ours still: mark it free; taken over: leave it

    async def hold(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``stream``, giving the slot back however it ends (done, failed, or the client hung up)."""
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await self.finish(stream)

    async def finish(self, stream: AsyncIterator[bytes] | None = None) -> None:
        """Close ``stream`` and free the slot, even when the request is being cancelled (a client that hung
        up): the server's cancel scope would cancel every await here, so the work runs in its own task."""
        await asyncio.shield(self._finish(stream))

    async def _finish(self, stream: AsyncIterator[bytes] | None) -> None:
        try:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await self.release()


async def admit(client: ClientKey | None, store: Store, now: float) -> Admission | None:
    """Let the request through or raise ``ClientLimitError`` (429 with Retry-After). None: no limits to hold."""
    if client is None or not client.limited:
        return None
    tokens, live = (await _read(store, client, now)) if (client.tokens_per_day or client.max_concurrent) else (0, set())
    if client.tokens_per_day and tokens >= client.tokens_per_day:
        raise _refused(client, f"used its {client.tokens_per_day} tokens for today", _day_end(now) - now)
    if client.requests_per_minute:
        minute = int(now // 60)
        total = await store.add(f"RPM#{client.label}", str(minute), {"requests": 1}, ttl=(minute + 2) * 60)
        if total["requests"] > client.requests_per_minute:
            raise _refused(client, f"is over {client.requests_per_minute} requests per minute", (minute + 1) * 60 - now)
    admission = Admission(store, client, uuid.uuid4().hex)
    if client.max_concurrent:
        admission.slot = await _take_slot(store, client, admission.owner, live, now)
        if admission.slot is None:
            raise _refused(client, f"has {client.max_concurrent} requests in flight already", 1.0)
    return admission


async def _read(store: Store, client: ClientKey, now: float) -> tuple[int, set[str]]:
    """Today's tokens and the live slots, in one query."""
    today, tokens, live = f"DAY#{_day(now)}", 0, set()
    for item in await store.query(_pk(client)):
        if item["sk"] == today:
            tokens = int(item.get("tokens") or 0)
        elif item["sk"].startswith("SLOT#"):
            live.add(item["sk"])
    return tokens, live


async def _take_slot(store: Store, client: ClientKey, owner: str, live: set[str], now: float) -> str | None:
    """A free slot, taken with a conditional put (racing instances: exactly one wins each slot)."""
    free = [sk for n in range(client.max_concurrent or 0) if (sk := f"SLOT#{n}") not in live]
    random.shuffle(free)  # racing instances rarely try the same slot first
    for sk in free:
        item = {"pk": _pk(client), "sk": sk, "owner": owner, "ttl": now + lease_seconds()}
        if await store.put(item, cond=IfExpired(now)):
            return sk
    return None


def _refused(client: ClientKey, what: str, wait: float) -> errors.ClientLimitError:
    return errors.ClientLimitError(f"API key {client.label} {what}", retry_after=max(1.0, wait),
                                   code="rate_limit_exceeded")


class _Streaming(Protocol):
    stream: AsyncIterator[bytes] | None


R = TypeVar("R", bound=_Streaming)


async def run_held(admission: Admission, reply_of: Awaitable[R]) -> R:
    """Await the reply; free the slot when it failed, is whole, or (for a stream) when the stream ends."""
    try:
        reply = await reply_of
    except BaseException:
        await admission.finish()
        raise
    if reply.stream is None:
        await admission.release()
    else:
        reply.stream = admission.hold(reply.stream)
    return reply


def _pk(client: ClientKey) -> str:
    return f"LIMIT#{client.label}"


def _day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def _day_end(now: float) -> float:
    return float(calendar.timegm(time.strptime(_day(now), "%Y-%m-%d")) + 86400)
