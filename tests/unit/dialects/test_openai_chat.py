"""The chat dialect: client bodies -> IR, IR -> OpenAI-compatible bodies, upstream chunks <-> Deltas."""

from __future__ import annotations

import json
from types import SimpleNamespace

import orjson
import pytest
from tests.conftest import FIXTURES

from core import errors, ir, sse
from core import thinking as core_thinking
from core.dialects import openai_chat
from core.dialects.openai_chat import stream as chat_stream

CLOCK = SimpleNamespace(time=lambda: 1700000000.0)
PARAMS = {"type": "object", "properties": {"path": {"type": "string"}}}


def user(text: str) -> ir.Message:
    return ir.Message("user", (ir.Text(text),))


# ---- client bodies -> IR ----

def test_chat_body_parses_every_message_kind_into_the_ir():
    body = {
        "model": "gpt-5", "stream": True, "stream_options": {"include_usage": True},
        "max_tokens": 10, "max_completion_tokens": 20, "temperature": 1, "top_p": 0.5, "stop": "END",
        "reasoning_effort": "High", "user": "u1", "prompt_cache_key": "k", "parallel_tool_calls": False,
        "response_format": {"type": "json_schema", "json_schema": {"name": "o", "schema": {"type": "object"},
                                                                   "strict": True}},
        "tools": [{"type": "function", "function": {"name": "read", "description": "d", "parameters": PARAMS}},
                  {"type": "web_search", "search_context_size": "low"}],
        "tool_choice": "required",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "developer", "content": [{"type": "text", "text": "dev"}]},
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}},
                {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]},
            {"role": "assistant", "content": "calling", "reasoning_content": "hmm", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "read", "arguments": '{"path":"a"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "read", "arguments": {"path": "b"}}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "A"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "B"}]},
        ],
    }
    req = openai_chat.parse_request(body)
    assert req.original is body
    assert req.messages == (
        ir.Message("system", (ir.Text("sys"),)),
        ir.Message("system", (ir.Text("dev"),)),
        ir.Message("user", (ir.Text("look"), ir.Image(url="https://x/y.png"),
                            ir.Image(data="iVBOR", media_type="image/png"),
                            ir.File(data="JVBE", media_type="application/pdf", filename="a.pdf"))),
        ir.Message("assistant", (ir.Reasoning("hmm", origin="openai_chat"), ir.Text("calling"),
                                 ir.ToolCall("call_1", "read", '{"path":"a"}', origin="openai_chat"),
                                 ir.ToolCall("call_2", "read", '{"path":"b"}', origin="openai_chat"))),
        ir.Message("tool", (ir.ToolResult("call_1", "A"), ir.ToolResult("call_2", (ir.Text("B"),)))),
    )
    assert (req.model, req.dialect, req.stream, req.include_usage) == ("gpt-5", "openai_chat", True, True)
    assert (req.max_tokens, req.temperature, req.top_p, req.stop) == (20, 1.0, 0.5, ("END",))
    assert req.thinking == ir.Thinking(level="high")
    assert req.tools == (ir.Tool("read", "d", PARAMS),
                         ir.Tool("web_search", raw={"type": "web_search", "search_context_size": "low"}))
    assert req.tool_choice == ir.ToolChoice("required")
    assert req.response_format == ir.ResponseFormat("json_schema", "o", {"type": "object"}, True)
    assert (req.user, req.prompt_cache_key, req.parallel_tool_calls) == ("u1", "k", False)


def test_include_usage_needs_a_stream_and_the_flag():
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert not openai_chat.parse_request({**base, "stream_options": {"include_usage": True}}).include_usage
    assert not openai_chat.parse_request({**base, "stream": True}).include_usage


@pytest.mark.parametrize("name", ["opencode-request-1.json", "opencode-request-2.json"])
def test_opencode_fixtures_parse(name):
    body = json.loads((FIXTURES / name).read_text())["body"]
    req = openai_chat.parse_request(body)
    assert req.model == "gpt-5-codex" and req.stream and req.include_usage and req.max_tokens == 32000
    assert req.messages[0].role == "system"
    assert [t.name for t in req.tools] == [t["function"]["name"] for t in body.get("tools", [])]


