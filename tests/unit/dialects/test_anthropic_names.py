"""Tool names Claude refuses are renamed on the way to Claude and restored on the way back."""

from __future__ import annotations

import re

import orjson

from core import ir, sse
from core.dialects import anthropic
from core.dialects.anthropic import names

_CLAUDE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


def _req(*tool_names: str, history: tuple[str, ...] = (), choice: str | None = None,
         raw: tuple[dict, ...] = ()) -> ir.Request:
    calls = tuple(ir.ToolCall(f"call_{i}", n, "{}") for i, n in enumerate(history))
    messages: tuple[ir.Message, ...] = (ir.Message("user", (ir.Text("hi"),)),)
    if calls:
        results = tuple(ir.ToolResult(c.id, "ok") for c in calls)
        messages += (ir.Message("assistant", calls), ir.Message("user", (*results, ir.Text("again"))))
    tools = tuple(ir.Tool(n, parameters={"type": "object"}) for n in tool_names)
    tools += tuple(ir.Tool(r.get("name", ""), raw=r) for r in raw)
    return ir.Request(model="claude-sonnet-4-5", messages=messages, dialect="openai_chat", tools=tools,
                      tool_choice=ir.ToolChoice("tool", choice) if choice else None)


def _wire_names(body: dict) -> list[str]:
    return [t["name"] for t in body["tools"]]


def _ev(event: str, payload: dict) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _stream_tool_names(req: ir.Request, wire: list[str]) -> list[str]:
    raw = b"".join(_ev("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "tool_use", "id": f"toolu_{i}",
                                                                 "name": n, "input": {}}})
                   for i, n in enumerate(wire))
    dec, decoder = sse.Decoder(), anthropic.StreamDecoder(req)
    deltas = [d for f in dec.feed(raw) + dec.close() for d in decoder.feed(f)]
    return [d.name for d in deltas if d.kind == "tool_call_start"]


def _parsed_tool_names(req: ir.Request, wire: list[str]) -> list[str]:
    body = {"id": "msg_1", "model": "claude-sonnet-4-5", "stop_reason": "tool_use",
            "content": [{"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": {}} for i, n in enumerate(wire)]}
    return [p.name for p in anthropic.parse_response(body, req=req).parts if isinstance(p, ir.ToolCall)]


def test_odd_names_reach_claude_valid_and_come_back_as_declared_in_stream_and_body():
    declared = ("github.create_issue", "server:tool", "read file", "ünïcode/tool")
    req = _req(*declared)
    wire = _wire_names(anthropic.render_request(req))
    assert wire == ["github_create_issue", "server_tool", "read_file", "_n_code_tool"]
    assert _stream_tool_names(req, wire) == list(declared)
    assert _parsed_tool_names(req, wire) == list(declared)


def test_valid_names_stay_byte_identical_and_are_never_remapped():
    declared = ("Bash", "mcp__github__create-issue", "x" * 128)
    req = _req(*declared, history=("Bash",), choice="Bash")
    body = anthropic.render_request(req)
    assert _wire_names(body) == list(declared)
    assert body["tool_choice"] == {"type": "tool", "name": "Bash"}
    assert body["messages"][1]["content"][0]["name"] == "Bash"
    assert names.restore_map(req) == {}
    assert _parsed_tool_names(req, list(declared)) == list(declared)


def test_history_calls_and_tool_choice_use_the_same_renamed_name_as_the_declaration():
    req = _req("github.create_issue", history=("github.create_issue",), choice="github.create_issue")
    body = anthropic.render_request(req)
    assert _wire_names(body) == ["github_create_issue"]
    assert body["tool_choice"] == {"type": "tool", "name": "github_create_issue"}
    assert body["messages"][1]["content"][0] == {"type": "tool_use", "id": "call_0", "name": "github_create_issue",
                                                 "input": {}}


def test_a_call_in_history_to_an_undeclared_odd_name_is_renamed_too():
    body = anthropic.render_request(_req("Bash", history=("old.tool",)))
    assert body["messages"][1]["content"][0]["name"] == "old_tool"


def test_a_renamed_name_that_clashes_gets_a_stable_hashed_suffix_and_the_valid_name_keeps_its_own():
    req = _req("a_b", "a.b", "a:b")
    wire = _wire_names(anthropic.render_request(req))
    assert wire[0] == "a_b"
    assert re.fullmatch(r"a_b_[0-9a-f]{8}", wire[1]) and re.fullmatch(r"a_b_[0-9a-f]{8}", wire[2])
    assert len(set(wire)) == 3
    assert _wire_names(anthropic.render_request(_req("a.b", "a:b", "a_b")))[:2] == [wire[1], wire[2]]
    assert _parsed_tool_names(req, wire) == ["a_b", "a.b", "a:b"]
    assert _stream_tool_names(req, wire) == ["a_b", "a.b", "a:b"]


def test_two_odd_names_that_sanitise_alike_get_the_first_plain_and_the_second_suffixed():
    wire = _wire_names(anthropic.render_request(_req("a.b", "a:b")))
    assert wire[0] == "a_b" and re.fullmatch(r"a_b_[0-9a-f]{8}", wire[1])


def test_long_names_are_cut_to_128_and_two_sharing_a_prefix_stay_distinct():
    first, second = "srv." + "x" * 200 + "1", "srv." + "x" * 200 + "2"
    req = _req(first, second)
    wire = _wire_names(anthropic.render_request(req))
    assert wire[0] == ("srv_" + "x" * 200)[:128]
    assert all(_CLAUDE_NAME.match(n) for n in wire) and wire[0] != wire[1]
    assert _parsed_tool_names(req, wire) == [first, second]


def test_a_valid_but_too_long_name_is_cut():
    long = "y" * 129
    req = _req(long)
    assert _wire_names(anthropic.render_request(req)) == ["y" * 128]
    assert _stream_tool_names(req, ["y" * 128]) == [long]


def test_a_renamed_function_does_not_take_the_name_of_a_server_tool():
    req = _req("web.search", raw=({"type": "web_search_20250305", "name": "web_search"},))
    wire = _wire_names(anthropic.render_request(req))
    assert wire[1] == "web_search" and re.fullmatch(r"web_search_[0-9a-f]{8}", wire[0])
    assert _parsed_tool_names(req, wire) == ["web.search", "web_search"]


def test_names_pass_through_unchanged_without_a_request():
    body = {"content": [{"type": "tool_use", "id": "toolu_1", "name": "a_b", "input": {}}]}
    assert [p.name for p in anthropic.parse_response(body).parts] == ["a_b"]
