"""Codex continuity through a running proxy: real client requests replayed, the upstream request inspected.

One client session must reach Codex with one ``prompt_cache_key`` (body) equal to its ``session_id`` header on
every turn; no client key, credential id or secret may appear upstream except the credential's own auth header.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from tests.conftest import CLIENT_KEY, FIXTURES, UP

if TYPE_CHECKING:
    import pytest
    from tests.fakes.upstream import FakeUpstream, Recorded
    from tests.servers import ThreadedServer

_DROPPED = ("authorization", "x-api-key", "content-length", "accept-encoding", "host")


def replay(proxy: ThreadedServer, name: str, *, headers: dict[str, str] | None = None,
           body: dict[str, Any] | None = None) -> httpx.Response:
    """Send a recorded client request (its path, headers and body) with our client key."""
    fixture = orjson.loads((FIXTURES / name).read_bytes())
    sent = {k: v for k, v in fixture["headers"].items() if k.lower() not in _DROPPED}
    sent["authorization"] = f"Bearer {CLIENT_KEY}"
    sent.update(headers or {})
    payload = {**fixture["body"], **(body or {})}
    resp = httpx.post(proxy.url + fixture["path"], content=orjson.dumps(payload), headers=sent, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp


def codex_requests(fake: FakeUpstream) -> list[Recorded]:
    return [r for r in fake.requests if r.path.endswith("/responses")]


def continuity_of(rec: Recorded, *, derived: bool = True) -> tuple[str, str]:
    key, header = rec.body["prompt_cache_key"], rec.headers["session_id"]
    assert key == header, "body prompt_cache_key and header session_id must carry the same key"
    if derived:
        assert uuid.UUID(key).version == 5  # derived keys are uuid5 values, never a raw client id
    return key, header


def assert_no_secret_upstream(rec: Recorded, credential_secret: str) -> None:
    """The client key appears nowhere; the credential's secret only in its authorization header."""
    headers = dict(rec.headers)
    assert headers.pop("authorization") == f"Bearer {credential_secret}"
    wire = orjson.dumps([headers, rec.body, rec.query]).decode()
    assert CLIENT_KEY not in wire
    for secret in UP.values():
        assert secret not in wire


OPENCODE_SESSION = "ses_df2c6bf02ffeadGVMubg7ZNvs5"


