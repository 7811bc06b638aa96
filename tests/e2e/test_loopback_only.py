"""With no client API keys configured the proxy serves loopback clients only: a request relayed by a proxy on
the same host (nginx, a tunnel, the Lambda Web Adapter) names its real client in a header and is refused, even
though its TCP peer is 127.0.0.1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

BODY = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def open_proxy(start_proxy: Any) -> Any:
    return start_proxy(**{"api-keys": []})


def test_a_direct_loopback_client_needs_no_key(open_proxy: Any) -> None:
    resp = httpx.post(open_proxy.url + "/v1/chat/completions", json=BODY, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["choices"][0]["message"]["role"] == "assistant"


@pytest.mark.parametrize("header", [
    {"x-forwarded-for": "203.0.113.7"},
    {"x-forwarded-for": "127.0.0.1"},  # a spoofed hop is still a hop
    {"forwarded": "for=203.0.113.7;proto=https"},
    {"x-real-ip": "203.0.113.7"},
])
def test_a_proxied_client_is_refused_in_the_callers_dialect(open_proxy: Any, header: dict[str, str]) -> None:
    resp = httpx.post(open_proxy.url + "/v1/chat/completions", json=BODY, headers=header, timeout=10)
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "no api-keys are configured: this proxy serves loopback clients only"
    models = httpx.get(open_proxy.url + "/v1beta/models", headers=header, timeout=10)
    assert models.status_code == 403
    assert models.json()["error"]["status"] == "PERMISSION_DENIED"
