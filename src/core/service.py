"""The pipeline of one client request, top to bottom (DESIGN.md "Pipeline for one request").

parse -> resolve model -> pick credential -> translate -> thinking -> payload rules -> forced fields
-> continuity -> headers -> send -> on failure before the first byte: cool down, rotate, retry
-> translate back -> on success only: pin affinity, count usage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import orjson

from core import (
    affinity,
    compaction,
    continuity,
    dialects,
    errors,
    executors,
    ir,
    pool,
    relay,
    signatures,
    streamtime,
    upstream,
)
from core.call import Answer, ClientCall, Deps, Outcome, Reply, Whole
from core.errors import ProxyError, UpstreamError
from core.limits import Admission, admit, check_model, run_held

if TYPE_CHECKING:
    from core.models import Route, Target
    from core.state import Snapshot

log = logging.getLogger("cliproxy.service")


@dataclass(slots=True)
class _Trace:
    """What one request has done so far: the source of its Outcome."""

    started: float = field(default_factory=time.perf_counter)
    upstream_s: float = 0.0  # time spent waiting on upstreams (failed attempts included)
    attempts: int = 0
    provider: str = ""
    model: str = ""
    client: str | None = None  # the client key's name, a usage dimension
    counted_model: str | None = None  # set once the model resolved: from then on the request counts as usage
    cred_id: str = "-"  # the credential of the last attempt
    admission: Admission | None = None  # the client key's limits, held until the answer ends

    def outcome(self, status: int, usage: ir.Usage, stream: bool) -> Outcome:
        added_ms = max(0.0, (time.perf_counter() - self.started - self.upstream_s) * 1000)
        retries = max(0, self.attempts - 1)
        return Outcome(self.provider, self.model, status, added_ms, retries, retries, usage.cached_tokens,
                       usage.input_tokens, usage.output_tokens, stream)


@dataclass(frozen=True, slots=True)
class _Sticky:
    """The session's routing facts: where a success pins it."""

    session: str
    scope: str  # the providers serving the model
    pin: tuple[str, float] | None  # the pin read before choosing
    home: str | None  # the credential the session lands on without a pin


async def handle(call: ClientCall, deps: Deps) -> Reply:
    dialect = dialects.get(call.dialect)
    trace = _Trace(client=call.client_name)
    arrived = time.monotonic()
    try:
        req = _parse(call, dialect, deps.config.max_body_bytes)
        trace.model = req.model
        check_model(call.client, req.model)
        snap = await deps.state.snapshot()
        target = snap.index.resolve(req.model)
        if call.count_tokens:
            return await _count_tokens(req, target, snap, call, deps)
        trace.counted_model = target.model
        trace.admission = await admit(call.client, deps.state.store, deps.clock())
        run = _run(req, target, snap, call, deps, trace)
        work = run if trace.admission is None else run_held(trace.admission, run)
        cfg = deps.config
        limits = streamtime.Limits(cfg.stream_keepalive_seconds, cfg.max_stream_seconds, arrived)
        return await streamtime.guard(work, req, limits, lambda err: _failed_in_stream(deps, trace, err))
    except Exception as exc:  # a bug must still answer in the client's envelope, not a bare 500
        err = errors.unexpected(exc, log, f"handling a {call.dialect} request")
        deps.observe(trace.outcome(err.status, ir.Usage(), bool(call.stream)))
        await _count_failure(deps, trace)
        return error_reply(dialect, err)


async def _failed_in_stream(deps: Deps, trace: _Trace, err: ProxyError) -> None:
    """A failure after keep-alives committed the stream: recorded as ``handle`` records an error reply."""
    deps.observe(trace.outcome(err.status, ir.Usage(), True))
    await _count_failure(deps, trace)


async def _count_failure(deps: Deps, trace: _Trace) -> None:
    """A request for a known model that ended in an error counts as a request and an error."""
    if trace.counted_model is None:
        return
    try:
        await deps.state.add_usage(trace.cred_id, trace.counted_model, ir.Usage(), client=trace.client, failed=True)
    except Exception as exc:  # noqa: BLE001 - the error reply matters more than its count
        errors.unexpected(exc, log, "counting a failed request")


