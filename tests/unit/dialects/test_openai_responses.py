"""The Responses dialect: client bodies -> IR, IR -> Codex bodies, Codex SSE -> Deltas -> client streams."""

from __future__ import annotations

import json
from types import SimpleNamespace

import orjson
import pytest
from tests.conftest import FIXTURES

from core import errors, ir, sse
from core import thinking as core_thinking
from core.dialects import openai_chat, openai_responses, toolnames
from core.dialects.openai_chat import stream as chat_stream
from core.dialects.openai_responses import stream as responses_stream

LONG = "mcp__github_enterprise_server__search_repositories_with_a_very_long_descriptive_name_v2"
SHORT = "mcp__search_repositories_with_a_very_long_descriptive_name_v2"
READ_PARAMS = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
SEARCH_PARAMS = {"type": "object", "properties": {"q": {"type": "integer"}}}
CLOCK = SimpleNamespace(time=lambda: 1700000000.0)


def chat_request() -> dict:
    return {
        "model": "gpt-5-codex",
        "stream": True,
        "reasoning_effort": "high",
        "max_tokens": 1000,
        "temperature": 0.2,
        "top_p": 0.9,
        "prompt_cache_retention": "24h",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [
                {"type": "text", "text": "Read a.py and search"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
            ]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_A", "type": "function", "function": {"name": "read", "arguments": '{"path":"a.py"}'}},
                {"id": "call_B", "type": "function", "function": {"name": LONG, "arguments": '{"q":1}'}},
            ]},
            {"role": "tool", "tool_call_id": "call_A", "content": "print(1)"},
            {"role": "tool", "tool_call_id": "call_B", "content": [{"type": "text", "text": "no hits"}]},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "thanks"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "read", "description": "Read a file",
                                              "parameters": READ_PARAMS}},
            {"type": "function", "function": {"name": LONG, "parameters": SEARCH_PARAMS, "strict": True}},
            {"type": "web_search", "search_context_size": "low"},
        ],
        "tool_choice": {"type": "function", "function": {"name": LONG}},
    }


def test_chat_request_with_system_tools_parallel_calls_and_results_renders_the_codex_body():
    req = openai_chat.parse_request(chat_request())
    assert openai_responses.render_request(req) == {
        "model": "gpt-5-codex",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are terse."}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Read a.py and search"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBOR"},
            ]},
            {"type": "function_call", "call_id": "call_A", "name": "read", "arguments": '{"path":"a.py"}'},
            {"type": "function_call", "call_id": "call_B", "name": SHORT, "arguments": '{"q":1}'},
            {"type": "function_call_output", "call_id": "call_A", "output": "print(1)"},
            {"type": "function_call_output", "call_id": "call_B", "output": "no hits"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
        ],
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},  # the effort is thinking's, the forced fields the executor's
        "tools": [
            {"type": "function", "name": "read", "description": "Read a file", "parameters": READ_PARAMS,
             "strict": False},
            {"type": "function", "name": SHORT, "parameters": SEARCH_PARAMS, "strict": True},
            {"type": "web_search", "search_context_size": "low"},
        ],
        "tool_choice": {"type": "function", "name": SHORT},
        "prompt_cache_retention": "24h",
    }


@pytest.mark.parametrize(("thinking", "effort"), [
    (None, "medium"),
    (ir.Thinking(level="minimal"), "minimal"),
    (ir.Thinking(budget=-1), "auto"),
    (ir.Thinking(budget=0), "none"),
    (ir.Thinking(budget=512), "minimal"),
    (ir.Thinking(budget=1024), "low"),
    (ir.Thinking(budget=8192), "medium"),
    (ir.Thinking(budget=24576), "high"),
    (ir.Thinking(budget=24577), "xhigh"),
])
def test_codex_effort_is_written_once_by_thinking_from_the_level_or_budget(thinking, effort):
    req = ir.Request(model="m", messages=(ir.Message("user", (ir.Text("hi"),)),), dialect="anthropic",
                     thinking=thinking)
    body = openai_responses.render_request(req)
    assert body["reasoning"] == {"summary": "auto"}  # the renderer leaves the effort alone
    carried = core_thinking.carried_intent(req.thinking, "openai_responses")
    out = core_thinking.apply_thinking(body, "m", "anthropic", "openai_responses", carried=carried)
    assert out["reasoning"] == {"summary": "auto", "effort": effort}
    assert body["reasoning"] == {"summary": "auto"}  # apply_thinking returns a new body


