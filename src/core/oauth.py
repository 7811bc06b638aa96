"""OAuth token refresh for the Codex (ChatGPT) and Claude credentials: plain HTTP over a given client.

Both providers rotate refresh tokens: a refresh token works once, so callers must hold the credential's
refresh lease (``store``) around ``refresh_codex`` / ``refresh_claude`` and persist the result at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from core import errors
from core.executors import classify, transport

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import httpx

    from core import ir
    from core.credentials import Credential

CODEX_TOKEN_URL = "https://auth.openai.com/oauth/token"
CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
CODEX_SCOPE = "openid profile email"
CLAUDE_TOKEN_URL = "https://platform.claude.com/v1/oauth/token"  # as Claude Code 2.1.197 posts
CLAUDE_CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
T = TypeVar("T")
_OPENAI_AUTH_CLAIM = "https://api.openai.com/auth"
# Token endpoint codes that mean the refresh token is dead: only a new login brings the account back.
NEEDS_LOGIN_CODES = frozenset({"invalid_grant", "refresh_token_reused", "refresh_token_expired"})
REFRESH_TRIES = 3
REFRESH_BACKOFF_S = 1.0  # doubled after each transient failure


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A token endpoint's answer. ``refresh_token`` is None when the provider did not rotate it."""

    access_token: str
    refresh_token: str | None = None
    id_token: str | None = None
    expires_in: float | None = None
    email: str | None = None


async def refresh_codex(http: httpx.AsyncClient, refresh_token: str, token_url: str | None = None) -> TokenGrant:
    """Form POST (``client_id, grant_type, refresh_token, scope``), as the Codex CLI does."""
    form = {"client_id": CODEX_CLIENT_ID, "grant_type": "refresh_token", "refresh_token": refresh_token,
            "scope": CODEX_SCOPE}
    body = urllib.parse.urlencode(form).encode()
    answer = await _post(http, token_url or CODEX_TOKEN_URL, body, "application/x-www-form-urlencoded")
    return _grant(answer, email=None)


async def refresh_claude(http: httpx.AsyncClient, refresh_token: str, token_url: str | None = None) -> TokenGrant:
    """JSON POST (``client_id, grant_type, refresh_token``), as Claude Code does."""
    payload = {"client_id": CLAUDE_CLIENT_ID, "grant_type": "refresh_token", "refresh_token": refresh_token}
    answer = await _post(http, token_url or CLAUDE_TOKEN_URL, orjson.dumps(payload), "application/json")
    account = answer.get("account")
    email = account.get("email_address") if isinstance(account, dict) else None
    return _grant(answer, email=email if isinstance(email, str) else None)


def needs_login_reason(err: errors.ProxyError) -> str | None:
    """The token endpoint's code when a refresh failure means "log in again", else None."""
    return err.code if isinstance(err, errors.UpstreamAuthError) and err.code in NEEDS_LOGIN_CODES else None


async def refresh_with_retry(refresh: Callable[[], Awaitable[T]], *, tries: int = REFRESH_TRIES) -> T:
    """``refresh()``, retried with backoff (1 s, 2 s...) while it fails transiently (timeout, 5xx, drop).
    A refusal (the token endpoint's 4xx) is final at once: retrying a spent token cannot help."""
    for attempt in range(tries):
        try:
            return await refresh()
        except (errors.UpstreamTimeoutError, errors.UpstreamServerError):
            if attempt == tries - 1:
                raise
            await asyncio.sleep(REFRESH_BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


def apply_grant(cred: Credential, grant: TokenGrant, *, now: float | None = None) -> Credential:
    """The credential with the new tokens; the Codex account id and plan come from the id_token claims."""
    now = time.time() if now is None else now
    claims = jwt_claims(grant.id_token) if grant.id_token else {}
    auth_claims = claims.get(_OPENAI_AUTH_CLAIM)
    auth_claims = auth_claims if isinstance(auth_claims, dict) else {}
    plan = auth_claims.get("chatgpt_plan_type")
    return dataclasses.replace(
        cred,
        access_token=grant.access_token,
        refresh_token=grant.refresh_token or cred.refresh_token,
        id_token=grant.id_token or cred.id_token,
        expires_at=now + grant.expires_in if grant.expires_in else cred.expires_at,
        account_id=auth_claims.get("chatgpt_account_id") or cred.account_id,
        email=grant.email or claims.get("email") or cred.email,
        extra={**cred.extra, "plan_type": plan} if isinstance(plan, str) else cred.extra,
    )


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (we only read our own account id from it). {} when unreadable."""
    parts = token.split(".")
    if len(parts) < 2:
        return {}
    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(segment))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


async def _post(http: httpx.AsyncClient, url: str, body: bytes, content_type: str) -> dict[str, Any]:
    headers = {"content-type": content_type, "accept": "application/json"}
    ureq = transport.UpstreamRequest("POST", url, headers, body, stream=False)
    resp = await transport.send(http, ureq)
    raw = await transport.read_body(resp)
    if resp.status_code != 200:
        raise _refusal(resp.status_code, resp.headers, raw)
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise errors.UpstreamServerError("token endpoint answered without an access_token")
    return answer


def _refusal(status: int, headers: httpx.Headers, raw: bytes) -> errors.ProxyError:
    """400/401/403 (``invalid_grant``, ``refresh_token_reused``...) mean the refresh token is dead."""
    dialect: ir.Dialect = "openai_chat"
    if status in (400, 401, 403):
        code = classify.error_detail(raw, dialect=dialect).code
        return errors.UpstreamAuthError(f"token refresh refused ({status}, {code or 'no code'})", code=code,
                                       upstream_status=status)
    refused = classify.status(status, headers, raw, dialect=dialect)
    return refused or errors.UpstreamServerError(f"token endpoint answered {status}")


def _grant(answer: dict[str, Any], *, email: str | None) -> TokenGrant:
    expires_in = answer.get("expires_in")
    return TokenGrant(
        access_token=answer["access_token"],
        refresh_token=_str(answer.get("refresh_token")),
        id_token=_str(answer.get("id_token")),
        expires_in=float(expires_in) if isinstance(expires_in, int | float) else None,
        email=email,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


async def post_token(http: httpx.AsyncClient, url: str, body: bytes, content_type: str) -> dict[str, Any]:
    """POST to a token endpoint (code exchange or refresh); its JSON answer, or our error for a refusal."""
    return await _post(http, url, body, content_type)


def grant_of(answer: dict[str, Any]) -> TokenGrant:
    """A token answer as a grant; Claude names the account's email beside the tokens."""
    account = answer.get("account")
    email = account.get("email_address") if isinstance(account, dict) else None
    return _grant(answer, email=email if isinstance(email, str) else None)
