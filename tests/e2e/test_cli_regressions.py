"""Requests the real coding CLIs sent through the proxy that once failed, replayed with httpx.

Each test reproduces what one CLI version sent (headers and body shape as observed) and checks the answer the
CLI needs, so the fix holds without running the CLI in ``make test``.
"""

from __future__ import annotations

import httpx
import orjson
from tests.conftest import CLIENT_KEY

# Claude Code 2.1.197, `claude -p --continue --model gpt-5-codex`: for a model it does not know it turns on
# the mid-conversation-system beta and sends a `role: "system"` message inside `messages`.
_CLAUDE_CODE_HEADERS = {
    "x-api-key": CLIENT_KEY,
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
                      "mid-conversation-system-2026-04-07,effort-2025-11-24",
    "accept": "application/json",  # although the body streams
    "x-app": "cli",
    "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
}


def _claude_code_body(model: str) -> dict:
    return {
        "model": model,
        "max_tokens": 32000,
        "stream": True,
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "system": [{"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>date</system-reminder>"},
                                         {"type": "text", "text": "say hello"}]},
            {"role": "system", "content": "Available agent types for the Agent tool: ..."},
            {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
            {"role": "user", "content": [{"type": "text", "text": "second turn",
                                          "cache_control": {"type": "ephemeral"}}]},
        ],
    }


def _text_deltas(sse: str) -> str:
    """What `claude -p` prints: only content_block_delta text_delta events count."""
    out = []
    for line in sse.splitlines():
        if line.startswith("data:"):
            event = orjson.loads(line[5:])
            delta = event.get("delta") or {}
            if event.get("type") == "content_block_delta" and delta.get("type") == "text_delta":
                out.append(delta["text"])
    return "".join(out)


def test_claude_code_mid_conversation_system_message_reaches_codex_in_place(proxy, upstream):
    resp = httpx.post(proxy.url + "/v1/messages?beta=true", json=_claude_code_body("gpt-5-codex"),
                      headers=_CLAUDE_CODE_HEADERS, timeout=10)
    assert resp.status_code == 200, resp.text
    assert _text_deltas(resp.text) == "echo gpt-5-codex: second turn"
    (sent,) = upstream.requests
    roles = [(item["role"], item["content"][0]["text"]) for item in sent.body["input"]]
    assert roles == [
        ("developer", "You are a Claude agent."),
        ("user", "<system-reminder>date</system-reminder>"),
        ("developer", "Available agent types for the Agent tool: ..."),
        ("assistant", "hello"),
        ("user", "second turn"),
    ]


def test_claude_code_mid_conversation_system_message_passes_through_to_claude(proxy, upstream):
    body = _claude_code_body("claude-sonnet-4-6")
    resp = httpx.post(proxy.url + "/v1/messages?beta=true", json=body, headers=_CLAUDE_CODE_HEADERS, timeout=10)
    assert resp.status_code == 200, resp.text
    assert _text_deltas(resp.text).endswith(": second turn")
    (sent,) = upstream.requests
    assert sent.body["messages"] == body["messages"]
    assert "mid-conversation-system-2026-04-07" in sent.headers["anthropic-beta"]


def test_anthropic_message_with_unknown_role_is_a_400_in_anthropic_envelope(proxy, upstream):
    body = _claude_code_body("gpt-5-codex")
    body["messages"][1]["role"] = "tool"
    resp = httpx.post(proxy.url + "/v1/messages", json=body, headers=_CLAUDE_CODE_HEADERS, timeout=10)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == "messages.1.role: must be 'user', 'assistant' or 'system'"
    assert upstream.requests == []


def test_anthropic_messages_of_only_system_turns_are_a_400(proxy, upstream):
    body = _claude_code_body("gpt-5-codex")
    body["messages"] = [{"role": "system", "content": "only this"}]
    resp = httpx.post(proxy.url + "/v1/messages", json=body, headers=_CLAUDE_CODE_HEADERS, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "messages: must contain a 'user' or 'assistant' turn"
    assert upstream.requests == []