def test_codex_body_keeps_only_own_reasoning_and_drops_empty_assistant_messages():
    own = ir.Reasoning("plan", signature="gAAA==", origin="openai_responses", item_id="rs_9")
    foreign = ir.Reasoning("claude thought", signature="sig", origin="anthropic")
    req = ir.Request(model="m", dialect="anthropic", messages=(
        ir.Message("system", (ir.Text("x-anthropic-billing-header: cc_version=1"), ir.Text("Be brief."))),
        ir.Message("user", (ir.Text("hi"),)),
        ir.Message("assistant", (foreign, own, ir.Text(""), ir.ToolCall("toolu_1", "read", "{}"))),
        ir.Message("user", (ir.ToolResult("toolu_1", (ir.Text("a"), ir.Image(data="AAA", media_type="image/png"))),
                            ir.Text("next"))),
    ), max_tokens=10, temperature=0.5, parallel_tool_calls=False)
    body = openai_responses.render_request(req)
    assert body["input"] == [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "plan"}], "encrypted_content": "gAAA=="},
        {"type": "function_call", "call_id": "toolu_1", "name": "read", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "toolu_1", "output": [
            {"type": "input_text", "text": "a"},
            {"type": "input_image", "image_url": "data:image/png;base64,AAA"},
        ]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "next"}]},
    ]
    assert body["parallel_tool_calls"] is False
    assert not {"max_output_tokens", "temperature", "top_p"} & body.keys()


def test_codex_body_maps_response_format_verbosity_and_builtin_aliases():
    req = ir.Request(
        model="m", dialect="openai_chat", messages=(ir.Message("user", (ir.Text("hi"),)),),
        tools=(ir.Tool("web_search_preview", raw={"type": "web_search_preview", "search_context_size": "high"}),
               ir.Tool("bash", raw={"type": "bash_20250124", "name": "bash"})),
        tool_choice=ir.ToolChoice("tool", "web_search_preview"),
        response_format=ir.ResponseFormat("json_schema", name="out", schema={"type": "object"}, strict=True),
        verbosity="low", prompt_cache_key="k1",
    )
    body = openai_responses.render_request(req)
    assert body["tools"] == [{"type": "web_search", "search_context_size": "high"}]
    assert body["tool_choice"] == {"type": "web_search"}
    assert body["text"] == {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"},
                                       "strict": True}, "verbosity": "low"}
    assert body["prompt_cache_key"] == "k1"


# ---- tool names ----

def test_tool_names_shorten_deterministically_with_unique_suffixes_and_restore():
    a = "x" * 70
    b = "x" * 64 + "yy"
    c = "mcp__server__" + "t" * 60
    short_taken = "x" * 64  # a declared short name is never renamed, and others avoid it
    mapping = toolnames.shorten_all([a, b, c, short_taken, "read"])
    assert mapping == {a: "x" * 62 + "_1", b: "x" * 62 + "_2", c: "mcp__" + "t" * 59}
    assert all(len(v) <= 64 for v in mapping.values())
    assert toolnames.restore_map([a, b, c, short_taken, "read"]) == {v: k for k, v in mapping.items()}
    assert toolnames.shorten_all(["read", "bash"]) == {}
    assert toolnames.shorten("mcp__a__b__" + "z" * 70) == ("mcp__" + "z" * 70)[:64]


def test_shortened_tool_names_round_trip_through_the_codex_stream_decoder():
    req = openai_chat.parse_request(chat_request())
    body = openai_responses.render_request(req)
    short = body["tools"][1]["name"]
    frame = _frame("response.output_item.added", {"output_index": 0, "item": {
        "id": "fc_1", "type": "function_call", "call_id": "call_Z", "name": short, "arguments": ""}})
    deltas = openai_responses.StreamDecoder(req).feed(frame)
    assert deltas == [ir.Delta("tool_call_start", index=0, id="call_Z", name=LONG)]


# ---- Codex SSE -> Deltas -> client streams ----

def _frame(kind: str, data: dict) -> sse.Frame:
    return sse.Frame(kind, json.dumps({"type": kind, **data}))