@pytest.mark.parametrize(("body", "message"), [
    ("x", "request body must be a JSON object"),
    ({"messages": [{"role": "user", "content": "x"}]}, "model: must be a non-empty string"),
    ({"model": ["m"], "messages": [{"role": "user", "content": "x"}]}, "model: must be a non-empty string"),
    ({"model": "m"}, "messages: must be a non-empty array"),
    ({"model": "m", "messages": {}}, "messages: must be a non-empty array"),
    ({"model": "m", "messages": []}, "messages: must be a non-empty array"),
    ({"model": "m", "messages": ["hi"]}, "messages[0]: must be an object"),
    ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role: unsupported role 'robot'"),
    ({"model": "m", "messages": [{"role": "user", "content": 5}]},
     "messages[0].content: must be a string or an array of parts"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": 1}, "stream: must be a boolean"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5},
     "max_tokens: must be a non-negative integer"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": True},
     "max_tokens: must be a non-negative integer"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "0"},
     "temperature: must be a number"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": "read"}, "tools: must be an array"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
     "tools[0].function.name: must be a non-empty string"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "ultra"},
     "reasoning_effort: unsupported value 'ultra'"),
])
def test_invalid_chat_bodies_are_bad_requests(body, message):
    with pytest.raises(errors.BadRequestError) as caught:
        openai_chat.parse_request(body)
    assert caught.value.message == message


def test_path_model_replaces_a_missing_body_model():
    req = openai_chat.parse_request({"messages": [{"role": "user", "content": "x"}]}, model="gpt-5")
    assert req.model == "gpt-5"


# ---- IR -> OpenAI-compatible body ----

def test_ir_renders_a_chat_body_for_a_compatible_upstream():
    req = ir.Request(
        model="qwen", dialect="anthropic", stream=True, max_tokens=256, temperature=0.3, stop=("X",),
        thinking=ir.Thinking(budget=2000), top_k=40, metadata_user_id="ignored",
        tools=(ir.Tool("read", "Read", PARAMS), ir.Tool("noargs")), tool_choice=ir.ToolChoice("tool", "read"),
        messages=(
            ir.Message("system", (ir.Text("sys"),)),
            user("look"),
            ir.Message("assistant", (ir.Reasoning("thought", signature="sig", origin="anthropic"),
                                     ir.Text("ok"), ir.ToolCall("toolu_1", "read", '{"path":"a"}'))),
            ir.Message("user", (ir.ToolResult("toolu_1", (ir.Text("A1"), ir.Text("A2"))), ir.Text("and now?"))),
            ir.Message("user", (ir.Image(data="AAA", media_type="image/png"), ir.Text("this"))),
        ))
    assert openai_chat.render_request(req) == {
        "model": "qwen",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "look"},
            {"role": "assistant", "content": "ok", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "read", "arguments": '{"path":"a"}'}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "A1\n\nA2"},
            {"role": "user", "content": "and now?"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
                                         {"type": "text", "text": "this"}]},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 256,
        "temperature": 0.3,
        "stop": ["X"],
        "tools": [{"type": "function", "function": {"name": "read", "description": "Read", "parameters": PARAMS}},
                  {"type": "function", "function": {"name": "noargs",
                                                    "parameters": {"type": "object", "properties": {}}}}],
        "tool_choice": {"type": "function", "function": {"name": "read"}},
    }


@pytest.mark.parametrize(("thinking", "effort"), [(None, None), (ir.Thinking(budget=2000), "medium"),
                                                  (ir.Thinking(level="high"), "high")])
def test_chat_effort_is_thinkings_to_write(thinking, effort):
    """The renderer writes no reasoning_effort; thinking writes the carried one (no default for chat)."""
    req = ir.Request(model="qwen", dialect="anthropic", thinking=thinking, messages=(user("x"),))
    body = openai_chat.render_request(req)
    assert "reasoning_effort" not in body
    out = core_thinking.apply_thinking(body, "qwen", "anthropic", "openai_chat",
                                       carried=core_thinking.carried_intent(thinking, "openai_chat"))
    assert out.get("reasoning_effort") == effort


