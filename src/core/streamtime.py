"""Time on the wire: keep-alives while the upstream is silent, and a ceiling on how long an answer may run.

API Gateway closes a streamed response after minutes without a byte, and the platform cuts every answer at
its timeout with no closing event. So, around the whole pipeline of one request (failover included):

- a stream whose upstream is silent for ``stream-keepalive-seconds`` gets a keep-alive its dialect tolerates
  (an SSE comment; a blank line for Gemini, whose SDKs read any other line as JSON). Before the first output
  the first keep-alive commits the 200: failover behind it stays silent, and when every credential fails the
  client gets its dialect's in-stream error event instead of an HTTP error. A request that fails within the
  first interval still gets its HTTP status;
- ``max-stream-seconds`` after the request arrived, a stream ends with the dialect's error event, the upstream
  is released, and it is logged; a non-streaming request gets a 504 in the dialect's envelope instead.

``service.handle`` hands its pipeline to ``guard``; nothing else here knows about upstreams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core import dialects, errors

if TYPE_CHECKING:
    from core import ir
    from core.call import Reply

log = logging.getLogger("cliproxy.streamtime")

_COMMENT = b": keep-alive\n\n"
_BLANK = b"\r\n"  # Gemini: an empty line between events, which every SSE reader skips
_SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass(frozen=True, slots=True)
class Limits:
    keepalive: float  # seconds of silence before a keep-alive
    max_seconds: float  # from the request's arrival to the end of its answer
    started: float  # time.monotonic() when the request arrived

    def left(self) -> float:
        return self.started + self.max_seconds - time.monotonic()


OnError = Callable[[errors.ProxyError], Awaitable[None]]


def keepalive(dialect: ir.Dialect) -> bytes:
    return _BLANK if dialect == "gemini" else _COMMENT


async def guard(work: Awaitable[Reply], req: ir.Request, limits: Limits, on_error: OnError) -> Reply:
    """Run ``work`` (the pipeline) within ``limits``. Errors raised before anything is committed propagate,
    to become an HTTP error; once a keep-alive committed the stream, they end it in-stream (``on_error``
    records them then)."""
    task = asyncio.ensure_future(work)
    if not req.stream:
        try:
            return await asyncio.wait_for(task, max(limits.left(), 0.0))
        except TimeoutError:
            log.warning("answer cut at max-stream-seconds (%g s, non-stream)", limits.max_seconds)
            raise _too_long(limits) from None
    try:
        await asyncio.wait({task}, timeout=min(limits.keepalive, max(limits.left(), 0.0)))
    except BaseException:  # the client left: the pipeline must not run on without it
        task.cancel()
        raise
    if task.done():
        reply = task.result()  # an error propagates: nothing is committed yet
        if reply.stream is not None:
            reply.stream = _Guarded(_watched(reply.stream, req, limits), reply.stream)
        return reply
    from core.call import Reply

    stream = _committed(task, req, limits, on_error)
    return Reply(200, stream=_Guarded(stream, None, task), headers=dict(_SSE_HEADERS))


async def _committed(task: asyncio.Future[Reply], req: ir.Request, limits: Limits,
                     on_error: OnError) -> AsyncIterator[bytes]:
    """Keep-alives until the pipeline answers, then its stream (still watched), or its failure in-stream."""
    yield keepalive(req.dialect)
    async for chunk in _beating(task, req, limits, "answer cut at max-stream-seconds (%g s, before any output)"):
        yield chunk
    if not task.done():  # cut at the time limit
        task.cancel()
        return
    try:
        reply = task.result()
    except Exception as exc:  # every credential failed, or a bug: the client is already reading a 200 stream
        err = errors.unexpected(exc, log, "before the first output of a committed stream")
        await on_error(err)
        yield _failure(req, err)
        return
    if reply.stream is None:  # not expected for a stream request; pass on whatever came
        if reply.body:
            yield reply.body
        return
    async for chunk in _watched(reply.stream, req, limits):
        yield chunk


async def _watched(stream: AsyncIterator[bytes], req: ir.Request, limits: Limits) -> AsyncIterator[bytes]:
    """``stream`` with keep-alives in its silences, ended with the dialect's error at the time limit."""
    source = aiter(stream)
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            pending = asyncio.ensure_future(anext(source))
            async for beat in _beating(pending, req, limits, "stream cut at max-stream-seconds (%g s)"):
                yield beat
            if not pending.done():  # cut at the time limit
                return
            try:
                chunk = pending.result()
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


async def _beating(waited: asyncio.Future[Any], req: ir.Request, limits: Limits, cut: str) -> AsyncIterator[bytes]:
    """Keep-alives while ``waited`` runs; at the time limit (logged with ``cut``) the dialect's error, and
    ``waited`` is left undone for the caller to see."""
    beat = keepalive(req.dialect)
    while not waited.done():
        left = limits.left()
        if left <= 0:
            log.warning(cut, limits.max_seconds)
            yield _failure(req, _too_long(limits))
            return
        await asyncio.wait({waited}, timeout=min(limits.keepalive, left))
        if not waited.done():
            yield beat


class _Guarded:
    """The guarded stream; ``aclose`` also releases what it wraps (the pipeline's stream and its upstream,
    or the pipeline still running when the client leaves during keep-alives)."""

    __slots__ = ("_gen", "_inner", "_task")

    def __init__(self, gen: AsyncIterator[bytes], inner: AsyncIterator[bytes] | None,
                 task: asyncio.Future[Reply] | None = None) -> None:
        self._gen, self._inner, self._task = gen, inner, task

    def __aiter__(self) -> _Guarded:
        return self

    def __anext__(self) -> Awaitable[bytes]:
        return self._gen.__anext__()

    async def aclose(self) -> None:
        try:
            await _close(self._gen)
        finally:
            await self._release()

    async def _release(self) -> None:
        inner = self._inner
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
            elif not self._task.cancelled() and self._task.exception() is None:
                inner = self._task.result().stream
        if inner is not None:
            await _close(inner)


async def _close(stream: Any) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()


def _too_long(limits: Limits) -> errors.StreamTimeoutError:
    return errors.StreamTimeoutError(f"the answer took longer than max-stream-seconds ({limits.max_seconds:g} s)",
                                     code="timeout")


def _failure(req: ir.Request, err: errors.ProxyError) -> bytes:
    """The dialect's in-stream error event, which also ends its stream."""
    return b"".join(dialects.get(req.dialect).StreamEncoder(req).fail(err))
