"""core.relay.send: one attempt on one credential, answered as a value (``Whole`` or ``Streaming``)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from core import dialects, errors, ir, relay, upstream
from core.call import ClientCall, Deps, Streaming, Whole

from .helpers import CODEX_SSE, COMPAT_JSON, SSE, Upstream, deps

CHAT = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}


async def send(d: Deps, body: dict[str, Any]) -> relay.Answer:
    req = dialects.get("openai_chat").parse_request(body)
    target = (await d.state.snapshot()).index.resolve(req.model)
    route = target.routes[0]
    call = ClientCall(dialect="openai_chat", raw=b"", headers={})
    return await relay.send(upstream.prepare(req, target, route, call, d.config), route, req, d)


async def drain(answer: Streaming) -> tuple[bytes, list[ir.Usage]]:
    chunks, usages = b"", []
    async for item in answer.chunks:
        if isinstance(item, ir.Usage):
            usages.append(item)
        else:
            chunks += item
    return chunks, usages


async def test_a_non_stream_client_of_codex_gets_the_stream_assembled_into_one_body() -> None:
    up = Upstream()
    up.add("a.test", 200, CODEX_SSE, SSE)
    answer = await send(deps(up), CHAT)
    assert isinstance(answer, Whole)
    body = orjson.loads(answer.body)
    assert body["object"] == "chat.completion" and "hello" in body["choices"][0]["message"]["content"]
    assert answer.usage is not None and (answer.usage.input_tokens, answer.usage.output_tokens) == (27, 8)


async def test_a_stream_is_translated_and_ends_with_its_usage() -> None:
    up = Upstream()
    up.add("a.test", 200, CODEX_SSE, SSE)
    answer = await send(deps(up), {**CHAT, "stream": True})
    assert isinstance(answer, Streaming)
    chunks, usages = await drain(answer)
    assert chunks.startswith(b"data: {") and chunks.endswith(b"data: [DONE]\n\n")
    assert usages[-1].input_tokens == 27  # the last usage item is the final one
    assert [u.input_tokens for u in usages] == sorted(u.input_tokens for u in usages)  # each one the counts so far
    await answer.release()


async def test_a_same_dialect_whole_body_passes_through_with_its_usage_read() -> None:
    up = Upstream()
    up.add("compat.test", 200, COMPAT_JSON, {"content-type": "application/json"})
    answer = await send(deps(up), {**CHAT, "model": "compat-model"})
    assert isinstance(answer, Whole) and answer.body == COMPAT_JSON
    assert answer.usage is not None and answer.usage.output_tokens == 8


async def test_an_upstream_refusal_raises_before_any_byte_so_the_service_can_rotate() -> None:
    up = Upstream()
    up.add("a.test", 429, b'{"error":{"type":"usage_limit_reached","message":"slow down"}}',
           {"content-type": "application/json", "retry-after": "7"})
    with pytest.raises(errors.UpstreamRateLimitError) as caught:
        await send(deps(up), CHAT)
    assert caught.value.retry_after == 7


async def test_a_stream_that_ends_before_any_output_is_a_retryable_failure() -> None:
    up = Upstream()
    created = CODEX_SSE.split(b"\n\n")[0] + b"\n\n"
    up.add("a.test", 200, created, SSE)
    with pytest.raises(errors.UpstreamServerError, match="before any output"):
        await send(deps(up), {**CHAT, "stream": True})


async def test_closing_releases_once_at_the_end_of_the_stream() -> None:
    released: list[str] = []

    async def chunks() -> Any:
        yield b"a"
        yield b"b"

    async def release() -> None:
        released.append("upstream")

    stream = relay.Closing(chunks(), release)
    assert [c async for c in stream] == [b"a", b"b"]
    await stream.aclose()
    assert released == ["upstream"]

