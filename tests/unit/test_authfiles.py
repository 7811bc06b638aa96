"""Imported credential files: the three formats, stable ids, expiry parsing, refusals without tokens in messages."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from core import authfiles
from core.authfiles import AuthFileError


def jwt(claims: dict) -> str:
    def seg(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    return f"{seg({'alg': 'RS256'})}.{seg(claims)}.signature"


ID_TOKEN = jwt({"email": "dev@example.com", "https://api.openai.com/auth": {
    "chatgpt_account_id": "acct-123", "chatgpt_plan_type": "pro"}})
ACCESS = jwt({"exp": 1_900_000_000})


def test_cliproxyapi_codex_file():
    cred = authfiles.parse({
        "type": "codex", "access_token": ACCESS, "refresh_token": "rt-1", "id_token": ID_TOKEN,
        "account_id": "acct-123", "email": "dev@example.com", "expired": "2030-03-17T17:46:40Z",
        "last_refresh": "2025-01-01T00:00:00Z", "base_url": "http://127.0.0.1:9/backend-api/codex",
        "prefix": "work", "priority": "3", "disabled": False,
    }, "codex-dev.json")

    assert (cred.kind, cred.provider, cred.auth_type, cred.source) == ("codex", "codex", "oauth", "store")
    assert cred.id == "codex-dev@example.com-" + authfiles._short_hash("acct-123")
    assert (cred.access_token, cred.refresh_token, cred.id_token) == (ACCESS, "rt-1", ID_TOKEN)
    assert (cred.account_id, cred.email, cred.expires_at) == ("acct-123", "dev@example.com", 1_900_000_000.0)
    assert (cred.base_url, cred.prefix, cred.priority) == ("http://127.0.0.1:9/backend-api/codex", "work", 3)
    assert cred.extra == {"plan_type": "pro"}


def test_cliproxyapi_claude_file():
    cred = authfiles.parse({"type": "claude", "access_token": "sk-ant-oat01-x", "refresh_token": "sk-ant-ort01-y",
                            "email": "Me@Example.com", "expired": "2030-03-17 17:46:40",
                            "excluded_models": "claude-3-*, claude-2*"}, "claude.json")

    assert (cred.id, cred.kind, cred.email) == ("claude-me@example.com", "claude", "Me@Example.com")
    assert cred.expires_at == 1_900_000_000.0
    assert cred.excluded_models == ("claude-3-*", "claude-2*")


@pytest.mark.parametrize(("fields", "expected"), [
    ({"expired": 1_900_000_000}, 1_900_000_000.0),
    ({"expires_at": 1_900_000_000_000}, 1_900_000_000.0),
    ({"expiresAt": "1900000000"}, 1_900_000_000.0),
    ({"expired": "2030-03-17T18:46:40+01:00"}, 1_900_000_000.0),
    ({"token": {"expiry": "2030-03-17T17:46:40.000000000Z"}}, 1_900_000_000.0),
    ({}, None),
])
def test_expiry_keys_and_formats(fields, expected):
    cred = authfiles.parse({"type": "claude", "access_token": "a", "email": "e@x", **fields}, "f.json")

    assert cred.expires_at == expected


def test_codex_cli_auth_json_reads_identity_and_expiry_from_the_jwts():
    cred = authfiles.parse({"OPENAI_API_KEY": None, "last_refresh": "2025-05-01T00:00:00Z",
                            "tokens": {"id_token": ID_TOKEN, "access_token": ACCESS, "refresh_token": "rt-2",
                                       "account_id": "acct-123"}}, "auth.json")

    assert cred.id == "codex-dev@example.com-" + authfiles._short_hash("acct-123")
    assert (cred.email, cred.account_id, cred.expires_at) == ("dev@example.com", "acct-123", 1_900_000_000.0)
    assert cred.extra == {"last_refresh": "2025-05-01T00:00:00Z", "plan_type": "pro"}


def test_same_account_gets_the_same_id_from_either_format():
    from_cli = authfiles.parse({"tokens": {"id_token": ID_TOKEN, "access_token": ACCESS,
                                           "refresh_token": "old"}}, "auth.json")
    from_cpa = authfiles.parse({"type": "codex", "access_token": "new", "refresh_token": "newer",
                                "id_token": ID_TOKEN}, "codex.json")

    assert from_cli.id == from_cpa.id


def test_claude_code_credentials_with_the_account_file_beside_it(tmp_path: Path):
    (tmp_path / ".claude").mkdir()
    creds = tmp_path / ".claude" / ".credentials.json"
    creds.write_text(json.dumps({"claudeAiOauth": {
        "accessToken": "sk-ant-oat01-a", "refreshToken": "sk-ant-ort01-b", "expiresAt": 1_900_000_000_000,
        "scopes": ["user:inference", "user:profile"], "subscriptionType": "max"}}))
    (tmp_path / ".claude.json").write_text(json.dumps({"oauthAccount": {"emailAddress": "cc@example.com"}}))

    cred = authfiles.parse_file(str(creds))

    assert (cred.id, cred.kind, cred.auth_type, cred.email) == ("claude-cc@example.com", "claude", "oauth",
                                                               "cc@example.com")
    assert (cred.access_token, cred.refresh_token, cred.expires_at) == ("sk-ant-oat01-a", "sk-ant-ort01-b",
                                                                       1_900_000_000.0)
    assert cred.extra == {"subscription_type": "max", "scopes": ["user:inference", "user:profile"]}


def test_claude_code_without_an_account_file_uses_a_token_hash_not_the_token(tmp_path: Path):
    path = tmp_path / ".credentials.json"
    path.write_text(json.dumps({"claudeAiOauth": {"accessToken": "sk-ant-oat01-a", "refreshToken": "sk-ant-ort01-b"}}))

    cred = authfiles.parse_file(str(path))

    assert cred.id == "claude-" + authfiles._short_hash("sk-ant-ort01-b", 12)
    assert "sk-ant" not in cred.id


@pytest.mark.parametrize(("doc", "message"), [
    ([1], "expected a JSON object"),
    ({"hello": 1}, "not a CLIProxyAPI auth file, Codex CLI auth.json or Claude Code .credentials.json"),
    ({"type": "gemini", "token": {}}, "type 'gemini' is not supported (only codex and claude OAuth files)"),
    ({"type": "claude", "email": "e"}, "access_token: required"),
    ({"type": "codex", "access_token": "sk-secret-token"}, "neither account_id nor email found (also not in id_token)"),
    ({"type": "claude", "access_token": "a", "email": "e", "prefix": "a/b"}, "prefix: must not contain '/'"),
    ({"type": "claude", "access_token": "a", "email": "e", "expired": "soon"}, "expired: not a time: 'soon'"),
    ({"type": "claude", "access_token": 42, "email": "e"}, "access_token: expected a string"),
    ({"tokens": None, "OPENAI_API_KEY": "sk-secret-key"},
     "API-key login (no ChatGPT tokens): put the key in the config under codex-api-key instead"),
    ({"claudeAiOauth": {"refreshToken": "sk-secret-rt"}}, "claudeAiOauth.accessToken: required"),
])
def test_refusals_say_what_is_wrong_without_quoting_tokens(doc, message):
    with pytest.raises(AuthFileError) as info:
        authfiles.parse(doc, "in.json")

    assert str(info.value) == f"in.json: {message}"
    assert "secret" not in str(info.value)


def test_unreadable_and_invalid_files(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")

    with pytest.raises(AuthFileError, match=r"bad\.json: not valid JSON"):
        authfiles.parse_file(str(bad))
    with pytest.raises(AuthFileError, match=r"missing\.json: cannot read file"):
        authfiles.parse_file(str(tmp_path / "missing.json"))