def error_reply(dialect: dialects.Dialect, err: ProxyError) -> Reply:
    status, body = dialect.render_error(err)
    headers = dict(relay.JSON_HEADERS)
    if err.retry_after:
        headers["retry-after"] = str(max(1, int(err.retry_after + 0.999)))
    return Reply(status, orjson.dumps(body), headers=headers)


def _parse(call: ClientCall, dialect: dialects.Dialect, limit: int) -> ir.Request:
    if len(call.raw) > limit:
        raise errors.BadRequestError(f"request body is larger than {limit} bytes", status=413)
    try:
        body = orjson.loads(call.raw)
    except orjson.JSONDecodeError as exc:
        raise errors.BadRequestError(f"invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise errors.BadRequestError("request body must be a JSON object")
    req = signatures.restore(dialect.parse_request(body, model=call.path_model, count_tokens=call.count_tokens))
    if call.stream is not None and req.stream != call.stream:
        req = replace(req, stream=call.stream)
    if call.compact and req.stream:
        raise errors.BadRequestError("streaming not supported for /responses/compact", param="stream")
    return req


async def _run(req: ir.Request, target: Target, snap: Snapshot, call: ClientCall, deps: Deps,
               trace: _Trace) -> Reply:
    cfg = deps.config
    session = affinity.session_key(req, call.headers, call.principal, execution_session=call.execution_session)
    scope = ",".join(sorted({r.cred.provider for r in target.routes}))
    pin = await deps.state.get_pin(scope, session, target.group) if cfg.routing.session_affinity else None
    choice = pool.candidates(target, now=deps.clock(), cooldowns=snap.cooldowns,
                             pinned=pin[0] if pin else None,
                             session=session if cfg.routing.session_affinity else None,
                             strategy=cfg.routing.strategy, turn=deps.state.next_turn())
    if not choice.routes:
        raise _exhausted(target, choice.retry_at, deps.clock())
    last: UpstreamError | None = None
    attempts = choice.routes[: cfg.request_retry + 1]
    sticky = _Sticky(session, scope, pin, choice.home)
    for number, route in enumerate(attempts):
        trace.attempts, trace.provider, trace.cred_id = number + 1, route.cred.provider, route.cred.id
        sent = time.perf_counter()
        try:
            answer = await _attempt(req, target, route, call, deps)
        except UpstreamError as err:
            trace.upstream_s += time.perf_counter() - sent
            if not err.cools_down:  # the request itself is wrong: every credential would refuse it
                raise
            last = err
            await _cool(deps, route, target, err)
            log.info("attempt %d on %s failed (%s): %s", number + 1, route.cred.id, err.kind, err.message)
            continue
        trace.upstream_s += answer.upstream_s
        added = trace.outcome(200, ir.Usage(), req.stream).added_ms  # up to the first byte, not the stream
        return await _reply(answer, _Commit(deps, route, target, sticky, trace, req.stream, added))
    snap = await deps.state.snapshot()  # again: the failures above cooled credentials down
    retry = pool.candidates(target, now=deps.clock(), cooldowns=snap.cooldowns)
    if not retry.routes:
        raise _exhausted(target, retry.retry_at, deps.clock())
    assert last is not None
    raise errors.UpstreamError(f"upstream failed: {last.message}", status=502)


async def _reply(answer: Answer, commit: _Commit) -> Reply:
    await commit.succeeded()
    if isinstance(answer, Whole):
        await commit.count(answer.usage)
        return Reply(200, answer.body, headers=dict(relay.JSON_HEADERS))
    stream = relay.Closing(_counted(answer.chunks, commit), answer.release)
    return Reply(200, stream=stream, headers=dict(relay.SSE_HEADERS))


async def _counted(chunks: AsyncGenerator[bytes | ir.Usage, None], commit: _Commit) -> AsyncGenerator[bytes, None]:
    """The client's bytes; the latest usage item is counted however the stream ends (a client that hangs up
    mid-stream is charged what the upstream reported until then)."""
    usage = None
    try:
        async for item in chunks:
            if isinstance(item, ir.Usage):
                usage = item
            else:
                yield item
    finally:  # a client that hangs up mid-stream still made a request: count what it used
        await chunks.aclose()
        await commit.count(usage)


async def _count_tokens(req: ir.Request, target: Target, snap: Snapshot, call: ClientCall, deps: Deps) -> Reply:
    """Claude and Gemini count tokens themselves: ask a healthy credential that speaks the client's own
    dialect. Otherwise (Codex and OpenAI-compatible upstreams have no such endpoint) estimate locally at
    about four characters a token, as CLIProxyAPI does for Codex. Counting pins nothing and uses no quota."""
    for route in pool.candidates(target, now=deps.clock(), cooldowns=snap.cooldowns).routes[:2]:
        executor = executors.get(route.cred.kind)
        if not executor.counts_tokens or executor.dialect != req.dialect:
            continue
        try:
            answer = await _attempt(req, target, route, call, deps)
        except UpstreamError as err:
            if not err.cools_down:
                raise
            log.info("count_tokens on %s failed: %s", route.cred.id, err.message)
            continue
        if isinstance(answer, Whole):  # counting endpoints answer whole bodies
            return Reply(200, answer.body, headers=dict(relay.JSON_HEADERS))
        await answer.release()
    tokens = max(1, len(orjson.dumps(req.original)) // 4)
    return Reply(200, orjson.dumps(dialects.get(req.dialect).render_count(tokens)), headers=dict(relay.JSON_HEADERS))


def _exhausted(target: Target, retry_at: float | None, now: float) -> errors.PoolExhaustedError:
    wait = max(1.0, (retry_at or now + 60) - now)
    return errors.PoolExhaustedError(
        f"All credentials for model {target.model} are cooling down", retry_after=wait, code="model_cooldown")


async def _cool(deps: Deps, route: Route, target: Target, err: UpstreamError) -> None:
    await deps.state.cool_down(route.cred, target.group, err.kind, err.retry_after)
    await deps.state.note_error(route.cred.id, err)


async def _attempt(req: ir.Request, target: Target, route: Route, call: ClientCall, deps: Deps) -> Answer:
    """One try on one credential. Compaction that the upstream cannot do itself (its executor does not
    ``compacts``: every kind but Codex) is emulated with a summary from the same credential (``core.dialects.openai_responses.compact``)."""
    compacting = call.compact or (req.dialect == "openai_responses" and compaction.is_trigger(req.original))
    if compacting and not executors.get(route.cred.kind).compacts:
        from core.dialects.openai_responses import compact

        return await compact.emulate(req, call.compact, lambda ask: _send(ask, target, route, call, deps))
    return await _send(req, target, route, call, deps)


async def _send(req: ir.Request, target: Target, route: Route, call: ClientCall, deps: Deps) -> Answer:
    prepared = upstream.prepare(req, target, route, call, deps.config)
    if prepared.continuity is not None:
        continuity.log_diagnostics(prepared.continuity, credential_id=route.cred.id,
                                   retention=req.prompt_cache_retention)
    return await relay.send(prepared, route, req, deps)


@dataclass(frozen=True, slots=True)
class _Commit:
    """What runs once the answer is the client's: pin the session, then count usage and report the outcome.
    A store or metrics failure here is logged, never turned into an error reply or a stream cut short."""

    deps: Deps
    route: Route
    target: Target
    sticky: _Sticky
    trace: _Trace
    stream: bool
    added_ms: float  # up to the first byte, not the stream

    async def succeeded(self) -> None:
        """The first generated event (or the whole answer) is in hand: the credential worked; pin the session."""
        sticky = self.sticky
        try:
            await self.deps.state.succeeded(self.route.cred, self.target.group)
            if self.deps.config.routing.session_affinity:
                await self.deps.state.pin(sticky.scope, sticky.session, self.target.group, self.route.cred.id,
                                          sticky.pin, home=sticky.home)
        except Exception as exc:
            errors.unexpected(exc, log, "recording a success (pin or usage)")

    async def count(self, usage: ir.Usage | None) -> None:
        usage = usage or ir.Usage()
        try:
            if self.trace.admission is not None:
                await self.trace.admission.count(usage)  # tokens against the key's tokens-per-day
            await self.deps.state.add_usage(self.route.cred.id, self.target.model, usage, client=self.trace.client)
            self.deps.observe(replace(self.trace.outcome(200, usage, self.stream), added_ms=self.added_ms))
        except Exception as exc:
            errors.unexpected(exc, log, "recording a success (pin or usage)")
