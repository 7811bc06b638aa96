"""OAuth login (authorization code with PKCE) that any instance can finish: the verifier lives encrypted
in the store for 30 minutes, keyed by the ``state``, so ``start`` on one instance and ``complete`` on another
(the pasted redirect URL) need no process memory, background task or callback port.

The public client ids and endpoints are those Codex CLI and Claude Code use; every endpoint can be
overridden under ``oauth:`` in the config. The result is stored like an imported login (``accounts.save``:
the same account is updated in place and its ``needs-login`` cleared).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from core import accounts, authfiles, errors, oauth

if TYPE_CHECKING:
    import httpx

    from core.config import OAuthConfig
    from core.store.base import Store

SESSION_TTL_S = 30 * 60.0
_PK = "LOGIN"


@dataclass(frozen=True, slots=True)
class Provider:
    authorize_url: str
    token_url: str
    client_id: str
    redirect_uri: str  # where the provider sends the browser; the user pastes that URL back
    scope: str
    extra: tuple[tuple[str, str], ...] = ()
    json_exchange: bool = False  # Claude posts JSON, Codex a form


PROVIDERS = {
    "codex": Provider("https://auth.openai.com/oauth/authorize", oauth.CODEX_TOKEN_URL, oauth.CODEX_CLIENT_ID,
                      "http://localhost:1455/auth/callback", "openid email profile offline_access",
                      (("id_token_add_organizations", "true"), ("codex_cli_simplified_flow", "true"),
                       ("prompt", "login"))),
    "claude": Provider("https://claude.ai/oauth/authorize", oauth.CLAUDE_TOKEN_URL, oauth.CLAUDE_CLIENT_ID,
                       "https://platform.claude.com/oauth/code/callback",
                       "org:create_api_key user:profile user:inference user:sessions:claude_code",
                       (("code", "true"),), json_exchange=True),
}


class LoginError(Exception):
    """A login that cannot go on; ``status`` for the management API (400 bad input, 404 unknown state)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def provider(name: str, cfg: OAuthConfig) -> Provider:
    found = PROVIDERS.get(name)
    if found is None:
        raise LoginError(f"unknown provider {name!r} (codex or claude)", 404)
    from dataclasses import replace

    auth = cfg.codex_authorize_url if name == "codex" else cfg.claude_authorize_url
    return replace(found, authorize_url=auth or found.authorize_url,
                   token_url=cfg.token_url(name) or found.token_url)


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge): 96 random bytes, base64url without padding, as Codex CLI makes them."""
    verifier = _b64(secrets.token_bytes(96))
    return verifier, _b64(hashlib.sha256(verifier.encode()).digest())


async def start(store: Store, name: str, cfg: OAuthConfig, *, now: float | None = None) -> dict[str, str]:
    """A new login: ``{state, url, flow}``; the verifier is kept encrypted in the store for 30 minutes."""
    p = provider(name, cfg)
    now = time.time() if now is None else now
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(24)
    params = {"response_type": "code", "client_id": p.client_id, "redirect_uri": p.redirect_uri,
              "scope": p.scope, "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
              **dict(p.extra)}
    await store.put({"pk": _PK, "sk": state, "provider": name, "status": "pending",
                     "verifier": _cipher(store).encrypt(verifier), "ttl": now + SESSION_TTL_S})
    return {"state": state, "url": p.authorize_url + "?" + urllib.parse.urlencode(params), "flow": "code"}


def parse_pasted(text: str) -> tuple[str, str | None]:
    """(code, state) from a pasted redirect URL, or Claude's ``code#state``, or a bare code."""
    text = text.strip()
    if "://" in text or text.startswith("?"):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(text).query)
        if "code" not in query:
            raise LoginError("the pasted URL has no code (did the login fail in the browser?)")
        states = query.get("state") or []
        return query["code"][0], states[0] if states else None
    code, _, state = text.partition("#")
    return code, state or None


async def complete(store: Store, http: httpx.AsyncClient, cfg: OAuthConfig, state: str, code: str) -> str:
    """Exchange ``code`` for tokens with the session's verifier and store the account. Returns its id."""
    session = await store.get(_PK, state)
    if session is None:
        raise LoginError("unknown or expired login (start again)", 404)
    if session["status"] != "pending":
        raise LoginError(f"this login is already {session['status']}", 409)
    p = provider(session["provider"], cfg)
    verifier = _cipher(store).decrypt(session["verifier"])
    try:
        answer = await _exchange(http, p, code, verifier, state)
        cred = authfiles.parse(_auth_doc(session["provider"], answer), "login")
        saved, _ = await accounts.save(store, cred)
    except (errors.ProxyError, authfiles.AuthFileError) as exc:
        await _finish(store, session, "failed", error=getattr(exc, "code", None) or type(exc).__name__)
        raise LoginError("the provider refused the code (expired, used, or from another login)", 400) from None
    await _finish(store, session, "done", cred_id=saved.id)
    return saved.id


async def status(store: Store, state: str) -> dict[str, Any]:
    session = await store.get(_PK, state)
    if session is None:
        raise LoginError("unknown or expired login", 404)
    return {k: session[k] for k in ("status", "provider", "cred_id", "error") if session.get(k)}


async def _exchange(http: httpx.AsyncClient, p: Provider, code: str, verifier: str, state: str) -> dict[str, Any]:

    fields = {"grant_type": "authorization_code", "client_id": p.client_id, "code": code,
              "redirect_uri": p.redirect_uri, "code_verifier": verifier}
    if p.json_exchange:
        body, ctype = orjson.dumps({**fields, "state": state}), "application/json"
    else:
        body, ctype = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
    return await oauth.post_token(http, p.token_url, body, ctype)


def _auth_doc(name: str, answer: dict[str, Any]) -> dict[str, Any]:
    """The token answer as a CLIProxyAPI auth file, so a login is stored exactly like an import."""
    grant = oauth.grant_of(answer)
    expires = time.time() + (grant.expires_in or 3600)
    doc: dict[str, Any] = {"type": name, "access_token": grant.access_token, "refresh_token": grant.refresh_token,
                           "expired": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}
    if name == "codex":
        claims = oauth.jwt_claims(grant.id_token or "")
        auth = claims.get("https://api.openai.com/auth") or {}
        doc.update(id_token=grant.id_token, email=claims.get("email"),
                   account_id=auth.get("chatgpt_account_id") if isinstance(auth, dict) else None)
    else:
        doc["email"] = grant.email
    return doc


async def _finish(store: Store, session: dict[str, Any], outcome: str, **extra: Any) -> None:
    await store.put({**{k: v for k, v in session.items() if k != "verifier"}, "status": outcome, **extra})


def _cipher(store: Store) -> Any:
    from core.store import records

    return records._cipher(store, None)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
