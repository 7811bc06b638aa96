"""Payload rules through the running proxy: the same rules whether the client streams or not."""

from __future__ import annotations

import httpx
import pytest
from tests.conftest import CLIENT_KEY

RULES = {
    "default": [{"models": [{"name": "gpt-5*", "protocol": "codex"}], "params": {"text.verbosity": "low"}}],
    "override": [{"models": [{"name": "gpt-5*"}], "params": {"reasoning.summary": "detailed"}}],
    "filter": [{"models": [{"name": "gpt-5*", "protocol": "codex"}], "params": ["prompt_cache_retention"]}],
}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_rules_apply_identically_to_stream_and_non_stream_requests(start_proxy, upstream, stream):
    proxy = start_proxy(payload=RULES)
    body = {"model": "gpt-5-codex", "stream": stream, "prompt_cache_retention": "24h",
            "messages": [{"role": "user", "content": "hi"}]}
    resp = httpx.post(proxy.url + "/v1/chat/completions", json=body, timeout=10,
                      headers={"authorization": f"Bearer {CLIENT_KEY}"})
    assert resp.status_code == 200, resp.text
    sent = upstream.requests[0].body
    assert sent["text"]["verbosity"] == "low"  # default: the client did not send it
    assert sent["reasoning"]["summary"] == "detailed"  # override
    assert "prompt_cache_retention" not in sent  # filter: removable for Codex by rule, kept otherwise
    assert sent["stream"] is True  # forced upstream field, after the rules


def test_a_default_never_overwrites_what_the_client_sent(start_proxy, upstream):
    proxy = start_proxy(payload=RULES)
    body = {"model": "gpt-5-codex", "input": "hi", "text": {"verbosity": "high"}}
    resp = httpx.post(proxy.url + "/v1/responses", json=body, timeout=10,
                      headers={"authorization": f"Bearer {CLIENT_KEY}"})
    assert resp.status_code == 200, resp.text
    assert upstream.requests[0].body["text"]["verbosity"] == "high"


def test_rules_for_another_protocol_leave_the_request_alone(start_proxy, upstream):
    proxy = start_proxy(payload={"override": [{"models": [{"name": "*", "protocol": "claude"}],
                                               "params": {"temperature": 0.1}}]})
    body = {"model": "compat-model", "messages": [{"role": "user", "content": "hi"}]}
    resp = httpx.post(proxy.url + "/v1/chat/completions", json=body, timeout=10,
                      headers={"authorization": f"Bearer {CLIENT_KEY}"})
    assert resp.status_code == 200, resp.text
    assert "temperature" not in upstream.requests[0].body