def codex_sse() -> bytes:
    """Reasoning with encrypted content, text, two parallel calls with streamed args, cached usage."""
    ev = [
        ("response.created", {"response": {"id": "resp_abc", "object": "response", "created_at": 1700000000,
                                           "status": "in_progress", "model": "gpt-5-codex", "output": []}}),
        ("response.in_progress", {"response": {"id": "resp_abc", "status": "in_progress"}}),
        ("response.output_item.added", {"output_index": 0, "item": {"id": "rs_1", "type": "reasoning",
                                                                    "summary": []}}),
        ("response.reasoning_summary_part.added", {"item_id": "rs_1", "output_index": 0, "summary_index": 0,
                                                   "part": {"type": "summary_text", "text": ""}}),
        ("response.reasoning_summary_text.delta", {"item_id": "rs_1", "output_index": 0, "summary_index": 0,
                                                   "delta": "Planning"}),
        ("response.reasoning_summary_text.done", {"item_id": "rs_1", "output_index": 0, "summary_index": 0,
                                                  "text": "Planning"}),
        ("response.reasoning_summary_text.delta", {"item_id": "rs_1", "output_index": 0, "summary_index": 1,
                                                   "delta": "Checking"}),
        ("response.output_item.done", {"output_index": 0, "item": {
            "id": "rs_1", "type": "reasoning", "encrypted_content": "gAAAAENC==",
            "summary": [{"type": "summary_text", "text": "Planning"}, {"type": "summary_text", "text": "Checking"}]}}),
        ("response.output_item.added", {"output_index": 1, "item": {"id": "msg_1", "type": "message",
                                                                    "role": "assistant", "content": []}}),
        ("response.content_part.added", {"item_id": "msg_1", "output_index": 1, "content_index": 0,
                                         "part": {"type": "output_text", "text": ""}}),
        ("response.output_text.delta", {"item_id": "msg_1", "output_index": 1, "content_index": 0,
                                        "delta": "Let me "}),
        ("response.output_text.delta", {"item_id": "msg_1", "output_index": 1, "content_index": 0,
                                        "delta": "look."}),
        ("response.output_text.done", {"item_id": "msg_1", "output_index": 1, "content_index": 0,
                                       "text": "Let me look."}),
        ("response.output_item.done", {"output_index": 1, "item": {
            "id": "msg_1", "type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me look."}]}}),
        ("response.output_item.added", {"output_index": 2, "item": {
            "id": "fc_1", "type": "function_call", "call_id": "call_A", "name": "read", "arguments": ""}}),
        ("response.function_call_arguments.delta", {"item_id": "fc_1", "output_index": 2, "delta": '{"path":'}),
        ("response.function_call_arguments.delta", {"item_id": "fc_1", "output_index": 2, "delta": '"a.py"}'}),
        ("response.function_call_arguments.done", {"item_id": "fc_1", "output_index": 2,
                                                   "arguments": '{"path":"a.py"}'}),
        ("response.output_item.done", {"output_index": 2, "item": {
            "id": "fc_1", "type": "function_call", "call_id": "call_A", "name": "read",
            "arguments": '{"path":"a.py"}'}}),
        ("response.output_item.added", {"output_index": 3, "item": {
            "id": "fc_2", "type": "function_call", "call_id": "call_B", "name": SHORT, "arguments": ""}}),
        ("response.function_call_arguments.delta", {"item_id": "fc_2", "output_index": 3, "delta": '{"q":1}'}),
        ("response.function_call_arguments.done", {"item_id": "fc_2", "output_index": 3, "arguments": '{"q":1}'}),
        ("response.output_item.done", {"output_index": 3, "item": {
            "id": "fc_2", "type": "function_call", "call_id": "call_B", "name": SHORT, "arguments": '{"q":1}'}}),
        ("response.completed", {"response": {
            "id": "resp_abc", "status": "completed", "model": "gpt-5-codex", "output": [],
            "usage": {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1024}, "output_tokens": 80,
                      "output_tokens_details": {"reasoning_tokens": 32}, "total_tokens": 1280}}}),
    ]
    return b"".join(sse.encode(json.dumps({"type": k, "sequence_number": i, **d}), k) for i, (k, d) in enumerate(ev))


