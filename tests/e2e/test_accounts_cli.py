"""``cliproxy auth list|reset|disable|enable`` and ``cliproxy usage``, on the local store and with ``--remote``
against a running proxy's management API: the same answers both ways, no token printed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from tests.conftest import CLIENT_KEY

from core.store import records
from handlers import cli

MGMT_KEY = "mk-cli-management-key"
UPLOAD = {"type": "codex", "access_token": "at-cli-secret", "refresh_token": "rt-cli-secret",
          "account_id": "acct-cli", "email": "cli@example.com", "expired": "2099-01-01T00:00:00Z"}


@pytest.fixture
def deployed(start_proxy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """(proxy URL, local config path, stored credential id) with three requests already served."""
    url = start_proxy(**{"management-keys": [MGMT_KEY]}).url
    monkeypatch.setenv("CLIPROXY_MANAGEMENT_KEY", MGMT_KEY)
    cred_id = httpx.post(url + "/v0/management/credentials", json=UPLOAD, timeout=10,
                         headers={"x-management-key": MGMT_KEY}).json()["id"]
    chat = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):
        assert httpx.post(url + "/v1/chat/completions", json=chat, timeout=10,
                          headers={"authorization": f"Bearer {CLIENT_KEY}"}).status_code == 200
    local = tmp_path / "local.yaml"
    local.write_text(yaml.safe_dump({"store": {"backend": "sqlite", "path": str(tmp_path / "cliproxy.db")}}))
    return url, str(local), cred_id


@pytest.mark.parametrize("where", ["local", "remote"])
def test_list_disable_enable_reset(deployed: tuple[str, str, str], capsys: pytest.CaptureFixture[str],
                                   tmp_path: Path, where: str) -> None:
    url, local, cred_id = deployed
    target = ["--remote", url] if where == "remote" else ["--config", local]
    records_until = time.time() + 300

    async def cool(store: Any) -> None:
        await records.set_cooldown(store, cred_id, "gpt-5", records_until, "quota")

    from tests.e2e.test_management import in_store

    in_store(tmp_path, cool)
    assert cli.main(["auth", "list", *target]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(cred_id + " "))
    assert row.split()[1:4] == ["codex", "cli@example.com", "cooling"]
    assert "    cooling gpt-5 until " in out and "(quota)" in out

    assert cli.main(["auth", "reset", cred_id, *target]) == 0
    assert cli.main(["auth", "disable", cred_id, *target]) == 0
    assert cli.main(["auth", "list", *target]) == 0
    out = capsys.readouterr().out
    assert f"{cred_id}: 1 cooldown(s) cleared" in out and f"{cred_id}: disabled" in out
    assert next(line for line in out.splitlines() if line.startswith(cred_id + " ")).split()[3] == "disabled"
    assert cli.main(["auth", "enable", cred_id, *target]) == 0
    assert cli.main(["auth", "disable", "no-such-id", *target]) == 1
    out, err = capsys.readouterr()
    assert "no stored credential no-such-id" in err
    assert "secret" not in out + err


@pytest.mark.parametrize("where", ["local", "remote"])
def test_usage_table_and_json(deployed: tuple[str, str, str], capsys: pytest.CaptureFixture[str], where: str) -> None:
    url, local, _ = deployed
    target = ["--remote", url] if where == "remote" else ["--config", local]
    assert cli.main(["usage", "--days", "2", "--by", "model", "--json", *target]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert [(r["key"], r["requests"]) for r in report["rows"]] == [("gpt-5-codex", 3)]
    assert cli.main(["usage", "--by", "model", *target]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["DAY", "MODEL", "REQUESTS", "INPUT", "OUTPUT", "CACHED", "REASONING", "ERRORS"]
    assert lines[1].split()[1:3] == ["gpt-5-codex", "3"] and lines[-1].split()[:2] == ["total", "3"]


def test_remote_without_a_key_says_what_to_set(deployed: tuple[str, str, str], capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLIPROXY_MANAGEMENT_KEY")
    assert cli.main(["usage", "--remote", deployed[0]]) == 1
    assert "CLIPROXY_MANAGEMENT_KEY" in capsys.readouterr().err
    monkeypatch.setenv("CLIPROXY_MANAGEMENT_KEY", "wrong")
    assert cli.main(["auth", "list", "--remote", deployed[0]]) == 1
    assert "401 missing or invalid management key" in capsys.readouterr().err
