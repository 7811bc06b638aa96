"""Anthropic Messages dialect: client parsing, Claude upstream rendering, SSE codecs, envelopes."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from tests.conftest import FIXTURES

from core import errors, ir, sse
from core.dialects import anthropic, gemini


def _body(**extra: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}], **extra}


def _ev(event: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _frames(raw: bytes) -> list[sse.Frame]:
    dec = sse.Decoder()
    return dec.feed(raw) + dec.close()


def _decode(raw: bytes, req: ir.Request, module: Any = anthropic) -> list[ir.Delta]:
    decoder = module.StreamDecoder(req)
    return [d for f in _frames(raw) for d in decoder.feed(f)]


def _encode(deltas: list[ir.Delta], req: ir.Request, module: Any = anthropic) -> list[bytes]:
    encoder = module.StreamEncoder(req)
    return [b for d in deltas for b in encoder.feed(d)] + encoder.close()


# --- parse_request -------------------------------------------------------------------------------


def test_claude_code_fixture_parses_with_system_cache_markers_thinking_and_session_metadata():
    body = json.loads((FIXTURES / "claude-code-request-1.json").read_text())["body"]
    req = anthropic.parse_request(body)
    assert req.original is body
    assert (req.model, req.dialect, req.stream, req.max_tokens) == ("claude-sonnet-4-5", "anthropic", True, 32000)
    assert req.thinking == ir.Thinking(budget=31999)
    system, user = req.messages
    assert system.role == "system" and len(system.parts) == 3
    assert system.parts[1] == ir.Text("You are a Claude agent, built on Anthropic's Claude Agent SDK.",
                                      {"type": "ephemeral"})
    assert user.role == "user" and user.parts[-1] == ir.Text("say hi", {"type": "ephemeral"})
    assert len(req.tools) == 24 and req.tools[0].name == "Agent" and req.tools[0].parameters["type"] == "object"
    assert req.metadata_user_id.startswith('{"device_id"')


def test_blocks_map_to_ir_parts_and_tool_results_split_into_a_tool_message():
    body = _body(system="be brief", messages=[
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
            {"type": "image", "source": {"type": "url", "url": "https://x/a.jpg"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
             "title": "spec"},
            {"type": "text", "text": "read it"}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "plan", "signature": "sig-1"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "a"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "file body"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
             "content": [{"type": "text", "text": "boom"},
                         {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}]},
            {"type": "text", "text": "go on"}]},
    ])
    req = anthropic.parse_request(body)
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool", "user"]
    assert req.messages[0].parts == (ir.Text("be brief"),)
    assert req.messages[1].parts == (
        ir.Image(data="iVBO", media_type="image/png"),
        ir.Image(url="https://x/a.jpg"),
        ir.File(data="JVBE", media_type="application/pdf", filename="spec"),
        ir.Text("read it"),
    )
    assert req.messages[2].parts == (
        ir.Reasoning("plan", "sig-1", origin="anthropic"),
        ir.Reasoning(signature="opaque", origin="anthropic", redacted=True),
        ir.Text("calling"),
        ir.ToolCall("toolu_1", "Read", '{"path":"a"}', origin="anthropic"),
    )
    assert req.messages[3].parts == (
        ir.ToolResult("toolu_1", "file body"),
        ir.ToolResult("toolu_2", (ir.Text("boom"), ir.Image(data="AA", media_type="image/png")), is_error=True),
    )
    assert req.messages[4].parts == (ir.Text("go on"),)


def test_options_map_to_neutral_fields():
    req = anthropic.parse_request(_body(
        temperature=0.3, top_p=0.9, top_k=40, stop_sequences=["END"], stream=False,
        tools=[{"name": "f", "description": "d", "input_schema": {"type": "object"}},
               {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        metadata={"user_id": "u-1"},
    ))
    assert (req.temperature, req.top_p, req.top_k, req.stop, req.stream) == (0.3, 0.9, 40, ("END",), False)
    assert req.tools[0] == ir.Tool("f", "d", {"type": "object"})
    assert req.tools[1] == ir.Tool("web_search", raw={"type": "web_search_20250305", "name": "web_search", "max_uses": 3})
    assert req.tool_choice == ir.ToolChoice("required") and req.parallel_tool_calls is False
    assert req.metadata_user_id == "u-1"
    named = anthropic.parse_request(_body(tool_choice={"type": "tool", "name": "f"}))
    assert named.tool_choice == ir.ToolChoice("tool", "f") and named.parallel_tool_calls is None


@pytest.mark.parametrize(("thinking", "output_config", "expected"), [
    ({"type": "enabled", "budget_tokens": 4096}, None, ir.Thinking(budget=4096)),
    ({"type": "enabled"}, None, ir.Thinking(level="auto")),
    ({"type": "disabled"}, None, ir.Thinking(level="none")),
    ({"type": "adaptive"}, {"effort": "HIGH"}, ir.Thinking(level="high")),
    ({"type": "adaptive"}, None, ir.Thinking(level="auto")),
])
def test_thinking_config_maps_to_budget_or_level(thinking, output_config, expected):
    extra: dict[str, Any] = {"thinking": thinking}
    if output_config is not None:
        extra["output_config"] = output_config
    assert anthropic.parse_request(_body(**extra)).thinking == expected


@pytest.mark.parametrize("body", [
    [],
    "text",
    {"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
    _body(model=""),
    _body(messages=None),
    _body(messages=[]),
    _body(messages={"role": "user"}),
    _body(max_tokens=None),
    _body(max_tokens=0),
    _body(max_tokens="100"),
    _body(max_tokens=True),
    _body(messages=[{"role": "system", "content": "x"}]),
    _body(messages=[{"role": "user", "content": 5}]),
    _body(messages=[{"role": "user", "content": ["x"]}]),
    _body(messages=[{"role": "user", "content": [{"type": "text"}]}]),
    _body(messages=[{"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "b", "input": []}]}]),
    _body(messages=[{"role": "user", "content": [{"type": "image", "source": "x"}]}]),
    _body(system=7),
    _body(system=["x"]),
    _body(tools={"name": "f"}),
    _body(tools=[{"name": "f"}]),
    _body(tool_choice="auto"),
    _body(temperature="hot"),
    _body(top_k=1.5),
    _body(stop_sequences="END"),
    _body(stream="yes"),
    _body(thinking={"type": "enabled", "budget_tokens": "lots"}),
    _body(thinking={"type": "sometimes"}),
    _body(thinking={"type": "adaptive"}, output_config={"effort": "extreme"}),
    _body(metadata="user"),
])
def test_malformed_requests_raise_bad_request(body):
    with pytest.raises(errors.BadRequestError):
        anthropic.parse_request(body)


def test_count_tokens_bodies_may_omit_max_tokens():
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
    assert anthropic.parse_request(body, count_tokens=True).max_tokens is None
    with pytest.raises(errors.BadRequestError):
        anthropic.parse_request({**body, "max_tokens": 0}, count_tokens=True)


# --- render_request ------------------------------------------------------------------------------


def _req(*messages: ir.Message, **fields: Any) -> ir.Request:
    return ir.Request(model="claude-sonnet-4-5", messages=messages, dialect="openai_chat", **fields)


def test_render_request_builds_strict_claude_turns():
    req = _req(
        ir.Message("system", (ir.Text("one"),)),
        ir.Message("system", (ir.Text("two", {"type": "ephemeral"}),)),
        ir.Message("user", (ir.Text("look"), ir.Image(url="data:image/jpeg;base64,/9j/"))),
        ir.Message("user", (ir.Image(url="https://x/y.png"),)),
        ir.Message("assistant", (
            ir.Reasoning("foreign", "enc", origin="openai_responses"),
            ir.Reasoning("unsigned", origin="anthropic"),
            ir.Reasoning("mine", "sig", origin="anthropic"),
            ir.Reasoning(signature="blob", origin="anthropic", redacted=True),
            ir.Text("ok"),
            ir.ToolCall("call.1|x", "Read", '{"p":1}'),
            ir.ToolCall("call_2", "Read", "not json"),
        )),
        ir.Message("user", (ir.Text("and?"),)),
        ir.Message("tool", (ir.ToolResult("call.1|x", "r1"),)),
        ir.Message("tool", (ir.ToolResult("call_2", (ir.Text("r2"), ir.Image(data="AA", media_type="image/gif")),
                                          is_error=True),)),
    )
    assert anthropic.render_request(req) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "system": [{"type": "text", "text": "one"},
                   {"type": "text", "text": "two", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "mine", "signature": "sig"},
                {"type": "redacted_thinking", "data": "blob"},
                {"type": "text", "text": "ok"},
                {"type": "tool_use", "id": "call_1_x", "name": "Read", "input": {"p": 1}},
                {"type": "tool_use", "id": "call_2", "name": "Read", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1_x", "content": "r1"},
                {"type": "tool_result", "tool_use_id": "call_2", "is_error": True, "content": [
                    {"type": "text", "text": "r2"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "AA"}}]},
                {"type": "text", "text": "and?"}]},
        ],
        "stream": False,
    }


def test_render_request_options_tools_and_sampling():
    req = _req(
        ir.Message("user", (ir.Text("hi"),)),
        stream=True, max_tokens=500, temperature=0.2, top_p=0.8, top_k=5, stop=("X",),
        tools=(ir.Tool("f", "does f", {"properties": {"a": {"type": "string"}}}, cache_control={"type": "ephemeral"}),
               ir.Tool("web_search", raw={"type": "web_search"}),
               ir.Tool("googleSearch", raw={"googleSearch": {}}),
               ir.Tool("code_interpreter", raw={"type": "code_interpreter"})),
        tool_choice=ir.ToolChoice("tool", "f"), parallel_tool_calls=False, metadata_user_id="user-1",
    )
    assert anthropic.render_request(req) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 500,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [
            {"name": "f", "description": "does f", "cache_control": {"type": "ephemeral"},
             "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
            {"type": "web_search_20250305", "name": "web_search"},
            {"type": "web_search_20250305", "name": "web_search"},
        ],
        "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
        "temperature": 0.2,
        "top_k": 5,
        "stop_sequences": ["X"],
        "metadata": {"user_id": "user-1"},
        "stream": True,
    }


@pytest.mark.parametrize(("thinking", "expected"), [
    (ir.Thinking(budget=4096), {"type": "enabled", "budget_tokens": 4096}),
    (ir.Thinking(budget=0), {"type": "disabled"}),
    (ir.Thinking(budget=-1), {"type": "adaptive"}),
    (ir.Thinking(level="none"), {"type": "disabled"}),
    (ir.Thinking(level="auto"), {"type": "adaptive"}),
    (ir.Thinking(level="minimal"), {"type": "enabled", "budget_tokens": 512}),
    (ir.Thinking(level="low"), {"type": "enabled", "budget_tokens": 1024}),
    (ir.Thinking(level="medium"), {"type": "enabled", "budget_tokens": 8192}),
    (ir.Thinking(level="high"), {"type": "enabled", "budget_tokens": 24576}),
    (ir.Thinking(level="xhigh"), {"type": "enabled", "budget_tokens": 31999}),  # capped below max_tokens
    (ir.Thinking(level="max"), {"type": "enabled", "budget_tokens": 31999}),
])
def test_render_request_thinking_from_budget_or_level(thinking, expected):
    body = anthropic.render_request(_req(ir.Message("user", (ir.Text("x"),)), thinking=thinking, temperature=0.5))
    assert body["thinking"] == expected
    assert ("temperature" in body) == (expected["type"] == "disabled")


def test_render_request_turns_thinking_off_for_a_tool_loop_without_a_signed_thinking_block():
    call = ir.ToolCall("call_1", "f", "{}")
    loop = (ir.Message("user", (ir.Text("go"),)), ir.Message("assistant", (call,)),
            ir.Message("tool", (ir.ToolResult("call_1", "done"),)))
    body = anthropic.render_request(_req(*loop, thinking=ir.Thinking(level="high"), temperature=0.5))
    assert body["thinking"] == {"type": "disabled"} and body["temperature"] == 0.5
    signed = (loop[0], ir.Message("assistant", (ir.Reasoning("t", "sig", origin="anthropic"), call)), loop[2])
    assert anthropic.render_request(_req(*signed, thinking=ir.Thinking(budget=2048)))["thinking"] == {
        "type": "enabled", "budget_tokens": 2048}
    fresh = (*loop, ir.Message("assistant", (ir.Text("ok"),)), ir.Message("user", (ir.Text("next"),)))
    assert anthropic.render_request(_req(*fresh, thinking=ir.Thinking(budget=2048)))["thinking"]["type"] == "enabled"


def test_render_request_tool_choice_modes():
    tools = (ir.Tool("f", parameters={"type": "object"}),)
    for mode, wire in [("auto", {"type": "auto"}), ("required", {"type": "any"}), ("none", {"type": "none"})]:
        body = anthropic.render_request(_req(ir.Message("user", (ir.Text("x"),)), tools=tools,
                                             tool_choice=ir.ToolChoice(mode)))
        assert body["tool_choice"] == wire
    body = anthropic.render_request(_req(ir.Message("user", (ir.Text("x"),)), tools=tools, parallel_tool_calls=False))
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


# --- non-stream responses ------------------------------------------------------------------------

CLAUDE_MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "thinking", "thinking": "hm", "signature": "s1"},
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_9", "name": "Read", "input": {"p": "a"}}],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 20},
}


def test_parse_response_counts_cache_tokens_into_input():
    resp = anthropic.parse_response(CLAUDE_MESSAGE)
    assert resp == ir.Response(
        id="msg_1", model="claude-sonnet-4-5",
        parts=(ir.Reasoning("hm", "s1", origin="anthropic"), ir.Text("Reading."),
               ir.ToolCall("toolu_9", "Read", '{"p":"a"}', origin="anthropic")),
        stop_reason="tool_use",
        usage=ir.Usage(input_tokens=115, output_tokens=20, cached_tokens=100, cache_creation_tokens=5),
    )


def test_render_response_round_trips_a_claude_message():
    req = anthropic.parse_request(_body())
    assert anthropic.render_response(anthropic.parse_response(CLAUDE_MESSAGE), req) == CLAUDE_MESSAGE


def test_render_response_shows_foreign_thinking_without_its_signature():
    resp = ir.Response("r1", "gemini-2.5-pro", (ir.Reasoning("why", "gsig", origin="gemini"), ir.Text("hi"),
                                                ir.ToolCall("call 1", "f", "{}")),
                       usage=ir.Usage(input_tokens=50, output_tokens=7, cached_tokens=20))
    body = anthropic.render_response(resp, anthropic.parse_request(_body()))
    assert body["content"] == [{"type": "thinking", "thinking": "why", "signature": ""},
                               {"type": "text", "text": "hi"},
                               {"type": "tool_use", "id": "call_1", "name": "f", "input": {}}]
    assert body["stop_reason"] == "tool_use"
    assert body["usage"] == {"input_tokens": 30, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20,
                             "output_tokens": 7}


def test_parse_response_raises_on_error_body():
    with pytest.raises(errors.UpstreamError):  # what kind it is, the executor says (core.executors.classify)
        anthropic.parse_response({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    with pytest.raises(errors.UpstreamServerError):
        anthropic.parse_response([])  # type: ignore[arg-type]


# --- streams -------------------------------------------------------------------------------------

USAGE_START = {"input_tokens": 12, "cache_creation_input_tokens": 30, "cache_read_input_tokens": 100}
TOOL_A = {"type": "tool_use", "id": "toolu_01A", "name": "Read", "input": {}}
TOOL_B = {"type": "tool_use", "id": "toolu_01B", "name": "Read", "input": {}}


def _claude_events(start_output_tokens: int, *, ping: bool) -> list[bytes]:
    """A Claude turn: signed thinking, text, two streamed tool calls, cache usage."""
    def block(i: int, delta: dict[str, Any]) -> bytes:
        return _ev("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta})

    def start(i: int, content: dict[str, Any]) -> bytes:
        return _ev("content_block_start", {"type": "content_block_start", "index": i, "content_block": content})

    def stop(i: int) -> bytes:
        return _ev("content_block_stop", {"type": "content_block_stop", "index": i})

    events = [
        _ev("message_start", {"type": "message_start", "message": {
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {**USAGE_START, "output_tokens": start_output_tokens}}}),
        start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        block(0, {"type": "thinking_delta", "thinking": "Let me check."}),
        block(0, {"type": "signature_delta", "signature": "EqQBsig=="}),
        stop(0),
        start(1, {"type": "text", "text": ""}),
        block(1, {"type": "text_delta", "text": "I'll read both."}),
        stop(1),
        start(2, TOOL_A),
        block(2, {"type": "input_json_delta", "partial_json": '{"file_path":'}),
        block(2, {"type": "input_json_delta", "partial_json": '"a.py"}'}),
        stop(2),
        start(3, TOOL_B),
        block(3, {"type": "input_json_delta", "partial_json": '{"file_path":"b.py"}'}),
        stop(3),
        _ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                              "usage": {**USAGE_START, "output_tokens": 87}}),
        _ev("message_stop", {"type": "message_stop"}),
    ]
    if ping:
        events.insert(1, _ev("ping", {"type": "ping"}))
    return events


CLAUDE_DELTAS = [
    ir.Delta("start", id="msg_01", model="claude-sonnet-4-5"),
    ir.Delta("usage", usage=ir.Usage(142, 1, 100, 30)),
    ir.Delta("reasoning", text="Let me check."),
    ir.Delta("reasoning", signature="EqQBsig=="),
    ir.Delta("text", text="I'll read both.", index=1),
    ir.Delta("tool_call_start", index=0, id="toolu_01A", name="Read"),
    ir.Delta("tool_args", text='{"file_path":', index=0),
    ir.Delta("tool_args", text='"a.py"}', index=0),
    ir.Delta("tool_call_start", index=1, id="toolu_01B", name="Read"),
    ir.Delta("tool_args", text='{"file_path":"b.py"}', index=1),
    ir.Delta("usage", usage=ir.Usage(142, 87, 100, 30)),
    ir.Delta("stop", stop_reason="tool_use"),
]


def test_claude_stream_decodes_to_deltas():
    req = anthropic.parse_request(_body())
    assert _decode(b"".join(_claude_events(1, ping=True)), req) == CLAUDE_DELTAS


def test_claude_stream_reencodes_to_the_same_events():
    req = anthropic.parse_request(_body())
    deltas = _decode(b"".join(_claude_events(1, ping=True)), req)
    assert _encode(deltas, req) == _claude_events(0, ping=False)


def test_claude_stream_deltas_encode_as_gemini_chunks():
    req = gemini.parse_request({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, model="claude-sonnet-4-5")

    def chunk(parts: list[Any], **extra: Any) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        if "finishReason" in extra:
            candidate["finishReason"] = extra.pop("finishReason")
        candidate["index"] = 0
        body = {"candidates": [candidate], **extra, "modelVersion": "claude-sonnet-4-5", "responseId": "msg_01"}
        return b"data: " + orjson.dumps(body) + b"\n\n"

    assert _encode(CLAUDE_DELTAS, req, gemini) == [
        chunk([{"text": "Let me check.", "thought": True}]),
        chunk([{"text": "", "thought": True, "thoughtSignature": "EqQBsig=="}]),
        chunk([{"text": "I'll read both."}]),
        chunk([{"functionCall": {"id": "toolu_01A", "name": "Read", "args": {"file_path": "a.py"}}},
               {"functionCall": {"id": "toolu_01B", "name": "Read", "args": {"file_path": "b.py"}}}],
              finishReason="STOP",
              usageMetadata={"promptTokenCount": 142, "candidatesTokenCount": 87, "totalTokenCount": 229,
                             "cachedContentTokenCount": 100}),
    ]


def test_gemini_stream_with_signatures_and_a_call_encodes_as_claude_events():
    req = anthropic.parse_request(_body())
    chunks = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Planning.", "thought": True}]}, "index": 0}],
         "usageMetadata": {"promptTokenCount": 50, "totalTokenCount": 50},
         "modelVersion": "gemini-2.5-pro", "responseId": "resp-1"},
        {"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me look.", "thoughtSignature": "sigA"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sigB"}]},
            "finishReason": "STOP", "index": 0}],
         "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 10, "totalTokenCount": 85,
                           "thoughtsTokenCount": 25, "cachedContentTokenCount": 20},
         "modelVersion": "gemini-2.5-pro", "responseId": "resp-1"},
    ]
    raw = b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)
    deltas = _decode(raw, req, gemini)
    call_id = deltas[6].id
    assert call_id.startswith("call_") and len(call_id) == 29
    assert deltas == [
        ir.Delta("start", id="resp-1", model="gemini-2.5-pro"),
        ir.Delta("usage", usage=ir.Usage(input_tokens=50)),
        ir.Delta("reasoning", text="Planning."),
        ir.Delta("usage", usage=ir.Usage(50, 35, 20, 0, 25)),
        ir.Delta("reasoning", signature="sigA"),
        ir.Delta("text", text="Let me look."),
        ir.Delta("tool_call_start", index=0, id=call_id, name="get_weather", signature="sigB"),
        ir.Delta("tool_args", index=0, text='{"city":"Paris"}'),
        ir.Delta("stop", stop_reason="tool_use"),
    ]

    def block(i: int, delta: dict[str, Any]) -> bytes:
        return _ev("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta})

    assert _encode(deltas, req) == [
        _ev("message_start", {"type": "message_start", "message": {
            "id": "resp-1", "type": "message", "role": "assistant", "model": "gemini-2.5-pro", "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 50, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "output_tokens": 0}}}),
        _ev("content_block_start", {"type": "content_block_start", "index": 0,
                                    "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        block(0, {"type": "thinking_delta", "thinking": "Planning."}),
        block(0, {"type": "signature_delta", "signature": "sigA"}),
        _ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _ev("content_block_start", {"type": "content_block_start", "index": 1,
                                    "content_block": {"type": "text", "text": ""}}),
        block(1, {"type": "text_delta", "text": "Let me look."}),
        _ev("content_block_stop", {"type": "content_block_stop", "index": 1}),
        _ev("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
            "type": "tool_use", "id": call_id, "name": "get_weather", "input": {}}}),
        block(2, {"type": "input_json_delta", "partial_json": '{"city":"Paris"}'}),
        _ev("content_block_stop", {"type": "content_block_stop", "index": 2}),
        _ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                              "usage": {"input_tokens": 30, "cache_creation_input_tokens": 0,
                                        "cache_read_input_tokens": 20, "output_tokens": 35}}),
        _ev("message_stop", {"type": "message_stop"}),
    ]


def test_encoder_opens_a_new_thinking_block_after_a_signed_one():
    req = anthropic.parse_request(_body())
    out = _encode([ir.Delta("reasoning", text="a", signature="s1"), ir.Delta("reasoning", text="b"),
                   ir.Delta("stop", stop_reason="end_turn")], req)
    starts = [orjson.loads(b.split(b"data: ", 1)[1]) for b in out if b.startswith(b"event: content_block_start")]
    assert [s["index"] for s in starts] == [0, 1]
    assert orjson.loads(out[-2].split(b"data: ", 1)[1])["delta"]["stop_reason"] == "end_turn"


def test_empty_stream_still_closes_with_a_complete_message():
    req = anthropic.parse_request(_body())
    events = [b.split(b"\n", 1)[0] for b in _encode([], req)]
    assert events == [b"event: message_start", b"event: message_delta", b"event: message_stop"]


def test_error_event_becomes_an_error_delta_carrying_the_event():
    req = anthropic.parse_request(_body())
    event = {"type": "error", "error": {"type": "overloaded_error", "message": "nope"}}
    (delta,) = _decode(_ev("error", event), req)
    assert delta.kind == "error" and delta.error == event  # decoded only: the executor classifies it


def test_malformed_event_becomes_an_error_delta_not_an_exception():
    req = anthropic.parse_request(_body())
    (delta,) = anthropic.StreamDecoder(req).feed(sse.Frame("message_start", "{not json"))
    assert delta.kind == "error" and isinstance(delta.error, errors.UpstreamServerError)
    assert anthropic.StreamDecoder(req).feed(sse.Frame("content_block_delta", '{"type":"content_block_delta"}')) == []


def test_fail_writes_an_error_event_and_ends_the_stream():
    encoder = anthropic.StreamEncoder(anthropic.parse_request(_body()))
    encoder.feed(ir.Delta("text", text="partial"))
    assert encoder.fail(errors.UpstreamServerError("upstream went away")) == [
        _ev("error", {"type": "error", "error": {"type": "api_error", "message": "upstream went away"}})]
    assert encoder.close() == [] and encoder.feed(ir.Delta("text", text="late")) == []


# --- envelopes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("err", "status", "kind"), [
    (errors.BadRequestError("bad"), 400, "invalid_request_error"),
    (errors.ClientAuthError("bad"), 401, "authentication_error"),
    (errors.ModelNotFoundError("bad"), 404, "not_found_error"),
    (errors.PoolExhaustedError("bad"), 429, "rate_limit_error"),
    (errors.PoolExhaustedError("bad", status=503), 503, "overloaded_error"),
    (errors.UpstreamRejectedError("bad"), 400, "invalid_request_error"),
    (errors.UpstreamRejectedError("bad", status=422), 422, "invalid_request_error"),
    (errors.UpstreamAuthError("bad", status=403), 403, "permission_error"),
    (errors.UpstreamRateLimitError("bad"), 502, "api_error"),
    (errors.UpstreamTimeoutError("bad"), 502, "api_error"),
    (errors.UpstreamServerError("bad"), 502, "api_error"),
    (errors.ProxyError("bad"), 500, "api_error"),
])
def test_render_error_uses_claude_envelope(err, status, kind):
    assert anthropic.render_error(err) == (status, {"type": "error", "error": {"type": kind, "message": "bad"}})


def test_render_models_and_count():
    class M:
        def __init__(self, id: str, created: int) -> None:
            self.id, self.owned_by, self.created = id, "anthropic", created

    assert anthropic.render_models([M("claude-a", 1735689600), M("gpt-5", 0)]) == {
        "data": [{"type": "model", "id": "claude-a", "display_name": "claude-a", "created_at": "2025-01-01T00:00:00Z"},
                 {"type": "model", "id": "gpt-5", "display_name": "gpt-5", "created_at": "1970-01-01T00:00:00Z"}],
        "has_more": False, "first_id": "claude-a", "last_id": "gpt-5",
    }
    assert anthropic.render_models([]) == {"data": [], "has_more": False, "first_id": None, "last_id": None}
    assert anthropic.render_count(42) == {"input_tokens": 42}