def decode(req: ir.Request, raw: bytes) -> list[ir.Delta]:
    dec = openai_responses.StreamDecoder(req)
    frames = sse.Decoder().feed(raw)
    return [d for f in frames for d in dec.feed(f)]


CODEX_DELTAS = [
    ir.Delta("start", id="resp_abc", model="gpt-5-codex"),
    ir.Delta("reasoning", text="Planning", item_id="rs_1"),
    ir.Delta("reasoning", text="\n\nChecking", item_id="rs_1"),
    ir.Delta("reasoning", signature="gAAAAENC==", item_id="rs_1"),
    ir.Delta("text", text="Let me "),
    ir.Delta("text", text="look."),
    ir.Delta("tool_call_start", index=0, id="call_A", name="read"),
    ir.Delta("tool_args", index=0, text='{"path":'),
    ir.Delta("tool_args", index=0, text='"a.py"}'),
    ir.Delta("tool_call_start", index=1, id="call_B", name=LONG),
    ir.Delta("tool_args", index=1, text='{"q":1}'),
    ir.Delta("usage", usage=ir.Usage(input_tokens=1200, output_tokens=80, cached_tokens=1024, reasoning_tokens=32)),
    ir.Delta("stop", stop_reason="tool_use"),
]


def test_codex_stream_decodes_to_deltas():
    req = openai_chat.parse_request(chat_request())
    assert decode(req, codex_sse()) == CODEX_DELTAS


