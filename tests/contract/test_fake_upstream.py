"""The fake upstream speaks each wire format, stream or not, with every failure mode, over real HTTP."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest
from tests.fakes import FakeUpstream

from core import errors, ir, sse
from core.credentials import Credential
from core.executors import base, claude, codex, gemini, openai_compat, transport

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the same loop as the session-scoped async fixtures


@pytest.fixture(scope="module")
def fake():
    with FakeUpstream() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake):
    fake.reset()


@pytest.fixture(params=["httpx", "aiohttp"])
async def http(request):
    client = httpx.AsyncClient() if request.param == "httpx" else transport.make_client()
    async with client:
        yield client


def frames_of(raw: bytes) -> list[sse.Frame]:
    dec = sse.Decoder()
    return dec.feed(raw) + dec.close()


def events(raw: bytes) -> list[dict]:
    return [orjson.loads(f.data) for f in frames_of(raw) if f.data and f.data != "[DONE]"]


CODEX_BODY = {"model": "gpt-5-codex", "stream": True, "store": False, "instructions": "",
              "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}]}
FUNCTION = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}


async def post(http, url, body, **headers) -> httpx.Response:
    return await http.post(url, content=orjson.dumps(body), headers={"content-type": "application/json", **headers})


# --- Codex ------------------------------------------------------------------------------------------


async def test_codex_streams_responses_events_echoing_model_and_text(fake, http):
    resp = await post(http, fake.codex_base_url + "/responses", CODEX_BODY, authorization="Bearer at-1")
    assert resp.status_code == 200 and resp.headers["content-type"] == "text/event-stream"
    frames = frames_of(resp.content)
    names = [f.event for f in frames]
    assert names[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert names[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    data = [orjson.loads(f.data) for f in frames]
    deltas = [d["delta"] for d in data if d["type"] == "response.output_text.delta"]
    assert len(deltas) >= 3 and "".join(deltas) == "echo gpt-5-codex: hello"
    assert [d["sequence_number"] for d in data] == list(range(len(data)))
    usage = data[-1]["response"]["usage"]
    assert usage["input_tokens_details"]["cached_tokens"] > 0 and usage["output_tokens"] > 0
    path, headers, body, query = fake.requests[-1]
    assert (path, headers["authorization"], body, query) == ("/backend-api/codex/responses", "Bearer at-1",
                                                             CODEX_BODY, {})


async def test_codex_reasoning_item_carries_encrypted_content(fake, http):
    resp = await post(http, fake.codex_base_url + "/responses", {**CODEX_BODY, "reasoning": {"effort": "low"}})
    done = [e["item"] for e in events(resp.content) if e["type"] == "response.output_item.done"]
    assert done[0]["type"] == "reasoning" and done[0]["encrypted_content"]
    assert any(e["type"] == "response.reasoning_summary_text.delta" for e in events(resp.content))


@pytest.mark.parametrize(("text", "calls"), [("please call tool", 1), ("call two tools now", 2), ("no tools", 0)])
async def test_codex_function_calls_stream_their_arguments(fake, http, text, calls):
    body = {**CODEX_BODY, "tools": [FUNCTION], "input": [{"role": "user", "content": text}]}
    evs = events((await post(http, fake.codex_base_url + "/responses", body)).content)
    items = [e["item"] for e in evs if e["type"] == "response.output_item.done" and e["item"]["type"] == "function_call"]
    assert len(items) == calls
    for item in items:
        args = "".join(e["delta"] for e in evs if e["type"] == "response.function_call_arguments.delta"
                       and e["item_id"] == item["id"])
        assert args == item["arguments"] and orjson.loads(args)["query"] == text
    assert evs[-1]["response"]["output"][-1]["type"] == ("function_call" if calls else "message")


async def test_codex_answers_text_after_a_tool_result(fake, http):
    body = {**CODEX_BODY, "tools": [FUNCTION], "input": [
        {"role": "user", "content": "call tool"},
        {"type": "function_call", "call_id": "call_fake0", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_fake0", "output": "42"}]}
    evs = events((await post(http, fake.codex_base_url + "/responses", body)).content)
    assert evs[-1]["response"]["output"][0]["content"][0]["text"] == "echo gpt-5-codex: tool said 42"


@pytest.mark.parametrize(("change", "detail"), [
    ({"stream": False}, "Stream must be set to true"),
    ({"max_output_tokens": 5}, "Unsupported parameter: max_output_tokens"),
])
async def test_codex_refuses_what_the_real_backend_refuses(fake, http, change, detail):
    resp = await post(http, fake.codex_base_url + "/responses", {**CODEX_BODY, **change})
    assert (resp.status_code, resp.json()) == (400, {"detail": detail})


# --- Claude -----------------------------------------------------------------------------------------

CLAUDE_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi there"}]}


async def test_claude_non_stream_message(fake, http):
    resp = await post(http, fake.url + "/v1/messages?beta=true", CLAUDE_BODY, **{"x-api-key": "sk-ant"})
    msg = resp.json()
    assert msg["content"] == [{"type": "text", "text": "echo claude-sonnet-4-5: hi there"}]
    assert msg["stop_reason"] == "end_turn" and msg["usage"]["cache_read_input_tokens"] > 0
    assert fake.requests[-1].query == {"beta": "true"}


async def test_claude_stream_with_thinking_signature_and_tool_use(fake, http):
    body = {**CLAUDE_BODY, "stream": True, "thinking": {"type": "enabled", "budget_tokens": 1024},
            "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "call tool"}]}]}
    frames = frames_of((await post(http, fake.url + "/v1/messages", body)).content)
    names = [f.event for f in frames]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    data = [orjson.loads(f.data) for f in frames]
    starts = [d["content_block"]["type"] for d in data if d["type"] == "content_block_start"]
    assert starts == ["thinking", "tool_use"]
    deltas = [d["delta"] for d in data if d["type"] == "content_block_delta"]
    assert any(d["type"] == "signature_delta" and d["signature"] for d in deltas)
    args = "".join(d["partial_json"] for d in deltas if d["type"] == "input_json_delta")
    assert orjson.loads(args) == {"index": 0, "query": "call tool"}
    final = data[-2]
    assert final["delta"]["stop_reason"] == "tool_use" and final["usage"]["cache_read_input_tokens"] > 0


async def test_claude_count_tokens_and_missing_max_tokens(fake, http):
    counted = await post(http, fake.url + "/v1/messages/count_tokens", {"model": "m", "messages": CLAUDE_BODY["messages"]})
    assert counted.json()["input_tokens"] > 0
    refused = await post(http, fake.url + "/v1/messages", {"model": "m", "messages": CLAUDE_BODY["messages"]})
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "invalid_request_error"


# --- Gemini -----------------------------------------------------------------------------------------

GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "bonjour"}]}]}


async def test_gemini_generate_stream_and_count(fake, http):
    url = fake.url + "/v1beta/models/gemini-2.5-pro"
    whole = (await post(http, url + ":generateContent", GEMINI_BODY, **{"x-goog-api-key": "AIza"})).json()
    assert whole["candidates"][0]["content"]["parts"][0]["text"] == "echo gemini-2.5-pro: bonjour"
    assert whole["candidates"][0]["finishReason"] == "STOP"
    assert whole["usageMetadata"]["cachedContentTokenCount"] > 0
    streamed = await post(http, url + ":streamGenerateContent?alt=sse", GEMINI_BODY)
    chunks = events(streamed.content)
    assert len(chunks) >= 3
    assert "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"]) == \
        "echo gemini-2.5-pro: bonjour"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert fake.requests[-1].query == {"alt": "sse"}
    array = (await post(http, url + ":streamGenerateContent", GEMINI_BODY)).json()
    assert [c["candidates"][0]["content"]["parts"] for c in array] == [c["candidates"][0]["content"]["parts"] for c in chunks]
    counted = await post(http, url + ":countTokens", GEMINI_BODY)
    assert counted.json()["totalTokens"] > 0


async def test_gemini_thoughts_and_parallel_function_calls(fake, http):
    body = {"contents": [{"role": "user", "parts": [{"text": "call two tools"}]}],
            "tools": [{"functionDeclarations": [{"name": "a"}, {"name": "b"}]}],
            "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}
    whole = (await post(http, fake.url + "/v1beta/models/gemini-2.5-flash:generateContent", body)).json()
    parts = whole["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True
    assert [p["functionCall"]["name"] for p in parts[1:]] == ["a", "b"]
    assert parts[1]["thoughtSignature"]


# --- OpenAI-compatible ------------------------------------------------------------------------------

CHAT_BODY = {"model": "qwen2.5", "messages": [{"role": "user", "content": "hey"}]}


async def test_openai_chat_non_stream_and_stream_with_usage_chunk(fake, http):
    whole = (await post(http, fake.openai_base_url + "/chat/completions", CHAT_BODY)).json()
    assert whole["choices"][0]["message"]["content"] == "echo qwen2.5: hey"
    assert whole["usage"]["prompt_tokens_details"]["cached_tokens"] > 0
    body = {**CHAT_BODY, "stream": True, "stream_options": {"include_usage": True}}
    raw = (await post(http, fake.openai_base_url + "/chat/completions", body)).content
    assert raw.endswith(b"data: [DONE]\n\n")
    chunks = events(raw)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == "echo qwen2.5: hey"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    no_usage = events((await post(http, fake.openai_base_url + "/chat/completions", {**CHAT_BODY, "stream": True})).content)
    assert all("usage" not in c for c in no_usage)


async def test_openai_chat_streams_tool_call_arguments(fake, http):
    body = {**CHAT_BODY, "stream": True, "messages": [{"role": "user", "content": "call tool"}],
            "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]}
    chunks = events((await post(http, fake.openai_base_url + "/chat/completions", body)).content)
    calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["function"]["name"] == "lookup"
    assert orjson.loads("".join(tc["function"]["arguments"] for tc in calls)) == {"index": 0, "query": "call tool"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


# --- Injected failures, seen through the executors' classification ---------------------------------

REQS = {
    "codex": (codex.EXECUTOR, "/backend-api/codex/responses", CODEX_BODY),
    "claude": (claude.EXECUTOR, "/v1/messages", {**CLAUDE_BODY, "stream": True}),
    "gemini": (gemini.EXECUTOR, "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", GEMINI_BODY),
    "openai": (openai_compat.EXECUTOR, "/v1/chat/completions", {**CHAT_BODY, "stream": True}),
}
AUTH = {"codex": "authorization", "claude": "x-api-key", "gemini": "x-goog-api-key", "openai": "authorization"}


def _auth(kind: str, secret: str) -> dict[str, str]:
    name = AUTH[kind]
    return {name: f"Bearer {secret}" if name == "authorization" else secret}


@pytest.mark.parametrize("kind", list(REQS))
async def test_429_targets_only_the_named_secret_and_carries_retry_after(fake, http, kind):
    executor, path, body = REQS[kind]
    fake.fail(status=429, times=1, retry_after=2, when_token="key-a")
    other = await post(http, fake.url + path, body, **_auth(kind, "key-b"))
    assert other.status_code == 200
    limited = await post(http, fake.url + path, body, **_auth(kind, "key-a"))
    assert limited.status_code == 429
    err = executor.classify(limited.status_code, limited.headers, limited.content)
    assert isinstance(err, errors.UpstreamRateLimitError) and err.retry_after == 2
    again = await post(http, fake.url + path, body, **_auth(kind, "key-a"))
    assert again.status_code == 200  # times=1 is used up


@pytest.mark.parametrize(("status", "expected"), [(500, errors.UpstreamServerError), (503, errors.UpstreamServerError),
                                                  (401, errors.UpstreamAuthError), (403, errors.UpstreamAuthError)])
@pytest.mark.parametrize("kind", list(REQS))
async def test_injected_statuses_classify_per_format(fake, http, kind, status, expected):
    executor, path, body = REQS[kind]
    fake.fail(status=status, times=2)
    for _ in range(2):
        resp = await post(http, fake.url + path, body)
        assert resp.status_code == status
        assert type(executor.classify(resp.status_code, resp.headers, resp.content)) is expected
    assert (await post(http, fake.url + path, body)).status_code == 200


@pytest.mark.parametrize("kind", list(REQS))
async def test_drop_before_first_byte_is_a_server_error_from_send(fake, http, kind):
    _, path, body = REQS[kind]
    fake.drop_before_first_byte(when_token="key-a")
    ureq = transport.UpstreamRequest("POST", fake.url + path, {"content-type": "application/json", **_auth(kind, "key-a")},
                                orjson.dumps(body), stream=True)
    with pytest.raises(errors.UpstreamServerError):
        await transport.send(http, ureq)
    resp = await transport.send(http, ureq)
    assert resp.status_code == 200
    assert await transport.read_body(resp)


@pytest.mark.parametrize(("kind", "code", "expected"), [
    ("codex", "usage_limit_reached", errors.UpstreamRateLimitError),
    ("codex", None, errors.UpstreamServerError),
    ("claude", None, errors.UpstreamServerError),
    ("claude", "rate_limit_error", errors.UpstreamRateLimitError),
    ("gemini", "RESOURCE_EXHAUSTED", errors.UpstreamRateLimitError),
    ("openai", None, errors.UpstreamServerError),
])
async def test_error_event_inside_200_comes_before_any_output(fake, http, kind, code, expected):
    executor, path, body = REQS[kind]
    fake.error_event_in_200(code=code)
    resp = await post(http, fake.url + path, body)
    assert resp.status_code == 200
    payloads = events(resp.content)
    assert not any(p.get("type") in ("response.output_text.delta", "content_block_delta") for p in payloads)
    failures = [err for p in payloads if (err := executor.classify_event(p)) is not None]
    assert len(failures) == 1 and type(failures[0]) is expected


async def test_delay_before_answer_and_between_events(fake, http):
    fake.delay(0.2, times=1)
    started = time.perf_counter()
    await post(http, fake.openai_base_url + "/chat/completions", CHAT_BODY)
    assert time.perf_counter() - started >= 0.2
    fake.delay(0, per_event=0.03, times=1)
    started = time.perf_counter()
    raw = (await post(http, fake.openai_base_url + "/chat/completions", {**CHAT_BODY, "stream": True})).content
    assert time.perf_counter() - started >= 0.03 * len(frames_of(raw)) * 0.9


async def test_hanging_up_mid_stream_closes_the_upstream_connection(fake):
    fake.delay(0, per_event=0.05)
    async with transport.make_client() as http:
        ureq = transport.UpstreamRequest("POST", fake.codex_base_url + "/responses", {"content-type": "application/json"},
                                    orjson.dumps(CODEX_BODY), stream=True)
        resp = await transport.send(http, ureq)
        async for _chunk in transport.iter_body(resp):
            break  # the client went away after the first event
        for _ in range(40):
            if fake.aborted_streams:
                break
            await asyncio.sleep(0.05)
        assert fake.aborted_streams == 1
        fake.reset()
        after = await transport.send(http, ureq)
        assert after.status_code == 200 and b"response.completed" in await transport.read_body(after)


async def test_cancelling_a_reading_task_releases_the_response(fake):
    fake.delay(0, per_event=0.05)
    async with transport.make_client() as http:
        ureq = transport.UpstreamRequest("POST", fake.codex_base_url + "/responses", {"content-type": "application/json"},
                                    orjson.dumps(CODEX_BODY), stream=True)
        first = asyncio.Event()

        async def consume() -> None:
            async for _chunk in transport.iter_body(await transport.send(http, ureq)):
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        fake.reset()
        assert (await transport.send(http, ureq)).status_code == 200


# --- The executors' own requests are accepted by the fake --------------------------------------------


@pytest.mark.parametrize(("kind", "stream"), [("codex", True), ("claude", False), ("claude", True),
                                              ("gemini", False), ("gemini", True), ("openai", False), ("openai", True)])
async def test_executor_built_requests_are_served(fake, kind, stream):
    executor, _, body = REQS[kind]
    cred = {
        "codex": Credential(id="c", kind="codex", provider="codex", auth_type="oauth", access_token="at",
                            account_id="acct", base_url=fake.codex_base_url),
        "claude": Credential(id="a", kind="claude", provider="claude", api_key="sk-ant", base_url=fake.url),
        "gemini": Credential(id="g", kind="gemini", provider="gemini", api_key="AIza", base_url=fake.url),
        "openai": Credential(id="o", kind="openai_compat", provider="local", api_key="sk", base_url=fake.openai_base_url),
    }[kind]
    model = {"codex": "gpt-5-codex", "claude": "claude-sonnet-4-5", "gemini": "gemini-2.5-pro", "openai": "qwen2.5"}[kind]
    req = ir.Request(model=model, messages=(), dialect=executor.dialect, stream=stream)
    ctx = base.CallContext(stream=executor.upstream_stream(stream), upstream_model=model, cache_key="ck-1")
    dirty = {**body, "stream": not stream, "temperature": 0.5, "max_output_tokens": 9, "stream_options": {}}
    ureq = executor.build(executor.finalize(dirty, req, ctx), req, cred, ctx)
    async with transport.make_client() as http:
        resp = await transport.send(http, ureq)
        raw = await transport.read_body(resp)
    assert resp.status_code == 200, raw
    asked = {"codex": "hello", "claude": "hi there", "gemini": "bonjour", "openai": "hey"}[kind]
    assert _answer(kind, raw, ctx.stream) == f"echo {model}: {asked}"
    if kind == "codex":
        path, headers, sent, _ = fake.requests[-1]
        assert (sent["prompt_cache_key"], headers["session_id"], headers["chatgpt-account-id"]) == ("ck-1", "ck-1", "acct")


def _answer(kind: str, raw: bytes, stream: bool) -> str:
    """The generated text, read from whichever wire shape came back."""
    if not stream:
        whole = orjson.loads(raw)
        return {"claude": lambda: whole["content"][0]["text"],
                "gemini": lambda: whole["candidates"][0]["content"]["parts"][0]["text"],
                "openai": lambda: whole["choices"][0]["message"]["content"]}[kind]()
    evs = events(raw)
    if kind == "codex":
        return next(e["text"] for e in evs if e["type"] == "response.output_text.done")
    if kind == "claude":
        return "".join(e["delta"]["text"] for e in evs if e["type"] == "content_block_delta")
    if kind == "gemini":
        return "".join(p["text"] for e in evs for p in e["candidates"][0]["content"]["parts"])
    return "".join(e["choices"][0]["delta"].get("content", "") for e in evs if e["choices"])


# --- OAuth token endpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize(("executor", "path"), [(codex.EXECUTOR, "/oauth/token"), (claude.EXECUTOR, "/v1/oauth/token")])
async def test_refresh_tokens_rotate_and_a_reused_one_is_invalid_grant(fake, executor, path):
    cred = Credential(id="o", kind=executor.kind, provider=executor.kind, auth_type="oauth", access_token="at-0",
                      refresh_token="rt-0")
    async with transport.make_client() as http:
        fresh = await executor.refresh(cred, http, fake.url + path)
        assert fresh.access_token.startswith("fake-access-") and fresh.refresh_token.startswith("fake-refresh-")
        assert fresh.expires_at > time.time() + 3000
        if executor is codex.EXECUTOR:
            assert (fresh.account_id, fresh.email, fresh.extra["plan_type"]) == ("acct-fake", "codex@example.com", "pro")
        else:
            assert fresh.email == "claude@example.com"
        with pytest.raises(errors.UpstreamAuthError) as info:
            await executor.refresh(cred, http, fake.url + path)
        assert info.value.code == "invalid_grant"
        again = await executor.refresh(fresh, http, fake.url + path)
        assert again.refresh_token != fresh.refresh_token
    assert fake.refresh_uses == {"rt-0": 2, fresh.refresh_token: 1}


async def test_concurrent_refreshes_with_one_token_succeed_exactly_once(fake):
    cred = Credential(id="o", kind="claude", provider="claude", auth_type="oauth", refresh_token="rt-race")
    async with transport.make_client() as http:
        results = await asyncio.gather(*(claude.EXECUTOR.refresh(cred, http, fake.url + "/v1/oauth/token")
                                         for _ in range(8)), return_exceptions=True)
    assert sum(isinstance(r, Credential) for r in results) == 1
    assert sum(isinstance(r, errors.UpstreamAuthError) for r in results) == 7
    assert fake.refresh_uses["rt-race"] == 8