def test_own_reasoning_is_echoed_as_reasoning_content_and_calls_leave_content_null():
    req = ir.Request(model="m", dialect="openai_chat", messages=(
        user("hi"),
        ir.Message("assistant", (ir.Reasoning("think", origin="openai_chat"), ir.ToolCall("c1", "f", "{}"))),
    ))
    assert openai_chat.render_request(req)["messages"][1] == {
        "role": "assistant", "content": None, "reasoning_content": "think",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    assert "stream" not in openai_chat.render_request(req)


# ---- upstream chunks -> Deltas ----

def chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "qwen",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return sse.encode(json.dumps(body))


def test_compatible_upstream_chunks_decode_to_deltas():
    raw = b"".join([
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "plan"}),
        chunk({"content": "Hi"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "read", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"pa'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
                               "function": {"name": "grep", "arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'th":1}'}}]}),
        chunk({}, "tool_calls"),
        sse.encode(json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": {
            "prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59,
            "prompt_tokens_details": {"cached_tokens": 32}, "completion_tokens_details": {"reasoning_tokens": 4}}})),
        b"data: [DONE]\n\n",
    ])
    dec = openai_chat.StreamDecoder(openai_chat.parse_request({"model": "m", "messages": [{"role": "user",
                                                                                            "content": "x"}]}))
    deltas = [d for f in sse.Decoder().feed(raw) for d in dec.feed(f)]
    assert deltas == [
        ir.Delta("start", id="chatcmpl-1", model="qwen"),
        ir.Delta("reasoning", text="plan"),
        ir.Delta("text", text="Hi"),
        ir.Delta("tool_call_start", index=0, id="call_1", name="read"),
        ir.Delta("tool_args", index=0, text='{"pa'),
        ir.Delta("tool_call_start", index=1, id="call_2", name="grep"),
        ir.Delta("tool_args", index=1, text="{}"),
        ir.Delta("tool_args", index=0, text='th":1}'),
        ir.Delta("stop", stop_reason="tool_use"),
        ir.Delta("usage", usage=ir.Usage(input_tokens=50, output_tokens=9, cached_tokens=32, reasoning_tokens=4)),
    ]


def test_error_chunk_from_upstream_becomes_an_error_delta():
    dec = openai_chat.StreamDecoder(openai_chat.parse_request({"model": "m", "messages": [{"role": "user",
                                                                                            "content": "x"}]}))
    [d] = dec.feed(sse.Frame(None, '{"error":{"message":"slow","type":"rate_limit_error","code":null}}'))
    assert d.kind == "error" and d.error == {"error": {"message": "slow", "type": "rate_limit_error", "code": None}}


# ---- Deltas -> client chunks ----