def test_codex_stream_becomes_chat_chunks(monkeypatch):
    monkeypatch.setattr(chat_stream, "time", CLOCK)
    body = chat_request()
    body["stream_options"] = {"include_usage": True}
    req = openai_chat.parse_request(body)
    enc = openai_chat.StreamEncoder(req)
    out = b"".join(b for d in decode(req, codex_sse()) for b in enc.feed(d)) + b"".join(enc.close())
    assert out.endswith(b"data: [DONE]\n\n")
    chunks = [orjson.loads(line[6:]) for line in out.split(b"\n\n") if line and line != b"data: [DONE]"]
    head = {"id": "resp_abc", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-5-codex"}

    def chunk(delta, finish=None):
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    assert chunks == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Planning"}),
        chunk({"reasoning_content": "\n\nChecking"}),
        chunk({"content": "Let me "}),
        chunk({"content": "look."}),
        chunk({"tool_calls": [{"index": 0, "id": "call_A", "type": "function",
                               "function": {"name": "read", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"path":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"a.py"}'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_B", "type": "function",
                               "function": {"name": LONG, "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"q":1}'}}]}),
        chunk({}, "tool_calls"),
        {**head, "choices": [], "usage": {
            "prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280,
            "prompt_tokens_details": {"cached_tokens": 1024},
            "completion_tokens_details": {"reasoning_tokens": 32}}},
    ]


def responses_client_request(**extra) -> ir.Request:
    body = {"model": "gpt-5-codex", "stream": True, "instructions": "Be terse.", "prompt_cache_key": "pck-1",
            "input": "read a.py", "tools": [{"type": "function", "name": "read", "parameters": READ_PARAMS},
                                            {"type": "function", "name": LONG, "parameters": SEARCH_PARAMS}], **extra}
    return openai_responses.parse_request(body)


def encode_responses(req: ir.Request, deltas: list[ir.Delta]) -> list[tuple[str, dict]]:
    enc = openai_responses.StreamEncoder(req)
    raw = b"".join(b for d in deltas for b in enc.feed(d)) + b"".join(enc.close())
    return [(f.event, json.loads(f.data)) for f in sse.Decoder().feed(raw)]


def test_codex_stream_becomes_the_full_responses_event_sequence(monkeypatch):
    monkeypatch.setattr(responses_stream, "time", CLOCK)
    req = responses_client_request()
    events = encode_responses(req, decode(req, codex_sse()))
    assert [e for e, _ in events] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done",
        "response.completed",
    ]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert all(d["type"] == e for e, d in events)
    assert events[8][1]["item"] == {
        "id": "rs_1", "type": "reasoning", "encrypted_content": "gAAAAENC==",
        "summary": [{"type": "summary_text", "text": "Planning\n\nChecking"}]}
    assert events[17][1] == {"type": "response.function_call_arguments.delta", "item_id": "fc_abc_2",
                             "output_index": 2, "delta": '{"path":', "sequence_number": 17}
    final = events[-1][1]["response"]
    assert final["id"] == "resp_abc" and final["status"] == "completed" and final["created_at"] == 1700000000
    assert final["instructions"] == "Be terse." and final["prompt_cache_key"] == "pck-1"
    assert final["usage"] == {"input_tokens": 1200,
                              "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
                              "output_tokens": 80, "output_tokens_details": {"reasoning_tokens": 32},
                              "total_tokens": 1280}
    assert [(o["type"], o["id"]) for o in final["output"]] == [
        ("reasoning", "rs_1"), ("message", "msg_abc_1"), ("function_call", "fc_abc_2"), ("function_call", "fc_abc_3")]
    assert final["output"][1]["content"][0]["text"] == "Let me look."
    assert final["output"][3] == {"id": "fc_abc_3", "type": "function_call", "status": "completed",
                                  "arguments": '{"q":1}', "call_id": "call_B", "name": LONG}


def test_responses_events_validate_against_the_openai_sdk_types():
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    adapter = TypeAdapter(ResponseStreamEvent)
    req = responses_client_request()
    for _, data in encode_responses(req, decode(req, codex_sse())):
        adapter.validate_python(data)


def test_text_only_stream_has_exact_frames(monkeypatch):
    monkeypatch.setattr(responses_stream, "time", CLOCK)
    req = openai_responses.parse_request({"model": "m", "input": "hi", "stream": True})
    enc = openai_responses.StreamEncoder(req)
    first = enc.feed(ir.Delta("start", id="resp_1", model="m"))
    assert first[0].startswith(b'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_1"')
    assert len(first) == 2
    assert enc.feed(ir.Delta("text", text="Hi")) == [
        b'event: response.output_item.added\ndata: {"type":"response.output_item.added","output_index":0,"item":'
        b'{"id":"msg_1_0","type":"message","status":"in_progress","role":"assistant","content":[]},'
        b'"sequence_number":2}\n\n',
        b'event: response.content_part.added\ndata: {"type":"response.content_part.added","item_id":"msg_1_0",'
        b'"output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],'
        b'"text":""},"sequence_number":3}\n\n',
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","item_id":"msg_1_0",'
        b'"output_index":0,"content_index":0,"delta":"Hi","logprobs":[],"sequence_number":4}\n\n',
    ]
    enc.feed(ir.Delta("stop", stop_reason="max_tokens"))
    tail = enc.close()
    assert [f.split(b"\n")[0] for f in tail] == [
        b"event: response.output_text.done", b"event: response.content_part.done",
        b"event: response.output_item.done", b"event: response.incomplete"]
    final = orjson.loads(tail[-1].split(b"data: ", 1)[1])
    assert final["response"]["status"] == "incomplete"
    assert final["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert enc.close() == [] and enc.feed(ir.Delta("text", text="late")) == []


def test_responses_encoder_fail_emits_error_then_response_failed():
    req = openai_responses.parse_request({"model": "m", "input": "hi"})
    enc = openai_responses.StreamEncoder(req)
    enc.feed(ir.Delta("text", text="partial"))
    frames = [f for b in enc.fail(errors.UpstreamRateLimitError("slow down", code="usage_limit_reached"))
              for f in sse.Decoder().feed(b)]
    assert frames[0].event == "error"
    assert json.loads(frames[0].data) == {"type": "error", "code": "usage_limit_reached", "message": "slow down",
                                          "param": None, "sequence_number": 5}
    failed = json.loads(frames[1].data)
    assert frames[1].event == "response.failed" and failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "usage_limit_reached", "message": "slow down"}
    assert enc.close() == []


def test_codex_error_events_become_error_deltas_carrying_the_event():
    req = responses_client_request()
    dec = openai_responses.StreamDecoder(req)
    [limited] = dec.feed(_frame("error", {"code": "rate_limit_exceeded", "message": "Rate limit reached"}))
    assert limited.kind == "error" and limited.error["code"] == "rate_limit_exceeded"
    [failed] = dec.feed(_frame("response.failed", {"response": {"status": "failed", "error": {
        "code": "usage_limit_reached", "message": "The usage limit has been reached"}}}))
    assert failed.kind == "error" and failed.error["response"]["error"]["code"] == "usage_limit_reached"


def test_codex_decoder_takes_whole_arguments_and_unstreamed_items_when_no_delta_came():
    req = responses_client_request()
    dec = openai_responses.StreamDecoder(req)
    call = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "read", "arguments": ""}
    assert dec.feed(_frame("response.output_item.added", {"output_index": 0, "item": call})) == [
        ir.Delta("tool_call_start", index=0, id="call_1", name="read")]
    assert dec.feed(_frame("response.function_call_arguments.done",
                           {"item_id": "fc_1", "output_index": 0, "arguments": "{}"})) == [
        ir.Delta("tool_args", index=0, text="{}")]
    assert dec.feed(_frame("response.output_item.done", {"output_index": 0, "item": {**call, "arguments": "{}"}})) == []
    late = {"id": "fc_2", "type": "function_call", "call_id": "call_2", "name": "read", "arguments": '{"a":1}'}
    assert dec.feed(_frame("response.output_item.done", {"output_index": 1, "item": late})) == [
        ir.Delta("tool_call_start", index=1, id="call_2", name="read"), ir.Delta("tool_args", index=1, text='{"a":1}')]
    msg = {"id": "msg_1", "type": "message", "content": [{"type": "output_text", "text": "whole"}]}
    assert dec.feed(_frame("response.output_item.done", {"output_index": 2, "item": msg})) == [
        ir.Delta("text", text="whole")]
    assert dec.feed(_frame("response.incomplete", {"response": {
        "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}})) == [
        ir.Delta("stop", stop_reason="max_tokens")]
    assert dec.feed(sse.Frame(None, "[DONE]")) == [] and dec.feed(sse.Frame("x", "{}")) == []


# ---- client bodies -> IR ----

def test_responses_items_parse_into_turns_with_encrypted_reasoning():
    body = {
        "model": "gpt-5-codex", "instructions": "Be terse.", "stream": True, "max_output_tokens": 500,
        "reasoning": {"effort": "high", "summary": "detailed"}, "parallel_tool_calls": False,
        "prompt_cache_key": "pck", "prompt_cache_retention": "24h", "tool_choice": {"type": "function", "name": "read"},
        "text": {"format": {"type": "json_schema", "name": "o", "schema": {"type": "object"}}, "verbosity": "low"},
        "tools": [{"type": "function", "name": "read", "parameters": READ_PARAMS},
                  {"type": "web_search", "external_web_access": False}],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
            {"role": "user", "content": [
                {"type": "input_text", "text": "see"},
                {"type": "input_image", "image_url": "data:image/jpeg;base64,/9j/"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "s1"},
                                                           {"type": "summary_text", "text": "s2"}],
             "encrypted_content": "gAAA=="},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
            {"type": "function_call", "call_id": "call_1", "name": "read", "arguments": '{"path":"a"}'},
            {"type": "function_call", "call_id": "call_2", "name": "read", "arguments": '{"path":"b"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "A"},
            {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "B"}]},
            {"type": "item_reference", "id": "x"},
        ],
    }
    req = openai_responses.parse_request(body)
    assert req.original is body
    assert req.messages == (
        ir.Message("system", (ir.Text("Be terse."),)),
        ir.Message("system", (ir.Text("dev"),)),
        ir.Message("user", (ir.Text("see"), ir.Image(data="/9j/", media_type="image/jpeg"),
                            ir.File(data="JVBE", media_type="application/pdf", filename="a.pdf"))),
        ir.Message("assistant", (
            ir.Reasoning("s1\n\ns2", signature="gAAA==", origin="openai_responses", item_id="rs_1"),
            ir.Text("ok"),
            ir.ToolCall("call_1", "read", '{"path":"a"}', origin="openai_responses"),
            ir.ToolCall("call_2", "read", '{"path":"b"}', origin="openai_responses"))),
        ir.Message("tool", (ir.ToolResult("call_1", "A"), ir.ToolResult("call_2", (ir.Text("B"),)))),
    )
    assert req.thinking == ir.Thinking(level="high", summary="detailed")
    assert req.tools[1] == ir.Tool("web_search", raw={"type": "web_search", "external_web_access": False})
    assert req.tool_choice == ir.ToolChoice("tool", "read")
    assert req.response_format == ir.ResponseFormat("json_schema", name="o", schema={"type": "object"})
    assert (req.verbosity, req.max_tokens, req.parallel_tool_calls, req.stream) == ("low", 500, False, True)
    assert (req.prompt_cache_key, req.prompt_cache_retention) == ("pck", "24h")
    # and back to Codex, the encrypted reasoning is kept byte-exact
    items = openai_responses.render_request(req)["input"]
    assert items[3] == {"type": "reasoning", "summary": [{"type": "summary_text", "text": "s1\n\ns2"}],
                        "encrypted_content": "gAAA=="}
    assert items[5]["type"] == "function_call" and items[8] == {
        "type": "function_call_output", "call_id": "call_2", "output": "B"}


def test_string_input_is_one_user_message_and_model_kwarg_wins():
    req = openai_responses.parse_request({"input": "hello"}, model="gpt-5")
    assert req.model == "gpt-5" and req.messages == (ir.Message("user", (ir.Text("hello"),)),)


@pytest.mark.parametrize(("body", "message"), [
    ([], "request body must be a JSON object"),
    ({"input": "x"}, "model: must be a non-empty string"),
    ({"model": 5, "input": "x"}, "model: must be a non-empty string"),
    ({"model": "m"}, "input: must be a string or an array of items"),
    ({"model": "m", "input": 3}, "input: must be a string or an array of items"),
    ({"model": "m", "input": ["x"]}, "input[0]: must be an object"),
    ({"model": "m", "input": "x", "stream": "yes"}, "stream: must be a boolean"),
    ({"model": "m", "input": "x", "max_output_tokens": "9"}, "max_output_tokens: must be a non-negative integer"),
    ({"model": "m", "input": "x", "temperature": "hot"}, "temperature: must be a number"),
    ({"model": "m", "input": "x", "tools": {}}, "tools: must be an array"),
    ({"model": "m", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name: must be a non-empty string"),
    ({"model": "m", "input": "x", "reasoning": {"effort": "huge"}}, "reasoning.effort: unsupported value 'huge'"),
])
def test_invalid_responses_bodies_are_bad_requests(body, message):
    with pytest.raises(errors.BadRequestError) as caught:
        openai_responses.parse_request(body)
    assert caught.value.message == message


def test_codex_cli_fixture_parses_and_renders():
    body = json.loads((FIXTURES / "codex-cli-request-1.json").read_text())["body"]
    req = openai_responses.parse_request(body)
    assert req.model == "gpt-5-codex" and req.stream and req.prompt_cache_key == body["prompt_cache_key"]
    assert [m.role for m in req.messages] == ["system", "system", "user", "user"]
    assert req.thinking == ir.Thinking(summary="auto")
    raw_tools = [t.raw for t in req.tools if t.raw is not None]
    assert {"type": "web_search", "external_web_access": True} in raw_tools or any(
        t["type"] == "web_search" for t in raw_tools)
    codex = openai_responses.render_request(req)
    assert [i["role"] for i in codex["input"]] == ["developer", "developer", "user", "user"]
    assert len(codex["tools"]) == len(body["tools"])


# ---- non-stream objects, errors, listings ----

def test_non_stream_response_round_trips_through_the_ir():
    completed = {
        "id": "resp_9", "object": "response", "created_at": 1700000001, "status": "completed", "model": "gpt-5",
        "output": [
            {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}],
             "encrypted_content": "enc"},
            {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Hi", "annotations": []}]},
            {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "read", "arguments": "{}",
             "status": "completed"},
        ],
        "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
                  "output_tokens": 5,
                  "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 15},
    }
    resp = openai_responses.parse_response(completed)
    assert resp == ir.Response(
        id="resp_9", model="gpt-5", created=1700000001, stop_reason="tool_use",
        parts=(ir.Reasoning("think", signature="enc", origin="openai_responses", item_id="rs_1"), ir.Text("Hi"),
               ir.ToolCall("call_1", "read", "{}", origin="openai_responses")),
        usage=ir.Usage(input_tokens=10, output_tokens=5, cached_tokens=4, reasoning_tokens=2))
    req = openai_responses.parse_request({"model": "gpt-5", "input": "hi", "instructions": "I"})
    out = openai_responses.render_response(resp, req)
    assert out["output"] == [
        {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}],
         "encrypted_content": "enc"},
        {"id": "msg_9_1", "type": "message", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi"}]},
        {"id": "fc_9_2", "type": "function_call", "status": "completed", "arguments": "{}", "call_id": "call_1",
         "name": "read"},
    ]
    assert (out["id"], out["status"], out["instructions"], out["usage"]) == ("resp_9", "completed", "I",
                                                                              completed["usage"])
    from openai.types.responses import Response

    Response.model_validate(out)


def test_failed_non_stream_response_raises_its_upstream_error():
    with pytest.raises(errors.UpstreamServerError):
        openai_responses.parse_response({"object": "response", "status": "failed",
                                         "error": {"code": "server_error", "message": "x"}})


@pytest.mark.parametrize(("err", "status", "error"), [
    (errors.BadRequestError("bad", param="model"), 400,
     {"message": "bad", "type": "invalid_request_error", "param": "model"}),
    (errors.ClientAuthError("no key"), 401,
     {"message": "no key", "type": "authentication_error", "code": "invalid_api_key"}),
    (errors.ModelNotFoundError("unknown model x"), 404,
     {"message": "unknown model x", "type": "invalid_request_error", "code": "model_not_found"}),
    (errors.PoolExhaustedError("cooling", retry_after=9), 429, {"message": "cooling", "type": "rate_limit_error"}),
    (errors.PoolExhaustedError("none usable", status=503), 503, {"message": "none usable", "type": "server_error"}),
    (errors.UpstreamRejectedError("too long", code="context_length_exceeded"), 400,
     {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}),
    (errors.UpstreamRateLimitError("rl"), 502, {"message": "rl", "type": "server_error"}),
    (errors.UpstreamAuthError("auth"), 502, {"message": "auth", "type": "server_error"}),
    (errors.UpstreamTimeoutError("slow"), 502, {"message": "slow", "type": "server_error"}),
    (errors.UpstreamServerError("down"), 502, {"message": "down", "type": "server_error"}),
])
@pytest.mark.parametrize("dialect", [openai_chat, openai_responses])
def test_every_error_class_renders_in_the_openai_envelope(dialect, err, status, error):
    assert dialect.render_error(err) == (status, {"error": error})


@pytest.mark.parametrize("dialect", [openai_chat, openai_responses])
def test_models_render_as_an_openai_list(dialect):
    models = [SimpleNamespace(id="gpt-5", owned_by="openai", created=1700000000)]
    assert dialect.render_models(models) == {
        "object": "list", "data": [{"id": "gpt-5", "object": "model", "created": 1700000000, "owned_by": "openai"}]}


def test_count_renders_input_tokens():
    assert openai_responses.render_count(42) == {"object": "response.input_tokens", "input_tokens": 42}


def test_signed_thinking_blocks_from_another_upstream_become_separate_reasoning_items():
    req = openai_responses.parse_request({"model": "claude", "input": "hi", "stream": True})
    events = encode_responses(req, [
        ir.Delta("start", id="msg_01", model="claude"),
        ir.Delta("reasoning", text="first"), ir.Delta("reasoning", signature="sig1"),
        ir.Delta("reasoning", text="second"), ir.Delta("reasoning", signature="sig2"),
        ir.Delta("text", text="answer"), ir.Delta("stop", stop_reason="end_turn"),
    ])
    final = events[-1][1]["response"]
    assert events[-1][0] == "response.completed"
    assert [(o["type"], o.get("encrypted_content"), o.get("summary")) for o in final["output"]] == [
        ("reasoning", "sig1", [{"type": "summary_text", "text": "first"}]),
        ("reasoning", "sig2", [{"type": "summary_text", "text": "second"}]),
        ("message", None, None),
    ]
    assert final["id"] == "msg_01" and final["usage"]["total_tokens"] == 0


def test_failed_and_incomplete_events_validate_against_the_openai_sdk_types():
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    adapter = TypeAdapter(ResponseStreamEvent)
    req = openai_responses.parse_request({"model": "m", "input": "hi"})
    enc = openai_responses.StreamEncoder(req)
    enc.feed(ir.Delta("text", text="a"))
    for frame in sse.Decoder().feed(b"".join(enc.fail(errors.UpstreamServerError("down")))):
        adapter.validate_python(json.loads(frame.data))
    events = encode_responses(req, [ir.Delta("text", text="a"), ir.Delta("stop", stop_reason="max_tokens")])
    adapter.validate_python(events[-1][1])
