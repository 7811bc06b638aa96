"""count_tokens: asked of Claude / Gemini when they serve the model; estimated locally otherwise."""

from __future__ import annotations

import httpx
from tests.conftest import CLIENT_KEY, UP

HEADERS = {"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01", "anthropic-beta": "token-counting-x"}
MESSAGES = [{"role": "user", "content": "count these words please"}]


def test_claude_counts_for_a_claude_client_through_its_own_endpoint(proxy, upstream):
    resp = httpx.post(proxy.url + "/v1/messages/count_tokens", headers=HEADERS, timeout=10,
                      json={"model": "claude-sonnet-4-5", "messages": MESSAGES})
    assert resp.status_code == 200, resp.text
    [sent] = upstream.requests
    assert sent.path.startswith("/v1/messages/count_tokens")
    assert sent.headers["authorization"] == f"Bearer {UP['claude']}"  # x-api-key only for api.anthropic.com
    assert sent.headers["anthropic-beta"] == "token-counting-x"
    assert sent.body["messages"] == MESSAGES
    assert resp.json()["input_tokens"] > 0


def test_gemini_counts_for_a_gemini_client(proxy, upstream):
    resp = httpx.post(proxy.url + "/v1beta/models/gemini-2.5-pro:countTokens", timeout=10,
                      headers={"x-goog-api-key": CLIENT_KEY},
                      json={"contents": [{"role": "user", "parts": [{"text": "count me"}]}]})
    assert resp.status_code == 200, resp.text
    [sent] = upstream.requests
    assert ":countTokens" in sent.path
    assert resp.json()["totalTokens"] > 0


def test_codex_models_are_counted_locally_without_an_upstream_call(proxy, upstream):
    resp = httpx.post(proxy.url + "/v1/messages/count_tokens", headers=HEADERS, timeout=10,
                      json={"model": "gpt-5-codex", "messages": MESSAGES})
    assert resp.status_code == 200, resp.text
    assert resp.json()["input_tokens"] > 0
    assert upstream.requests == []


def test_a_failing_counter_falls_back_to_the_local_estimate(proxy, upstream):
    upstream.fail(500, times=None, path="/v1/messages/count_tokens")
    resp = httpx.post(proxy.url + "/v1/messages/count_tokens", headers=HEADERS, timeout=10,
                      json={"model": "claude-sonnet-4-5", "messages": MESSAGES})
    assert resp.status_code == 200, resp.text
    assert resp.json()["input_tokens"] > 0
