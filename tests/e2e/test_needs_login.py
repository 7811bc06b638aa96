"""A refresh token the provider calls dead (invalid_grant, refresh_token_reused, refresh_token_expired) takes
the credential out of the pool as needs-login: never selected or refreshed again, until a new import of the
account. A transient token-endpoint failure (5xx) is retried with backoff instead."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import CLIENT_KEY, in_store

from core import oauth
from core.credentials import Credential, ModelAlias
from core.store import records

MODEL = "dead-token-model"
CRED_ID = "codex-needs-login"
AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}


def near_expiry(fake: Any, refresh_token: str) -> Credential:
    return Credential(id=CRED_ID, kind="codex", provider="codex", auth_type="oauth", access_token="at-old",
                      refresh_token=refresh_token, account_id="acct-1", email="dev@example.com",
                      expires_at=time.time() + 30, base_url=fake.codex_base_url,
                      models=(ModelAlias("gpt-5-codex", MODEL),))


def ask(url: str) -> httpx.Response:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=AUTH, timeout=20)


def token_calls(fake: Any) -> int:
    return sum(1 for r in fake.requests if r.path == "/oauth/token")


@pytest.mark.parametrize(("status", "body", "reason"), [
    (400, {"error": "invalid_grant", "error_description": "Refresh token revoked"}, "invalid_grant"),
    (401, {"error": {"code": "refresh_token_reused", "message": "already used"}}, "refresh_token_reused"),
    (400, {"error": {"code": "refresh_token_expired", "message": "expired"}}, "refresh_token_expired"),
])
def test_a_dead_refresh_token_marks_the_credential_needs_login(start_proxy: Any, upstream: Any, tmp_path: Path,
                                                               status: int, body: Any, reason: str) -> None:
    proxy = start_proxy()
    in_store(tmp_path, lambda s: records.save_credential(s, near_expiry(upstream, "rt-dead"), expected_version=0))
    upstream.fail(status, times=None, path="/oauth/token", body=body)

    assert ask(proxy.url).status_code >= 400
    stored = in_store(tmp_path, lambda s: records.get_credential(s, CRED_ID))
    assert stored.needs_login == reason and token_calls(upstream) == 1  # a refusal is not retried
    error = in_store(tmp_path, records.load_errors)[CRED_ID]
    assert (error["status"], error["type"]) == (502, reason)
    assert "rt-dead" not in orjson.dumps(error).decode()

    assert ask(proxy.url).status_code == 404  # no credential serves the model any more
    assert token_calls(upstream) == 1  # and nobody refreshes it again


def test_importing_the_account_again_clears_needs_login(start_proxy: Any, upstream: Any, tmp_path: Path) -> None:
    from core import authfiles
    from handlers import cli

    proxy = start_proxy()
    doc = {"type": "codex", "access_token": "at-new", "refresh_token": "rt-new", "account_id": "acct-1",
           "email": "dev@example.com", "expired": "2099-01-01T00:00:00Z"}
    same_account = authfiles.parse(doc, "auth.json").id
    dead = replace(near_expiry(upstream, "rt-dead"), id=same_account, needs_login="invalid_grant")
    in_store(tmp_path, lambda s: records.save_credential(s, dead, expected_version=0))
    assert ask(proxy.url).status_code == 404
    (tmp_path / "auth.json").write_text(orjson.dumps(doc).decode())
    (tmp_path / "cli.yaml").write_text(f"store: {{backend: sqlite, path: {tmp_path / 'cliproxy.db'}}}\n")
    assert cli.main(["auth", "import", "--config", str(tmp_path / "cli.yaml"), str(tmp_path / "auth.json")]) == 0
    imported = in_store(tmp_path, records.load_credentials)
    assert [c.needs_login for c in imported] == [None]


def test_a_transient_token_endpoint_failure_is_retried_with_backoff(start_proxy: Any, upstream: Any,
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oauth, "REFRESH_BACKOFF_S", 0.05)
    proxy = start_proxy()
    in_store(tmp_path, lambda s: records.save_credential(s, near_expiry(upstream, "rt-ok"), expected_version=0))
    upstream.fail(503, times=2, path="/oauth/token")

    assert ask(proxy.url).status_code == 200
    assert token_calls(upstream) == 3
    stored = in_store(tmp_path, lambda s: records.get_credential(s, CRED_ID))
    assert stored.needs_login is None and stored.access_token.startswith("fake-access-")