def test_opencode_session_keeps_one_cache_key_on_every_turn(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    replay(proxy, "opencode-request-1.json")
    replay(proxy, "opencode-request-2.json")
    replay(proxy, "opencode-request-1.json")
    turns = codex_requests(upstream)
    assert len(turns) == 3
    keys = {continuity_of(rec) for rec in turns}
    assert len(keys) == 1
    for rec in turns:  # the routing-only session id is never sent upstream, hashed or not
        assert OPENCODE_SESSION not in orjson.dumps([rec.headers, rec.body, rec.query]).decode()
    secrets = {rec.headers["authorization"] for rec in turns}
    assert len(secrets) == 1, "one session stays on one credential"
    for rec in turns:
        assert_no_secret_upstream(rec, rec.headers["authorization"].removeprefix("Bearer "))


def test_another_opencode_session_gets_another_cache_key(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    replay(proxy, "opencode-request-1.json")
    other = {"x-session-affinity": "ses_other000000000000000001", "x-session-id": "ses_other000000000000000001"}
    replay(proxy, "opencode-request-1.json", headers=other)
    replay(proxy, "opencode-request-2.json", headers=other)
    first, second, third = (continuity_of(r)[0] for r in codex_requests(upstream))
    assert first != second
    assert second == third


def test_cache_key_survives_a_proxy_restart(start_proxy: Callable[..., ThreadedServer],
                                            upstream: FakeUpstream) -> None:
    """The key is derived from the request, not remembered: a cold instance sends the same one."""
    before = start_proxy()
    replay(before, "opencode-request-1.json")
    before.stop()
    after = start_proxy()
    replay(after, "opencode-request-2.json")
    first, second = (continuity_of(r)[0] for r in codex_requests(upstream))
    assert first == second


def test_client_prompt_cache_key_and_retention_reach_codex(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    body = {"model": "gpt-5-codex", "input": "hi", "prompt_cache_key": "client-pck-1",
            "prompt_cache_retention": "24h"}
    resp = httpx.post(proxy.url + "/v1/responses", json=body, timeout=10,
                      headers={"authorization": f"Bearer {CLIENT_KEY}", "idempotency-key": "idem-ignored"})
    assert resp.status_code == 200, resp.text
    (rec,) = codex_requests(upstream)
    assert continuity_of(rec, derived=False) == ("client-pck-1", "client-pck-1")
    assert rec.body["prompt_cache_retention"] == "24h"


def test_prompt_cache_retention_is_filterable_by_a_payload_rule(start_proxy: Callable[..., ThreadedServer],
                                                               upstream: FakeUpstream) -> None:
    rule = {"models": [{"name": "*", "protocol": "codex"}], "params": ["prompt_cache_retention"]}
    proxy = start_proxy(payload={"filter": [rule]})
    body = {"model": "gpt-5-codex", "input": "hi", "prompt_cache_retention": "24h"}
    resp = httpx.post(proxy.url + "/v1/responses", json=body, headers={"authorization": f"Bearer {CLIENT_KEY}"},
                      timeout=10)
    assert resp.status_code == 200, resp.text
    (rec,) = codex_requests(upstream)
    assert "prompt_cache_retention" not in rec.body
    continuity_of(rec)


def test_client_key_as_prompt_cache_key_never_reaches_codex(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    body = {"model": "gpt-5-codex", "input": "hi", "prompt_cache_key": CLIENT_KEY}
    resp = httpx.post(proxy.url + "/v1/responses", json=body, headers={"authorization": f"Bearer {CLIENT_KEY}"},
                      timeout=10)
    assert resp.status_code == 200, resp.text
    (rec,) = codex_requests(upstream)
    key, _ = continuity_of(rec)
    assert key == str(uuid.uuid5(uuid.NAMESPACE_OID, "cli-proxy-api:codex:prompt-cache:" + CLIENT_KEY))
    assert_no_secret_upstream(rec, rec.headers["authorization"].removeprefix("Bearer "))


# --- Claude clients going to Codex ---------------------------------------------------------------------------


def claude_to_codex(start_proxy: Callable[..., ThreadedServer], fake: FakeUpstream) -> ThreadedServer:
    """Claude model names served by Codex credentials only (no Claude credential in the pool)."""
    models = [{"name": "gpt-5-codex", "alias": "claude-sonnet-4-5"}, {"name": "gpt-5-codex", "alias": "claude-opus-4-1"}]
    return start_proxy(**{"claude-api-key": [], "codex-api-key": [
        {"api-key": UP["codex"], "base-url": fake.codex_base_url, "models": models}]})


def claude_code_user_id(session: str) -> dict[str, Any]:
    uid = orjson.dumps({"device_id": "0f40de775a04", "account_uuid": "", "session_id": session}).decode()
    return {"metadata": {"user_id": uid}}


def test_claude_code_gets_one_key_per_model_and_user_id(start_proxy: Callable[..., ThreadedServer],
                                                       upstream: FakeUpstream) -> None:
    proxy = claude_to_codex(start_proxy, upstream)
    replay(proxy, "claude-code-request-1.json")
    replay(proxy, "claude-code-request-1.json", body={"messages": [{"role": "user", "content": "a later turn"}]})
    replay(proxy, "claude-code-request-1.json", body={"model": "claude-opus-4-1"})
    other = "0d6c7d8e-aaaa-bbbb-cccc-000000000001"
    replay(proxy, "claude-code-request-1.json", body=claude_code_user_id(other),
           headers={"X-Claude-Code-Session-Id": other})
    first, later, other_model, other_user = (continuity_of(r)[0] for r in codex_requests(upstream))
    assert first == later
    assert len({first, other_model, other_user}) == 3
    for rec in codex_requests(upstream):
        assert_no_secret_upstream(rec, UP["codex"])


def test_claude_code_key_is_the_same_after_a_restart(start_proxy: Callable[..., ThreadedServer],
                                                    upstream: FakeUpstream) -> None:
    before = claude_to_codex(start_proxy, upstream)
    replay(before, "claude-code-request-1.json")
    before.stop()
    after = claude_to_codex(start_proxy, upstream)
    replay(after, "claude-code-request-1.json")
    first, second = (continuity_of(r)[0] for r in codex_requests(upstream))
    assert first == second


# --- diagnostics ---------------------------------------------------------------------------------------------


def test_every_codex_request_logs_its_source_without_secrets(proxy: ThreadedServer, upstream: FakeUpstream,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cliproxy.continuity")
    auth = {"authorization": f"Bearer {CLIENT_KEY}"}
    sends = [({"prompt_cache_key": "pck-9"}, {}), ({}, {"idempotency-key": "idem-9"}),
             ({}, {"x-session-id": "ses-9"}), ({}, {}), ({"prompt_cache_key": CLIENT_KEY}, {})]
    for extra, headers in sends:
        body = {"model": "gpt-5-codex", "input": "hi", **extra}
        assert httpx.post(proxy.url + "/v1/responses", json=body, headers={**auth, **headers},
                          timeout=10).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "cliproxy.continuity"]
    sources = [line.split("source=")[1].split()[0] for line in lines]
    assert sources == ["prompt_cache_key", "idempotency_key", "session", "principal", "principal"]
    for line in lines:
        assert CLIENT_KEY not in line
        assert not any(secret in line for secret in UP.values())
