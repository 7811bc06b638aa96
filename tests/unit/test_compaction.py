"""Emulated compaction items: the summary travels wrapped and comes back as text, never raw."""

from __future__ import annotations

import pytest

from core import compaction, ir, signatures
from core.dialects import openai_responses


def test_summary_round_trips_and_foreign_values_are_not_ours():
    wrapped = compaction.wrap("we built the parser ✓")
    assert compaction.unwrap(wrapped) == "we built the parser ✓"
    assert "parser" not in wrapped
    for other in ("enc-compaction-fake-3", signatures.wrap("sig", "anthropic"), "Y3B4MTpzdW1tYXJ5O!!", None, 7):
        assert compaction.unwrap(other) is None


@pytest.mark.parametrize(("items", "expected"), [
    ([{"type": "message", "role": "user", "content": "x"}, {"type": "compaction_trigger"}], True),
    ([{"type": "compaction_trigger"}, {"type": "message", "role": "user", "content": "x"}], False),
    ("compaction_trigger", False),
    ([], False),
])
def test_trigger_is_the_last_input_item(items, expected):
    assert compaction.is_trigger({"input": items}) is expected


def test_a_replayed_summary_item_parses_to_user_text_and_codex_items_are_dropped():
    body = {"model": "m", "input": [
        compaction.item("the summary", "cmp_1"),
        {"type": "compaction", "encrypted_content": "codex-opaque"},
        {"type": "message", "role": "user", "content": "next"},
    ]}
    req = openai_responses.parse_request(body)
    assert compaction.has_summary(body)
    assert [m.role for m in req.messages] == ["user", "user"]
    assert req.messages[0].parts == (ir.Text(compaction.PREAMBLE + "the summary"),)
    assert not compaction.has_summary({"input": body["input"][1:]})


def test_summary_request_asks_last_and_calls_no_tool():
    req = ir.Request(model="m", messages=(ir.Message("user", (ir.Text("hi"),)),), dialect="openai_responses",
                     stream=True, tools=(ir.Tool(name="read"),))
    ask = compaction.summary_request(req)
    assert ask.stream is False and ask.tool_choice == ir.ToolChoice("none") and ask.tools == req.tools
    assert ask.messages[-1].parts == (ir.Text(compaction.SUMMARY_PROMPT),)
