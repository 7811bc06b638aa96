"""Gemini generateContent dialect: client parsing, Gemini upstream rendering, SSE codecs, envelopes."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from tests.conftest import FIXTURES

from core import errors, ir, sse
from core.dialects import anthropic, gemini
from core.dialects.gemini import names

SKIP = "skip_thought_signature_validator"


def _body(**extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], **extra}


def _data(chunk: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def _decode(raw: bytes, req: ir.Request) -> list[ir.Delta]:
    dec, decoder = sse.Decoder(), gemini.StreamDecoder(req)
    return [d for f in dec.feed(raw) + dec.close() for d in decoder.feed(f)]


def _encode(deltas: list[ir.Delta], req: ir.Request) -> list[bytes]:
    encoder = gemini.StreamEncoder(req)
    return [b for d in deltas for b in encoder.feed(d)] + encoder.close()


# --- parse_request -------------------------------------------------------------------------------


def test_gemini_cli_fixture_parses_with_tools_and_thinking_budget():
    body = json.loads((FIXTURES / "gemini-cli-request-1.json").read_text())["body"]
    req = gemini.parse_request(body, model="gemini-2.5-pro")
    assert req.original is body
    assert (req.model, req.dialect, req.temperature, req.top_p, req.top_k) == ("gemini-2.5-pro", "gemini", 1, 0.95, 64)
    assert req.thinking == ir.Thinking(budget=8192, include_thoughts=True)
    assert [m.role for m in req.messages] == ["system", "user"]
    assert req.messages[1].parts[-1] == ir.Text("say hi")
    assert req.tools[0].name == "update_topic" and req.tools[0].parameters["required"] == ["strategic_intent"]


def test_contents_map_to_ir_with_positional_call_ids_and_fifo_results():
    body = {
        "system_instruction": {"parts": [{"text": "sys"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "weather?"},
                                       {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
                                       {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
                                       {"fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"}}]},
            {"role": "model", "parts": [
                {"text": "thinking...", "thought": True, "thoughtSignature": "t-sig"},
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}}, "thoughtSignature": "c-sig"},
                {"functionCall": {"name": "weather", "args": {"city": "Rome"}}},
                {"functionCall": {"name": "time", "args": {}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "time", "response": {"output": "noon"}}},
                {"functionResponse": {"name": "weather", "response": {"temp": 20}}},
                {"functionResponse": {"name": "weather", "response": {"error": "no data"}}},
                {"text": "thanks"}]},
            {"role": "model", "parts": [{"text": "Sure.", "thoughtSignature": "p-sig"}]},
        ],
    }
    req = gemini.parse_request(body, model="models/gemini-2.5-flash")
    assert req.model == "gemini-2.5-flash"
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool", "user", "assistant"]
    assert req.messages[1].parts == (
        ir.Text("weather?"),
        ir.Image(data="iVBO", media_type="image/png"),
        ir.File(data="JVBE", media_type="application/pdf"),
        ir.File(url="gs://b/v.mp4", media_type="video/mp4"),
    )
    assert req.messages[2].parts == (
        ir.Reasoning("thinking...", "t-sig", origin="gemini"),
        ir.ToolCall("call_0", "weather", '{"city":"Paris"}', signature="c-sig", origin="gemini"),
        ir.ToolCall("call_1", "weather", '{"city":"Rome"}', origin="gemini"),
        ir.ToolCall("call_2", "time", "{}", origin="gemini"),
    )
    assert req.messages[3].parts == (
        ir.ToolResult("call_2", "noon", name="time"),
        ir.ToolResult("call_0", '{"temp":20}', name="weather"),
        ir.ToolResult("call_1", "no data", name="weather", is_error=True),
    )
    assert req.messages[5].parts == (ir.Reasoning("", "p-sig", origin="gemini"), ir.Text("Sure."))


def test_function_response_with_an_id_or_no_name_still_finds_its_call():
    body = _body(contents=[
        {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}, "id": "fc-a"}},
                                    {"functionCall": {"name": "b", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "b", "id": "fc-a", "response": {"result": "A"}}},
                                   {"functionResponse": {"name": "", "response": {"result": "B"}}}]},
    ])
    results = gemini.parse_request(body, model="m").messages[1].parts
    assert [(r.call_id, r.content) for r in results] == [("fc-a", "A"), ("call_0", "B")]


def test_missing_roles_alternate_starting_with_user():
    req = gemini.parse_request(_body(contents=[{"parts": [{"text": "a"}]}, {"parts": [{"text": "b"}]},
                                               {"parts": [{"text": "c"}]}]), model="m")
    assert [m.role for m in req.messages] == ["user", "assistant", "user"]


def test_tools_config_and_generation_options_map_to_neutral_fields():
    req = gemini.parse_request(_body(
        tools=[{"functionDeclarations": [
                    {"name": "lookup", "description": "d",
                     "parameters": {"type": "OBJECT", "properties": {"type": {"type": "STRING", "enum": ["A"]}}}}]},
               {"googleSearch": {}}],
        toolConfig={"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}},
        generationConfig={"maxOutputTokens": 256, "temperature": 0.1, "topP": 0.5, "topK": 3.0,
                          "stopSequences": ["##"], "responseMimeType": "application/json",
                          "responseJsonSchema": {"type": "object"},
                          "thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": False}},
    ), model="m")
    assert req.tools == (
        ir.Tool("lookup", "d", {"type": "object", "properties": {"type": {"type": "string", "enum": ["A"]}}}),
        ir.Tool("googleSearch", raw={"googleSearch": {}}),
    )
    assert req.tool_choice == ir.ToolChoice("tool", "lookup")
    assert (req.max_tokens, req.temperature, req.top_p, req.top_k, req.stop) == (256, 0.1, 0.5, 3, ("##",))
    assert req.response_format == ir.ResponseFormat("json_schema", schema={"type": "object"})
    assert req.thinking == ir.Thinking(level="high", include_thoughts=False)
    modes = {m: gemini.parse_request(_body(toolConfig={"functionCallingConfig": {"mode": m}}), model="m").tool_choice
             for m in ("AUTO", "ANY", "NONE")}
    assert modes == {"AUTO": ir.ToolChoice("auto"), "ANY": ir.ToolChoice("required"), "NONE": ir.ToolChoice("none")}


@pytest.mark.parametrize("body", [
    [],
    {},
    _body(contents=[]),
    _body(contents={"role": "user"}),
    _body(contents=["hi"]),
    _body(contents=[{"role": 3, "parts": []}]),
    _body(contents=[{"role": "user", "parts": "hi"}]),
    _body(contents=[{"role": "user", "parts": ["hi"]}]),
    _body(contents=[{"role": "user", "parts": [{"text": 5}]}]),
    _body(contents=[{"role": "model", "parts": [{"functionCall": {"name": "f", "args": [1]}}]}]),
    _body(contents=[{"role": "model", "parts": [{"functionCall": {"args": {}}}]}]),
    _body(contents=[{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": "x"}}]}]),
    _body(contents=[{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png"}}]}]),
    _body(systemInstruction=5),
    _body(tools={"functionDeclarations": []}),
    _body(tools=[{"functionDeclarations": [{"description": "no name"}]}]),
    _body(tools=[{"functionDeclarations": [{"name": "f", "parameters": "x"}]}]),
    _body(toolConfig={"functionCallingConfig": {"mode": "SOMETIMES"}}),
    _body(generationConfig=[]),
    _body(generationConfig={"temperature": "warm"}),
    _body(generationConfig={"maxOutputTokens": 1.5}),
    _body(generationConfig={"stopSequences": "x"}),
    _body(generationConfig={"thinkingConfig": {"thinkingLevel": "galaxy"}}),
    _body(generationConfig={"thinkingConfig": {"includeThoughts": "yes"}}),
])
def test_malformed_requests_raise_bad_request(body):
    with pytest.raises(errors.BadRequestError):
        gemini.parse_request(body, model="gemini-2.5-pro")


def test_model_is_required_from_the_path():
    with pytest.raises(errors.BadRequestError):
        gemini.parse_request(_body())


# --- render_request ------------------------------------------------------------------------------


def test_render_request_from_a_claude_conversation():
    req = anthropic.parse_request({
        "model": "gemini-2.5-pro", "max_tokens": 2048, "system": "be brief", "stop_sequences": ["END"],
        "temperature": 0.4, "top_p": 0.9, "top_k": 20,
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "tools": [{"name": "mcp__git/status", "description": "git", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "tool", "name": "mcp__git/status"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "status?"},
                                         {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                      "data": "iVBO"}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "claude thoughts", "signature": "claude-sig"},
                {"type": "tool_use", "id": "toolu_1", "name": "mcp__git/status", "input": {"short": True}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "clean"},
                                         {"type": "text", "text": "and now?"}]},
        ],
    })
    assert gemini.render_request(req) == {
        "contents": [
            {"role": "user", "parts": [{"text": "status?"}, {"inlineData": {"mimeType": "image/png", "data": "iVBO"}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "mcp__git_status", "args": {"short": True}},
                                         "thoughtSignature": SKIP}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "mcp__git_status", "response": {"result": "clean"}}},
                {"text": "and now?"}]},
        ],
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "tools": [{"functionDeclarations": [{"name": "mcp__git_status", "description": "git",
                                             "parametersJsonSchema": {"type": "object"}}]},
                  {"googleSearch": {}}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["mcp__git_status"]}},
        "generationConfig": {"maxOutputTokens": 2048, "temperature": 0.4, "topP": 0.9, "topK": 20,
                             "stopSequences": ["END"],
                             "thinkingConfig": {"thinkingBudget": 4096, "includeThoughts": True}},
    }


def test_render_request_echoes_gemini_signatures_byte_exact():
    body = _body(contents=[
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [
            {"text": "plan", "thought": True, "thoughtSignature": "t-sig"},
            {"text": "Calling.", "thoughtSignature": "p-sig"},
            {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "c-sig"},
            {"functionCall": {"name": "f", "args": {"a": 2}}},
            {"text": "", "thoughtSignature": "tail-sig"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"result": "1"}}},
                                   {"functionResponse": {"name": "f", "response": {"result": "2"}}}]},
    ])
    out = gemini.render_request(gemini.parse_request(body, model="m"))
    assert out["contents"] == [
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [
            {"text": "plan", "thought": True, "thoughtSignature": "t-sig"},
            {"text": "Calling.", "thoughtSignature": "p-sig"},
            {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "c-sig"},
            {"functionCall": {"name": "f", "args": {"a": 2}}, "thoughtSignature": SKIP},
            {"text": "", "thoughtSignature": "tail-sig"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"result": "1"}}},
                                   {"functionResponse": {"name": "f", "response": {"result": "2"}}}]},
    ]


@pytest.mark.parametrize(("thinking", "expected"), [
    (ir.Thinking(budget=8192), {"thinkingBudget": 8192, "includeThoughts": True}),
    (ir.Thinking(budget=0), {"thinkingBudget": 0, "includeThoughts": False}),
    (ir.Thinking(level="high"), {"thinkingLevel": "high", "includeThoughts": True}),
    (ir.Thinking(level="none"), {"thinkingLevel": "none", "includeThoughts": False}),
    (ir.Thinking(level="auto"), {"thinkingBudget": -1, "includeThoughts": True}),
    (ir.Thinking(level="low", budget=999, include_thoughts=False), {"thinkingLevel": "low", "includeThoughts": False}),
    (ir.Thinking(include_thoughts=True), {"includeThoughts": True}),
])
def test_render_request_thinking_config(thinking, expected):
    req = ir.Request("m", (ir.Message("user", (ir.Text("x"),)),), "openai_chat", thinking=thinking)
    assert gemini.render_request(req)["generationConfig"]["thinkingConfig"] == expected


def test_render_request_tool_results_with_images_and_errors():
    req = ir.Request("m", (
        ir.Message("assistant", (ir.ToolCall("c1", "shot", "{}"),)),
        ir.Message("tool", (ir.ToolResult("c1", (ir.Text("see"), ir.Image(url="data:image/jpeg;base64,/9j/"))),)),
        ir.Message("tool", (ir.ToolResult("orphan", "failed", name="other", is_error=True),)),
    ), "openai_chat", response_format=ir.ResponseFormat("json_object"))
    out = gemini.render_request(req)
    assert out["contents"][1] == {"role": "user", "parts": [
        {"functionResponse": {"name": "shot", "response": {"result": "see"}}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}},
        {"functionResponse": {"name": "other", "response": {"error": "failed"}}}]}
    assert out["generationConfig"] == {"responseMimeType": "application/json"}


# --- name sanitising -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "clean"), [
    ("read_file", "read_file"),
    ("mcp.server:tool-1", "mcp.server:tool-1"),
    ("github/create issue", "github_create_issue"),
    ("1st", "_1st"),
    ("x" * 80, "x" * 64),
])
def test_sanitize_keeps_names_gemini_accepts(name, clean):
    assert names.sanitize(name) == clean


def test_sanitised_names_come_back_as_declared_in_stream_and_non_stream():
    req = ir.Request("m", (ir.Message("user", (ir.Text("x"),)),), "openai_chat",
                     tools=(ir.Tool("github/create issue", parameters={"type": "object"}), ir.Tool("plain")))
    sent = gemini.render_request(req)["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in sent] == ["github_create_issue", "plain"]
    upstream = {"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "github_create_issue", "args": {"title": "t"}}},
        {"functionCall": {"name": "plain", "args": {}}}]}, "finishReason": "STOP"}]}
    starts = [d for d in _decode(_data(upstream), req) if d.kind == "tool_call_start"]
    assert [d.name for d in starts] == ["github/create issue", "plain"]
    resp = gemini.parse_response(upstream, req=req)
    assert [p.name for p in resp.parts] == ["github/create issue", "plain"]
    assert resp.stop_reason == "tool_use"


# --- non-stream responses ------------------------------------------------------------------------


def test_parse_response_maps_parts_usage_and_finish_reason():
    body = {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "hmm", "thought": True, "thoughtSignature": "t1"},
        {"text": "Answer", "thoughtSignature": "p1"},
        {"functionCall": {"name": "f", "args": {"x": 1}, "id": "fc1"}, "thoughtSignature": "c1"}]},
        "finishReason": "MAX_TOKENS"}],
        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 20, "thoughtsTokenCount": 30,
                          "cachedContentTokenCount": 60, "totalTokenCount": 150},
        "modelVersion": "gemini-2.5-pro", "responseId": "r1"}
    assert gemini.parse_response({"response": body, "traceId": "t"}) == ir.Response(
        id="r1", model="gemini-2.5-pro",
        parts=(ir.Reasoning("hmm", "t1", origin="gemini"), ir.Reasoning("", "p1", origin="gemini"), ir.Text("Answer"),
               ir.ToolCall("fc1", "f", '{"x":1}', signature="c1", origin="gemini")),
        stop_reason="max_tokens",
        usage=ir.Usage(input_tokens=100, output_tokens=50, cached_tokens=60, reasoning_tokens=30),
    )


@pytest.mark.parametrize(("body", "stop"), [
    ({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "SAFETY"}]}, "content_filter"),
    ({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "MALFORMED_FUNCTION_CALL"}]}, "error"),
    ({"promptFeedback": {"blockReason": "SAFETY"}}, "content_filter"),
    ({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]}, "end_turn"),
])
def test_parse_response_finish_reasons(body, stop):
    assert gemini.parse_response(body).stop_reason == stop


def test_parse_response_raises_on_error_body():
    with pytest.raises(errors.UpstreamError):  # what kind it is, the executor says (core.executors.classify)
        gemini.parse_response({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})


def test_render_response_for_a_gemini_client():
    resp = ir.Response("msg_1", "claude-sonnet-4-5", (
        ir.Reasoning("why", "claude-sig", origin="anthropic"),
        ir.Text("Let me check."),
        ir.ToolCall("toolu_1", "f", '{"a":1}', origin="anthropic"),
    ), stop_reason="end_turn", usage=ir.Usage(input_tokens=130, output_tokens=40, cached_tokens=100))
    req = gemini.parse_request(_body(), model="claude-sonnet-4-5")
    assert gemini.render_response(resp, req) == {
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "why", "thought": True},
            {"text": "Let me check."},
            {"functionCall": {"id": "toolu_1", "name": "f", "args": {"a": 1}}}]},
            "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 130, "candidatesTokenCount": 40, "totalTokenCount": 170,
                          "cachedContentTokenCount": 100},
        "modelVersion": "claude-sonnet-4-5",
        "responseId": "msg_1",
    }


# --- streams -------------------------------------------------------------------------------------


def test_stream_decoder_emits_deltas_and_dedupes_repeated_usage():
    req = gemini.parse_request(_body(), model="gemini-2.5-flash")
    usage = {"promptTokenCount": 9, "totalTokenCount": 9}
    raw = b"".join([
        _data({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}], "usageMetadata": usage,
               "modelVersion": "gemini-2.5-flash", "responseId": "r9"}),
        b": keep-alive\n\n",
        _data({"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}}], "usageMetadata": usage}),
        _data({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "MAX_TOKENS"}],
               "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 2, "totalTokenCount": 11}}),
    ])
    assert _decode(raw, req) == [
        ir.Delta("start", id="r9", model="gemini-2.5-flash"),
        ir.Delta("usage", usage=ir.Usage(input_tokens=9)),
        ir.Delta("text", text="Hel"),
        ir.Delta("text", text="lo"),
        ir.Delta("usage", usage=ir.Usage(input_tokens=9, output_tokens=2)),
        ir.Delta("stop", stop_reason="max_tokens"),
    ]


def test_stream_error_chunk_becomes_an_error_delta():
    req = gemini.parse_request(_body(), model="m")
    chunk = {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}
    (delta,) = _decode(_data(chunk), req)
    assert delta.kind == "error" and delta.error == chunk  # decoded only: the executor classifies it
    (bad,) = gemini.StreamDecoder(req).feed(sse.Frame(None, "{oops"))
    assert bad.kind == "error" and isinstance(bad.error, errors.UpstreamServerError)


def test_stream_encoder_holds_a_call_until_its_arguments_are_complete():
    req = gemini.parse_request(_body(), model="gpt-5")
    deltas = [
        ir.Delta("start", id="resp_1", model="gpt-5"),
        ir.Delta("text", text="Checking."),
        ir.Delta("tool_call_start", index=0, id="call_a", name="f"),
        ir.Delta("tool_args", index=0, text='{"q":'),
        ir.Delta("tool_args", index=0, text='"x"}'),
        ir.Delta("usage", usage=ir.Usage(input_tokens=40, output_tokens=12, reasoning_tokens=5)),
        ir.Delta("stop", stop_reason="end_turn"),
    ]
    meta = {"modelVersion": "gpt-5", "responseId": "resp_1"}
    assert _encode(deltas, req) == [
        _data({"candidates": [{"content": {"role": "model", "parts": [{"text": "Checking."}]}, "index": 0}], **meta}),
        _data({"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"id": "call_a", "name": "f", "args": {"q": "x"}}}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 7, "totalTokenCount": 52,
                              "thoughtsTokenCount": 5}, **meta}),
    ]


def test_stream_encoder_fail_writes_a_gemini_error_chunk():
    encoder = gemini.StreamEncoder(gemini.parse_request(_body(), model="m"))
    assert encoder.fail(errors.UpstreamServerError("gone")) == [
        b'data: {"error":{"code":502,"message":"gone","status":"INTERNAL"}}\n\n']
    assert encoder.close() == []


# --- envelopes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("err", "status", "name"), [
    (errors.BadRequestError("m"), 400, "INVALID_ARGUMENT"),
    (errors.ClientAuthError("m"), 401, "UNAUTHENTICATED"),
    (errors.UpstreamAuthError("m", status=403), 403, "PERMISSION_DENIED"),
    (errors.ModelNotFoundError("m"), 404, "NOT_FOUND"),
    (errors.PoolExhaustedError("m"), 429, "RESOURCE_EXHAUSTED"),
    (errors.PoolExhaustedError("m", status=503), 503, "UNAVAILABLE"),
    (errors.UpstreamRejectedError("m", status=422), 422, "INVALID_ARGUMENT"),
    (errors.UpstreamServerError("m"), 502, "INTERNAL"),
    (errors.UpstreamTimeoutError("m", status=504), 504, "DEADLINE_EXCEEDED"),
    (errors.ProxyError("m"), 500, "INTERNAL"),
])
def test_render_error_uses_google_envelope(err, status, name):
    assert gemini.render_error(err) == (status, {"error": {"code": status, "message": "m", "status": name}})


def test_render_models_and_count():
    class M:
        id, owned_by, created = "gemini-2.5-pro", "google", 0

    assert gemini.render_models([M()]) == {"models": [{
        "name": "models/gemini-2.5-pro", "displayName": "gemini-2.5-pro", "description": "gemini-2.5-pro",
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"]}]}
    assert gemini.render_count(7) == {"totalTokens": 7}


def test_count_tokens_body_wrapping_a_request_parses_and_keeps_the_original():
    body = {"generateContentRequest": {"model": "models/m", "contents": [{"role": "user", "parts": [{"text": "n"}]}]}}
    req = gemini.parse_request(body, model="m")
    assert req.messages == (ir.Message("user", (ir.Text("n"),)),) and req.original is body
