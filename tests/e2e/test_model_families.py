"""A model the catalog does not know, in a family a credential serves, reaches that family's credentials under
the client's own name with its thinking fields untouched; a name of no known family still gets a 404."""

from __future__ import annotations

import httpx
import pytest
from tests.conftest import CLIENT_KEY, UP

AUTH = {"authorization": f"Bearer {CLIENT_KEY}", "anthropic-version": "2023-06-01"}


def test_unknown_claude_model_goes_to_claude_with_thinking_as_sent(proxy, upstream):
    # Claude Code 2.1.197's default model, newer than the catalog; the budget is beyond any catalog model's range
    thinking = {"type": "enabled", "budget_tokens": 500000}
    resp = httpx.post(proxy.url + "/v1/messages", headers=AUTH, timeout=10, json={
        "model": "claude-opus-4-8", "max_tokens": 600001, "thinking": thinking,
        "messages": [{"role": "user", "content": "hello"}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["model"] == "claude-opus-4-8"
    sent = upstream.requests[-1]
    assert sent.path == "/v1/messages" and UP["claude"] in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "").removeprefix("Bearer "))
    assert sent.body["model"] == "claude-opus-4-8" and sent.body["thinking"] == thinking


@pytest.mark.parametrize("model", ["gpt-7-codex", "codex-next", "o9-mini"])
def test_unknown_openai_family_models_go_to_codex(proxy, upstream, model):
    resp = httpx.post(proxy.url + "/v1/responses", headers=AUTH, timeout=10, json={
        "model": model, "input": "hello", "reasoning": {"effort": "xhigh"}})
    assert resp.status_code == 200, resp.text
    sent = upstream.requests[-1]
    assert sent.path.endswith("/responses") and sent.body["model"] == model
    assert sent.body["reasoning"]["effort"] == "xhigh"  # not validated against a catalog entry
    assert sent.headers["authorization"] in (f"Bearer {UP['codex']}", f"Bearer {UP['codex2']}")


def test_unknown_gemini_model_goes_to_gemini(proxy, upstream):
    resp = httpx.post(proxy.url + "/v1beta/models/gemini-9-ultra:generateContent", headers=AUTH, timeout=10, json={
        "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 999999}}})
    assert resp.status_code == 200, resp.text
    sent = upstream.requests[-1]
    assert "/models/gemini-9-ultra:generateContent" in sent.path
    assert sent.body["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 999999


def test_unknown_family_and_listed_only_credentials_stay_not_found(start_proxy, upstream):
    # a Claude credential with its own model list serves only that list: no family fallback through it
    proxy = start_proxy(**{"claude-api-key": [{"api-key": UP["claude"], "base-url": upstream.url,
                                               "models": [{"name": "claude-sonnet-4-6", "alias": "sonnet"}]}]})
    for model in ("llama-9", "claude-opus-4-8"):
        resp = httpx.post(proxy.url + "/v1/messages", headers=AUTH, timeout=10, json={
            "model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hello"}]})
        assert resp.status_code == 404, resp.text
        assert resp.json()["type"] == "error" and model in resp.json()["error"]["message"]
    assert upstream.requests == []
