"""OAuth login through the management API (what ``--remote`` does), against the fake's authorize and token
endpoints with their PKCE check: started on one instance, finished on another, stored like an import."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from core.store import records

MGMT = {"x-management-key": "mk-login"}


@pytest.fixture
def pair(start_proxy: Any, upstream: Any) -> tuple[str, str]:
    oauth = {"codex-token-url": upstream.url + "/oauth/token", "claude-token-url": upstream.url + "/v1/oauth/token",
             "codex-authorize-url": upstream.url + "/oauth/authorize",
             "claude-authorize-url": upstream.url + "/oauth/authorize"}
    extra = {"management-keys": ["mk-login"], "oauth": oauth}
    return start_proxy(**extra).url, start_proxy(**extra).url  # two instances, one store


def approve(url: str) -> str:
    """The user's browser: the provider's authorize page answers with the redirect carrying the code."""
    resp = httpx.get(url, follow_redirects=False, timeout=10)
    assert resp.status_code == 302
    return resp.headers["location"]


@pytest.mark.parametrize("provider", ["codex", "claude"])
def test_login_started_on_one_instance_finishes_on_the_other(pair: tuple[str, str], provider: str,
                                                             tmp_path: Any) -> None:
    a, b = pair
    started = httpx.post(f"{a}/v0/management/oauth/{provider}/start", headers=MGMT, timeout=10).json()
    assert started["flow"] == "code" and "code_challenge=" in started["url"] and "code_verifier" not in started["url"]
    assert httpx.get(f"{b}/v0/management/oauth/{started['state']}", headers=MGMT, timeout=10).json()["status"] == \
        "pending"

    redirect = approve(started["url"])
    done = httpx.post(f"{b}/v0/management/oauth/complete", headers=MGMT, timeout=10,
                      json={"state": started["state"], "redirect_url": redirect})
    assert done.status_code == 200, done.text
    cred_id = done.json()["id"]
    assert "login-access" not in done.text
    status = httpx.get(f"{a}/v0/management/oauth/{started['state']}", headers=MGMT, timeout=10).json()
    assert (status["status"], status["cred_id"]) == ("done", cred_id)
    listed = {c["id"]: c for c in httpx.get(f"{a}/v0/management/credentials", headers=MGMT,
                                            timeout=10).json()["credentials"]}
    assert (listed[cred_id]["kind"], listed[cred_id]["label"], listed[cred_id]["state"]) == (
        provider, "login@example.com", "ok")
    again = httpx.post(f"{a}/v0/management/oauth/complete", headers=MGMT, timeout=10,
                       json={"state": started["state"], "redirect_url": redirect})
    assert again.status_code == 409  # a login finishes once


def test_logging_in_again_keeps_settings_and_clears_needs_login(pair: tuple[str, str], tmp_path: Any) -> None:
    from tests.e2e.test_management import in_store

    a, b = pair

    def login_once() -> str:
        started = httpx.post(f"{a}/v0/management/oauth/codex/start", headers=MGMT, timeout=10).json()
        code = approve(started["url"]).split("code=")[1].split("&")[0]
        done = httpx.post(f"{b}/v0/management/oauth/complete", headers=MGMT, timeout=10,
                          json={"state": started["state"], "code": code})
        assert done.status_code == 200, done.text
        return str(done.json()["id"])

    cred_id = login_once()

    async def break_it(store: Any) -> None:
        cred = await records.get_credential(store, cred_id)
        await records.save_credential(store, replace(cred, needs_login="invalid_grant", priority=5, prefix="team"),
                                      expected_version=cred.version)

    in_store(tmp_path, break_it)
    assert login_once() == cred_id
    cred = in_store(tmp_path, lambda s: records.get_credential(s, cred_id))
    assert (cred.needs_login, cred.priority, cred.prefix) == (None, 5, "team")
    assert cred.access_token.startswith("login-access-")


def test_a_code_from_another_login_fails_the_pkce_check(pair: tuple[str, str]) -> None:
    a, b = pair
    first = httpx.post(f"{a}/v0/management/oauth/claude/start", headers=MGMT, timeout=10).json()
    second = httpx.post(f"{a}/v0/management/oauth/claude/start", headers=MGMT, timeout=10).json()
    code = approve(first["url"]).split("code=")[1].split("&")[0]
    wrong = httpx.post(f"{b}/v0/management/oauth/complete", headers=MGMT, timeout=10,
                       json={"state": second["state"], "code": code})
    assert wrong.status_code == 400
    status = httpx.get(f"{a}/v0/management/oauth/{second['state']}", headers=MGMT, timeout=10).json()
    assert status["status"] == "failed"
    assert httpx.get(f"{a}/v0/management/oauth/nope", headers=MGMT, timeout=10).status_code == 404
    assert httpx.post(f"{a}/v0/management/oauth/gemini/start", headers=MGMT, timeout=10).status_code == 404


@pytest.mark.parametrize("where", ["local", "remote"])
def test_cli_login_prints_the_url_and_takes_the_pasted_address(pair: tuple[str, str], upstream: Any, tmp_path: Any,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str], where: str) -> None:
    import yaml

    from handlers import cli

    monkeypatch.setenv("CLIPROXY_MANAGEMENT_KEY", "mk-login")
    local = tmp_path / "login.yaml"
    local.write_text(yaml.safe_dump({
        "store": {"backend": "sqlite", "path": str(tmp_path / "cliproxy.db")},
        "oauth": {"claude-authorize-url": upstream.url + "/oauth/authorize",
                  "claude-token-url": upstream.url + "/v1/oauth/token"}}))

    def paste(prompt: str) -> str:
        url = capsys.readouterr().out.split("Sign in at:\n  ", 1)[1].split()[0]
        return approve(url)

    monkeypatch.setattr("builtins.input", paste)
    target = ["--remote", pair[0]] if where == "remote" else ["--config", str(local)]
    assert cli.main(["auth", "login", "claude", "--no-browser", *target]) == 0
    cred_id = capsys.readouterr().out.strip().removeprefix("logged in ")
    cred = in_store_of(tmp_path, cred_id)
    assert (cred.kind, cred.email) == ("claude", "login@example.com")


def in_store_of(tmp_path: Any, cred_id: str) -> Any:
    from tests.e2e.test_management import in_store

    return in_store(tmp_path, lambda s: records.get_credential(s, cred_id))
