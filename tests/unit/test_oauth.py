from __future__ import annotations

import base64
import time
from urllib.parse import parse_qsl

import httpx
import orjson
import pytest

from core import errors, oauth
from core.credentials import Credential
from core.executors import claude, codex, transport

CODEX = Credential(id="c1", kind="codex", provider="codex", auth_type="oauth", access_token="old-at",
                   refresh_token="old-rt", account_id="acct-old", email="old@example.com", extra={"note": "n"})
CLAUDE = Credential(id="a1", kind="claude", provider="claude", auth_type="oauth", access_token="old-at",
                    refresh_token="old-rt")


def _jwt(claims: dict) -> str:
    enc = [base64.urlsafe_b64encode(orjson.dumps(p)).rstrip(b"=").decode() for p in ({"alg": "none"}, claims)]
    return ".".join(enc) + ".sig"


ID_TOKEN = _jwt({"email": "me@example.com", "https://api.openai.com/auth": {
    "chatgpt_account_id": "acct-new", "chatgpt_plan_type": "plus"}})


def _client(handler) -> httpx.AsyncClient:
    return transport.make_client(transport=httpx.MockTransport(handler))


async def test_codex_refresh_posts_the_form_and_applies_the_new_tokens():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(url=str(request.url), ctype=request.headers["content-type"], accept=request.headers["accept"],
                    form=dict(parse_qsl(request.content.decode())))
        return httpx.Response(200, json={"access_token": "new-at", "refresh_token": "new-rt", "id_token": ID_TOKEN,
                                         "expires_in": 3600, "token_type": "Bearer"})

    before = time.time()
    async with _client(handler) as http:
        cred = await codex.EXECUTOR.refresh(CODEX, http, None)
    assert seen == {"url": "https://auth.openai.com/oauth/token", "ctype": "application/x-www-form-urlencoded",
                    "accept": "application/json",
                    "form": {"client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "grant_type": "refresh_token",
                             "refresh_token": "old-rt", "scope": "openid profile email"}}
    assert (cred.access_token, cred.refresh_token, cred.id_token) == ("new-at", "new-rt", ID_TOKEN)
    assert (cred.account_id, cred.email) == ("acct-new", "me@example.com")
    assert cred.extra == {"note": "n", "plan_type": "plus"}
    assert before + 3600 <= cred.expires_at <= time.time() + 3600
    assert (cred.id, cred.kind, cred.auth_type) == ("c1", "codex", "oauth")


async def test_claude_refresh_posts_json_to_the_given_url_and_keeps_an_unrotated_refresh_token():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(url=str(request.url), ctype=request.headers["content-type"], body=orjson.loads(request.content))
        return httpx.Response(200, json={"access_token": "new-at", "expires_in": 28800,
                                         "account": {"email_address": "c@example.com"}})

    async with _client(handler) as http:
        cred = await claude.EXECUTOR.refresh(CLAUDE, http, "http://127.0.0.1:9/v1/oauth/token")
    assert seen == {"url": "http://127.0.0.1:9/v1/oauth/token", "ctype": "application/json",
                    "body": {"client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e", "grant_type": "refresh_token",
                             "refresh_token": "old-rt"}}
    assert (cred.access_token, cred.refresh_token, cred.email) == ("new-at", "old-rt", "c@example.com")


def test_claude_default_token_url():
    assert oauth.CLAUDE_TOKEN_URL == "https://platform.claude.com/v1/oauth/token"  # Claude Code 2.1.197


@pytest.mark.parametrize(("status", "body"), [
    (400, {"error": "invalid_grant", "error_description": "Refresh token already used"}),
    (401, {"error": {"code": "refresh_token_reused", "message": "Your refresh token has already been used"}}),
])
async def test_dead_refresh_token_is_an_auth_error_carrying_the_code(status, body):
    async with _client(lambda r: httpx.Response(status, json=body)) as http:
        with pytest.raises(errors.UpstreamAuthError) as info:
            await codex.EXECUTOR.refresh(CODEX, http, None)
    assert info.value.code in ("invalid_grant", "refresh_token_reused")
    assert "old-rt" not in info.value.message


async def test_token_endpoint_outage_is_a_server_error_and_rate_limit_keeps_retry_after():
    async with _client(lambda r: httpx.Response(503, text="down")) as http:
        with pytest.raises(errors.UpstreamServerError):
            await claude.EXECUTOR.refresh(CLAUDE, http, None)
    async with _client(lambda r: httpx.Response(429, headers={"retry-after": "9"})) as http:
        with pytest.raises(errors.UpstreamRateLimitError) as info:
            await claude.EXECUTOR.refresh(CLAUDE, http, None)
    assert info.value.retry_after == 9


async def test_answer_without_access_token_is_a_server_error():
    async with _client(lambda r: httpx.Response(200, json={"refresh_token": "x"})) as http:
        with pytest.raises(errors.UpstreamServerError):
            await oauth.refresh_codex(http, "rt")


async def test_oauth_credential_without_refresh_token_cannot_be_refreshed():
    import dataclasses

    with pytest.raises(errors.UpstreamAuthError, match="cannot be refreshed"):
        await codex.EXECUTOR.refresh(dataclasses.replace(CODEX, refresh_token=None), None, None)  # type: ignore[arg-type]


def test_jwt_claims_reads_unpadded_payloads_and_tolerates_garbage():
    assert oauth.jwt_claims(ID_TOKEN)["email"] == "me@example.com"
    assert oauth.jwt_claims("not-a-jwt") == {}
    assert oauth.jwt_claims("a.!!!.c") == {}


def test_apply_grant_without_id_token_keeps_account_and_expiry_when_not_given():
    grant = oauth.TokenGrant(access_token="at2")
    cred = oauth.apply_grant(CODEX, grant, now=100.0)
    assert (cred.access_token, cred.refresh_token, cred.account_id, cred.expires_at) == ("at2", "old-rt", "acct-old", None)
