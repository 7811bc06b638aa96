"""core.service.handle: the whole pipeline in process, against a MockTransport upstream."""

from __future__ import annotations

import orjson

from core import service
from core.call import ClientCall
from core.store import records

from .helpers import CODEX_SSE, SSE, Upstream, deps

CHAT = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}
LIMITED = b'{"error":{"type":"usage_limit_reached","message":"slow down"}}'


def call(body: dict[str, object] | bytes, **kw: object) -> ClientCall:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return ClientCall(dialect="openai_chat", raw=raw, headers={"x-session-id": "s-1"}, principal="sk-c",
                      client_name="key-test", **kw)  # type: ignore[arg-type]


async def test_a_failure_before_the_first_byte_cools_the_credential_and_rotates() -> None:
    up, seen = Upstream(), []
    up.add("a.test", 429, LIMITED, {"content-type": "application/json", "retry-after": "30"})
    up.add("b.test", 200, CODEX_SSE, SSE)
    d = deps(up, observe=seen.append)
    reply = await service.handle(call(CHAT), d)
    assert reply.status == 200 and b"chat.completion" in (reply.body or b"")
    assert [r.url.host for r in up.seen] == ["a.test", "b.test"]
    snap = await d.state.snapshot()
    assert [key for key in snap.cooldowns] == [(snap.credentials[0].id, "gpt-5-codex")]
    assert [(o.status, o.retries, o.input_tokens) for o in seen] == [(200, 1, 27)]


async def test_a_success_pins_the_session_and_counts_usage_once_the_stream_ends() -> None:
    up, seen = Upstream(), []
    up.add("a.test", 200, CODEX_SSE, SSE)
    d = deps(up, observe=seen.append)
    reply = await service.handle(call({**CHAT, "stream": True}), d)
    assert reply.stream is not None and reply.headers["content-type"] == "text/event-stream"
    assert seen == []  # nothing counted before the stream ends
    body = b"".join([chunk async for chunk in reply.stream])
    assert body.endswith(b"data: [DONE]\n\n")
    assert [(o.status, o.stream, o.output_tokens) for o in seen] == [(200, True, 8)]
    usage = await records.load_usage(d.state.store, records.usage_day(d.clock()))
    assert [(model, client, counters["requests"]) for (_cred, model, client), counters in usage.items()] == [
        ("gpt-5-codex", "key-test", 1)]


async def test_bad_input_answers_in_the_client_dialect_without_calling_upstream() -> None:
    up, seen = Upstream(), []
    d = deps(up, observe=seen.append)
    reply = await service.handle(call(b"{not json"), d)
    assert reply.status == 400 and orjson.loads(reply.body or b"")["error"]["type"] == "invalid_request_error"
    reply = await service.handle(call({**CHAT, "model": "no-such-model"}), d)
    assert reply.status == 404 and orjson.loads(reply.body or b"")["error"]["code"] == "model_not_found"
    assert up.seen == []
    assert [o.status for o in seen] == [400, 404]


async def test_every_credential_cooling_down_answers_429_with_retry_after() -> None:
    up = Upstream()
    for host in ("a.test", "b.test"):
        up.add(host, 429, LIMITED, {"content-type": "application/json", "retry-after": "30"})
    reply = await service.handle(call(CHAT), deps(up))
    assert reply.status == 429 and int(reply.headers["retry-after"]) >= 1


async def test_counting_tokens_for_codex_is_estimated_locally() -> None:
    up = Upstream()
    reply = await service.handle(call(CHAT, count_tokens=True), deps(up))
    assert reply.status == 200 and up.seen == []

