"""Encrypted reasoning survives a client of another dialect: Claude client -> Codex upstream and back."""

from __future__ import annotations

import httpx
from tests.conftest import CLIENT_KEY

from core import signatures

HEADERS = {"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01"}


def _turn(proxy, model: str, messages: list) -> httpx.Response:
    body = {"model": model, "max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": messages}
    return httpx.post(proxy.url + "/v1/messages", json=body, headers=HEADERS, timeout=10)


def test_codex_reasoning_shown_to_a_claude_client_is_replayed_to_codex_intact(proxy, upstream):
    first = _turn(proxy, "gpt-5-codex", [{"role": "user", "content": "think first"}])
    assert first.status_code == 200, first.text
    blocks = first.json()["content"]
    thinking = next(b for b in blocks if b["type"] == "thinking")
    origin, raw = signatures.unwrap(thinking["signature"])
    assert origin == "openai_responses"
    upstream.reset()

    history = [{"role": "user", "content": "think first"}, {"role": "assistant", "content": blocks},
               {"role": "user", "content": "and again"}]
    assert _turn(proxy, "gpt-5-codex", history).status_code == 200
    items = upstream.requests[0].body["input"]
    replayed = [i for i in items if i.get("type") == "reasoning"]
    assert [i["encrypted_content"] for i in replayed] == [raw]  # byte-exact, unwrapped


def test_codex_reasoning_is_not_sent_to_claude(proxy, upstream):
    first = _turn(proxy, "gpt-5-codex", [{"role": "user", "content": "think first"}])
    blocks = first.json()["content"]
    upstream.reset()
    history = [{"role": "user", "content": "think first"}, {"role": "assistant", "content": blocks},
               {"role": "user", "content": "and again"}]
    assert _turn(proxy, "claude-sonnet-4-5", history).status_code == 200
    sent = upstream.requests[0].body["messages"]
    assert not [b for m in sent if isinstance(m["content"], list) for b in m["content"] if b["type"] == "thinking"]
