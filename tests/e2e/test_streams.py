"""Streams through the proxy: each dialect's exact event order, rotation on failures before the first
byte, in-stream errors after output, and client disconnects cancelling the upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import CLIENT_KEY, UP
from tests.fakes import claude, codex, gemini, openai_chat
from tests.fakes.server import HttpRequest, Responder, ThreadedServer
from tests.sdk.conftest import MODELS, start_module_proxy

from core import sse

AUTH = {"authorization": f"Bearer {CLIENT_KEY}", "anthropic-version": "2023-06-01"}
DIALECTS = ["openai_chat", "openai_responses", "anthropic", "gemini"]
TOOL = {"name": "lookup", "description": "Look something up",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}


def request(dialect: str, model: str, text: str, *, tools: bool = False,
            include_usage: bool | None = None) -> tuple[str, dict[str, Any]]:
    """(path, body) of a streaming request in ``dialect``."""
    if dialect == "openai_chat":
        body: dict[str, Any] = {"model": model, "stream": True, "messages": [{"role": "user", "content": text}]}
        if tools:
            body["tools"] = [{"type": "function", "function": TOOL}]
        if include_usage is not None:
            body["stream_options"] = {"include_usage": include_usage}
        return "/v1/chat/completions", body
    if dialect == "openai_responses":
        body = {"model": model, "stream": True, "input": text}
        if tools:
            body["tools"] = [{"type": "function", **TOOL}]
        return "/v1/responses", body
    if dialect == "anthropic":
        body = {"model": model, "stream": True, "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
        if tools:
            body["tools"] = [{"name": TOOL["name"], "description": TOOL["description"],
                              "input_schema": TOOL["parameters"]}]
        return "/v1/messages", body
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if tools:
        body["tools"] = [{"functionDeclarations": [TOOL]}]
    return f"/v1beta/models/{model}:streamGenerateContent?alt=sse", body


def post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + path, json=body, headers=AUTH, timeout=10)


def parse(resp: httpx.Response) -> list[tuple[str | None, Any]]:
    decoder = sse.Decoder()
    frames = decoder.feed(resp.content) + decoder.close()
    return [(f.event, f.data if f.data == "[DONE]" else orjson.loads(f.data)) for f in frames]


# --- per-dialect grammars ------------------------------------------------------------------------

def check_chat(events: list[tuple[str | None, Any]], *, include_usage: bool) -> str:
    """role chunk, content / tool-call chunks, one finish chunk, [usage chunk], [DONE]. Returns the text."""
    assert events[-1] == (None, "[DONE]")
    chunks = [data for _, data in events[:-1]]
    assert all(event is None for event, _ in events)
    assert len({c["id"] for c in chunks}) == 1 and all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    if include_usage:
        usage_chunk = chunks.pop()
        assert usage_chunk["choices"] == [] and usage_chunk["usage"]["prompt_tokens_details"]["cached_tokens"] == 8
    assert all(c.get("usage") is None for c in chunks)
    finishes = [i for i, c in enumerate(chunks) if c["choices"][0]["finish_reason"] is not None]
    assert finishes == [len(chunks) - 1]
    assert all("role" not in c["choices"][0]["delta"] for c in chunks[1:])
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


def check_responses(events: list[tuple[str | None, Any]]) -> str:
    """created, in_progress, per item: added, [part added, deltas, done, part done], item done; completed."""
    types = [data["type"] for _, data in events]
    assert [event for event, _ in events] == types
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    open_items: dict[int, str] = {}
    done_items: list[dict[str, Any]] = []
    for _, data in events[2:-1]:
        kind, index = data["type"], data.get("output_index")
        if kind == "response.output_item.added":
            assert index == len(done_items) and not open_items  # one item at a time, in order
            open_items[index] = data["item"]["id"]
        elif kind == "response.output_item.done":
            assert open_items.pop(index) == data["item"]["id"]
            done_items.append(data["item"])
        else:
            assert open_items.get(index) == data["item_id"], kind  # every delta belongs to the open item
    assert not open_items
    final = events[-1][1]["response"]
    assert final["status"] == "completed" and final["output"] == done_items
    assert final["usage"]["input_tokens_details"]["cached_tokens"] == 8
    return "".join(data["delta"] for _, data in events if data["type"] == "response.output_text.delta")


def check_anthropic(events: list[tuple[str | None, Any]]) -> str:
    """message_start, (content_block_start, deltas, content_block_stop)*, message_delta, message_stop."""
    names = [event for event, _ in events if event != "ping"]
    assert all(event == data["type"] for event, data in events)
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    blocks = [data for event, data in events if event.startswith("content_block")]
    expected_index, open_index = 0, None
    for data in blocks:
        if data["type"] == "content_block_start":
            assert open_index is None and data["index"] == expected_index
            open_index = expected_index
        elif data["type"] == "content_block_delta":
            assert data["index"] == open_index
        else:
            assert data["index"] == open_index
            open_index, expected_index = None, expected_index + 1
    assert open_index is None and expected_index >= 1
    assert len(names) == 3 + len(blocks)  # nothing else between message_start and message_delta
    final = events[-2][1]
    assert final["delta"]["stop_reason"] in ("end_turn", "tool_use")
    assert final["usage"]["cache_read_input_tokens"] == 8
    return "".join(d["delta"].get("text", "") for d in blocks if d["type"] == "content_block_delta")


def check_gemini(events: list[tuple[str | None, Any]]) -> str:
    """Unnamed data chunks; only the last carries finishReason, with usageMetadata."""
    assert events and all(event is None for event, _ in events)
    candidates = [data["candidates"][0] for _, data in events]
    assert [c.get("finishReason") for c in candidates][:-1] == [None] * (len(events) - 1)
    assert candidates[-1]["finishReason"] == "STOP"
    assert events[-1][1]["usageMetadata"]["cachedContentTokenCount"] == 8
    return "".join(p.get("text", "") for c in candidates for p in c.get("content", {}).get("parts", [])
                   if not p.get("thought"))


CHECKS = {"openai_responses": check_responses, "anthropic": check_anthropic, "gemini": check_gemini}


def check(dialect: str, events: list[tuple[str | None, Any]], *, include_usage: bool = False) -> str:
    if dialect == "openai_chat":
        return check_chat(events, include_usage=include_usage)
    return CHECKS[dialect](events)


@pytest.fixture(scope="module")
def shared_proxy(fake, tmp_path_factory) -> Iterator[Any]:
    """One proxy for the tests that leave the pool as they found it (no failures injected)."""
    server = start_module_proxy(fake, tmp_path_factory.mktemp("streams"))
    yield server
    server.stop()


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_text_stream_follows_the_dialect_event_order(shared_proxy, upstream, dialect, kind):
    resp = post(shared_proxy.url, *request(dialect, MODELS[kind], "hello there", include_usage=True))
    assert resp.status_code == 200, resp.text
    text = check(dialect, parse(resp), include_usage=True)
    assert text.startswith("echo ") and text.endswith(": hello there")


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_parallel_tool_call_stream_follows_the_dialect_event_order(shared_proxy, upstream, dialect, kind):
    resp = post(shared_proxy.url, *request(dialect, MODELS[kind], "call two tools", tools=True))
    assert resp.status_code == 200, resp.text
    events = parse(resp)
    check(dialect, events)
    raw = resp.text
    assert raw.count('\\"index\\":1') >= 1 or raw.count('"index":1') >= 1  # the second call's arguments


@pytest.mark.parametrize("kind", ["openai_compat", "codex", "claude"])
def test_chat_usage_chunk_only_when_asked(shared_proxy, upstream, kind):
    for include in (None, False):
        events = parse(post(shared_proxy.url, *request("openai_chat", MODELS[kind], "hi", include_usage=include)))
        check_chat(events, include_usage=False)
        assert all("usage" not in data or data["usage"] is None for _, data in events[:-1])


# --- failures before the first byte: rotate, the client never sees them ---------------------------

INJECT = {
    "error_event": lambda fake: fake.error_event_in_200(times=1),
    "status_500": lambda fake: fake.fail(500, times=1),
    "status_429": lambda fake: fake.fail(429, times=1, retry_after=30),
    "drop": lambda fake: fake.drop_before_first_byte(times=1),
}


# Every failure kind through the Codex passthrough (Responses), and each other dialect with two of them.
ROTATIONS = [("openai_responses", failure) for failure in INJECT] + [
    (dialect, failure) for dialect in ("openai_chat", "anthropic", "gemini") for failure in ("error_event", "drop")]


@pytest.mark.parametrize(("dialect", "failure"), ROTATIONS)
def test_failure_before_first_byte_rotates_to_the_other_codex_credential(proxy, upstream, dialect, failure):
    INJECT[failure](upstream)
    resp = post(proxy.url, *request(dialect, MODELS["codex"], "hello there"))
    assert resp.status_code == 200, resp.text
    text = check(dialect, parse(resp))
    assert text.endswith(": hello there")
    tokens = [r.headers["authorization"] for r in upstream.requests]
    assert len(tokens) == 2 and set(tokens) == {f"Bearer {UP['codex']}", f"Bearer {UP['codex2']}"}
    assert "fake upstream" not in resp.text


def test_both_codex_credentials_failing_gives_429_with_retry_after(proxy, upstream):
    upstream.fail(429, times=2, retry_after=30)
    resp = post(proxy.url, *request("openai_chat", MODELS["codex"], "hello"))
    assert resp.status_code == 429
    assert int(resp.headers["retry-after"]) >= 1
    assert resp.json()["error"]["type"] == "rate_limit_error"


# --- failures after output: in-stream, in the client's envelope ----------------------------------

class Truncating:
    """An upstream that starts each answer like the fake does, then fails half-way: it drops the
    connection, or (``error_event``) sends the format's error event and ends the stream."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.server = ThreadedServer(self._handle)

    async def _handle(self, req: HttpRequest, out: Responder) -> None:
        body = orjson.loads(req.body)
        fmt, frames = _fake_frames(req.path, body)
        cut = frames[: max(4, len(frames) // 2)]
        if self.mode == "error_event":
            await out.sse(cut + fmt.error_event(body, None)[-1:])
            return
        writer = out._writer  # write the head and some frames by hand, then hang up mid-body
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for frame in cut:
            writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        await writer.drain()
        await asyncio.sleep(0.05)
        out.drop()


def _fake_frames(path: str, body: dict[str, Any]) -> tuple[Any, list[bytes]]:
    if path.endswith("/responses"):
        return codex, codex.reply(body).frames
    if path.endswith("/messages"):
        return claude, claude.reply(body).frames
    if path.endswith("/chat/completions"):
        return openai_chat, openai_chat.reply(body).frames
    model, _, method = path.rsplit("/models/", 1)[1].partition(":")
    return gemini, gemini.reply(model, method, body).frames


@pytest.fixture(scope="module")
def truncating_upstream() -> Iterator[Truncating]:
    fake = Truncating("drop")
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture(scope="module")
def truncating_proxy(fake, truncating_upstream, tmp_path_factory) -> Iterator[Any]:
    """Every credential points at the truncating upstream. Failures after output cool nothing down, so
    one proxy serves every case (a cooldown would show up as a 429 in the next one)."""
    url = f"http://127.0.0.1:{truncating_upstream.server.port}"
    server = start_module_proxy(fake, tmp_path_factory.mktemp("truncating"), **{
        "codex-api-key": [{"api-key": UP["codex"], "base-url": url + "/backend-api/codex"}],
        "claude-api-key": [{"api-key": UP["claude"], "base-url": url}],
        "gemini-api-key": [{"api-key": UP["gemini"], "base-url": url}],
        "openai-compatibility": [{"name": "compat", "base-url": url + "/v1", "api-key-entries": [{"api-key": "k"}],
                                  "models": [{"name": "compat-model", "alias": "compat-model"}]}],
        "request-retry": 0,
    })
    yield server
    server.stop()


def check_failed(dialect: str, events: list[tuple[str | None, Any]]) -> None:
    """Some output, then the dialect's error envelope as the last event, and no clean end."""
    last_event, last = events[-1]
    if dialect == "openai_chat":
        assert events[0][1]["choices"][0]["delta"]["role"] == "assistant"
        assert (None, "[DONE]") not in events
        assert set(last) == {"error"} and last["error"]["message"]
    elif dialect == "openai_responses":
        types = [data["type"] for _, data in events]
        assert "response.completed" not in types
        assert types[-1] in ("response.failed", "error")
        assert "response.output_text.delta" in types or "response.function_call_arguments.delta" in types
    elif dialect == "anthropic":
        names = [event for event, _ in events]
        assert names[0] == "message_start" and "message_stop" not in names
        assert last_event == "error" and last["type"] == "error" and last["error"]["message"]
    else:
        assert any("candidates" in data for _, data in events)
        assert set(last) == {"error"} and last["error"]["status"] and last["error"]["code"] >= 500


@pytest.mark.parametrize("mode", ["drop", "error_event"])
@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_failure_after_output_goes_in_stream_in_the_client_envelope(truncating_proxy, truncating_upstream,
                                                                    dialect, kind, mode):
    truncating_upstream.mode = mode
    resp = post(truncating_proxy.url, *request(dialect, MODELS[kind], "hello there"))
    assert resp.status_code == 200
    check_failed(dialect, parse(resp))


# --- client disconnects --------------------------------------------------------------------------

@pytest.mark.parametrize(("dialect", "kind"), [("openai_chat", "claude"), ("anthropic", "claude"),
                                               ("openai_responses", "codex"), ("gemini", "gemini"),
                                               ("openai_chat", "openai_compat")])
def test_client_disconnect_mid_stream_cancels_the_upstream(shared_proxy, upstream, dialect, kind):
    upstream.delay(0, per_event=0.05)
    path, body = request(dialect, MODELS[kind], "a long answer please")
    with httpx.stream("POST", shared_proxy.url + path, json=body, headers=AUTH, timeout=10) as resp:
        assert resp.status_code == 200
        next(resp.iter_raw())  # the first bytes arrived; hang up
    deadline = time.monotonic() + 3
    while upstream.aborted_streams == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert upstream.aborted_streams == 1


@pytest.mark.parametrize("dialect", ["openai_chat", "anthropic"])
def test_a_client_that_hangs_up_mid_stream_is_charged_what_the_upstream_reported(start_proxy, upstream,
                                                                                  tmp_path, dialect):
    """Claude reports the input tokens at message_start: a client leaving after the first bytes has used them,
    in the usage table (and so against its key's tokens-per-day)."""
    from tests.conftest import in_store

    from core import usage

    proxy = start_proxy()
    upstream.delay(0, per_event=0.05)
    path, body = request(dialect, MODELS["claude"], "a long answer please")
    with httpx.stream("POST", proxy.url + path, json=body, headers=AUTH, timeout=10) as resp:
        assert resp.status_code == 200
        next(resp.iter_raw())  # the first bytes arrived; hang up

    def counted() -> dict[str, int]:
        days = usage.day_range(None, None, days=2)
        return usage.totals(in_store(tmp_path, lambda store: usage.report(store, days, "model")))

    deadline = time.monotonic() + 5
    while counted()["requests"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    totals = counted()
    assert totals["requests"] == 1
    assert totals["input_tokens"] > 0