def request(stream_usage: bool = True) -> ir.Request:
    body = {"model": "gpt-5", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    if stream_usage:
        body["stream_options"] = {"include_usage": True}
    return openai_chat.parse_request(body)


def test_chat_encoder_writes_exact_chunks_then_usage_then_done(monkeypatch):
    monkeypatch.setattr(chat_stream, "time", CLOCK)
    enc = openai_chat.StreamEncoder(request())
    out = []
    for d in [ir.Delta("text", text="Hi"), ir.Delta("tool_call_start", index=3, id="call_9", name="f"),
              ir.Delta("tool_args", index=3, text="{}"), ir.Delta("tool_args", index=7, text="lost"),
              ir.Delta("usage", usage=ir.Usage(10, 2, cached_tokens=4)), ir.Delta("stop", stop_reason="end_turn")]:
        out += enc.feed(d)
    out += enc.close()
    head = b'data: {"id":"chatcmpl-' + out[0][len(b'data: {"id":"chatcmpl-'):][:24]
    rest = b'","object":"chat.completion.chunk","created":1700000000,"model":"gpt-5"'
    assert out == [
        head + rest + b',"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n',
        head + rest + b',"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9","type":"function",'
                      b'"function":{"name":"f","arguments":""}}]},"finish_reason":null}]}\n\n',
        head + rest + b',"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},'
                      b'"finish_reason":null}]}\n\n',
        head + rest + b',"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n',
        head + rest + b',"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,'
                      b'"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":'
                      b'{"reasoning_tokens":0}}}\n\n',
        b"data: [DONE]\n\n",
    ]


def test_chunks_validate_against_the_openai_sdk_types():
    from openai.types.chat import ChatCompletionChunk

    enc = openai_chat.StreamEncoder(request())
    frames = enc.feed(ir.Delta("start", id="resp_1", model="gpt-5")) + enc.feed(ir.Delta("reasoning", text="r"))
    frames += enc.feed(ir.Delta("tool_call_start", index=0, id="c", name="f")) + enc.close()
    for f in frames[:-1]:
        ChatCompletionChunk.model_validate(orjson.loads(f[6:]))


@pytest.mark.parametrize(("stop", "finish"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("content_filter", "content_filter"), (None, "stop"),
])
def test_finish_reason_maps_the_stop_reason(stop, finish):
    enc = openai_chat.StreamEncoder(request(stream_usage=False))
    enc.feed(ir.Delta("text", text="a"))
    out = (enc.feed(ir.Delta("stop", stop_reason=stop)) if stop else []) + enc.close()
    assert orjson.loads(out[0][6:])["choices"][0]["finish_reason"] == finish
    assert out[1:] == [b"data: [DONE]\n\n"]  # no usage chunk without include_usage


def test_fail_sends_an_error_chunk_and_no_done():
    enc = openai_chat.StreamEncoder(request())
    enc.feed(ir.Delta("text", text="a"))
    assert enc.fail(errors.UpstreamServerError("upstream broke")) == [
        b'data: {"error":{"message":"upstream broke","type":"server_error"}}\n\n']
    assert enc.close() == [] and enc.feed(ir.Delta("text", text="b")) == []


def test_empty_stream_still_finishes_cleanly():
    out = openai_chat.StreamEncoder(request(stream_usage=False)).close()
    assert orjson.loads(out[0][6:])["choices"][0] == {"index": 0, "delta": {"role": "assistant"},
                                                      "finish_reason": "stop"}
    assert out[1] == b"data: [DONE]\n\n"


# ---- non-stream ----

def test_non_stream_completion_round_trips():
    upstream = {
        "id": "chatcmpl-7", "object": "chat.completion", "created": 1700000005, "model": "qwen",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "sure", "reasoning_content": "think",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25,
                  "prompt_tokens_details": {"cached_tokens": 8}},
    }
    resp = openai_chat.parse_response(upstream)
    assert resp == ir.Response(
        id="chatcmpl-7", model="qwen", created=1700000005, stop_reason="tool_use",
        parts=(ir.Reasoning("think", origin="openai_chat"), ir.Text("sure"),
               ir.ToolCall("call_1", "f", "{}", origin="openai_chat")),
        usage=ir.Usage(input_tokens=20, output_tokens=5, cached_tokens=8))
    out = openai_chat.render_response(resp, request())
    assert out == {
        "id": "chatcmpl-7", "object": "chat.completion", "created": 1700000005, "model": "qwen",
        "choices": [{"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "sure", "reasoning_content": "think",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25,
                  "prompt_tokens_details": {"cached_tokens": 8}, "completion_tokens_details": {"reasoning_tokens": 0}},
    }
    from openai.types.chat import ChatCompletion

    ChatCompletion.model_validate(out)


def test_max_tokens_stop_renders_as_length():
    resp = ir.Response(id="r", model="m", parts=(ir.Text("cut"),), stop_reason="max_tokens")
    assert openai_chat.render_response(resp, request())["choices"][0]["finish_reason"] == "length"


def test_builtin_tools_from_other_dialects_are_dropped_for_chat_upstreams():
    req = ir.Request(model="m", dialect="openai_responses", messages=(user("hi"),),
                     tools=(ir.Tool("web_search", raw={"type": "web_search"}), ir.Tool("read", parameters=PARAMS)),
                     tool_choice=ir.ToolChoice("tool", "web_search"))
    body = openai_chat.render_request(req)
    assert body["tools"] == [{"type": "function", "function": {"name": "read", "parameters": PARAMS}}]
    assert "tool_choice" not in body
