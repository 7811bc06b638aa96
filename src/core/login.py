"""OAuth login (authorization code with PKCE) that any instance can finish: the verifier lives encrypted
in the store for 30 minutes, keyed by the ``state``, so ``start`` on one instance and ``complete`` on another
(the pasted redirect URL) need no process memory, background task or callback port.

A local login may instead name a loopback port (``redirect_port``): the redirect then goes to the provider's
loopback callback on that port, where ``cliproxy auth login`` listens; the session keeps the redirect it sent,
so the exchange names the same one. Codex also has the device flow (``start_device``): the user types a code
at the provider; each ``poll`` (one per status call, no background task) asks the provider once and, when the
user has approved, redeems the authorization code it hands back.

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
from core.store import records

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
    loopback: str = ""  # the local flow's redirect, ``{port}`` filled in (Codex CLI / Claude Code's own)
    loopback_port: int = 0  # the port those clients listen on


PROVIDERS = {
    "codex": Provider("https://auth.openai.com/oauth/authorize", oauth.CODEX_TOKEN_URL, oauth.CODEX_CLIENT_ID,
                      "http://localhost:1455/auth/callback", "openid email profile offline_access",
                      (("id_token_add_organizations", "true"), ("codex_cli_simplified_flow", "true"),
                       ("prompt", "login")),
                      loopback="http://localhost:{port}/auth/callback", loopback_port=1455),
    "claude": Provider("https://claude.ai/oauth/authorize", oauth.CLAUDE_TOKEN_URL, oauth.CLAUDE_CLIENT_ID,
                       "https://platform.claude.com/oauth/code/callback",
                       "org:create_api_key user:profile user:inference user:sessions:claude_code",
                       (("code", "true"),), json_exchange=True,
                       loopback="http://localhost:{port}/callback", loopback_port=54545),
}

# Codex's device flow (as Codex CLI runs it): a user code to type at VERIFY_URL, then the token URL polled
DEVICE_USERCODE_URL = "https://auth.openai.com/api/accounts/deviceauth/usercode"
DEVICE_TOKEN_URL = "https://auth.openai.com/api/accounts/deviceauth/token"
DEVICE_VERIFY_URL = "https://auth.openai.com/codex/device"
DEVICE_REDIRECT = "https://auth.openai.com/deviceauth/callback"
DEVICE_TIMEOUT_S = 15 * 60.0
DEVICE_INTERVAL_S = 5.0


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


async def start(store: Store, name: str, cfg: OAuthConfig, *, now: float | None = None,
                redirect_port: int | None = None) -> dict[str, str]:
    """A new login: ``{state, url, flow}``; the verifier is kept encrypted in the store for 30 minutes.
    ``redirect_port``: send the browser to the provider's loopback callback on that port (a local login)."""
    p = provider(name, cfg)
    now = time.time() if now is None else now
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(24)
    redirect = p.loopback.format(port=redirect_port) if redirect_port else p.redirect_uri
    params = {"response_type": "code", "client_id": p.client_id, "redirect_uri": redirect,
              "scope": p.scope, "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
              **dict(p.extra)}
    await store.put({"pk": _PK, "sk": state, "provider": name, "status": "pending", "flow": "code",
                     "redirect_uri": redirect, "verifier": records.cipher_of(store).encrypt(verifier),
                     "ttl": now + SESSION_TTL_S})
    return {"state": state, "url": p.authorize_url + "?" + urllib.parse.urlencode(params), "flow": "code"}


def loopback_path(name: str) -> str:
    """The path of the provider's loopback callback (``/auth/callback`` for Codex)."""
    found = PROVIDERS.get(name)
    if found is None:
        raise LoginError(f"unknown provider {name!r} (codex or claude)", 404)
    return urllib.parse.urlsplit(found.loopback.format(port=found.loopback_port)).path


def loopback_port(name: str) -> int:
    found = PROVIDERS.get(name)
    return found.loopback_port if found else 0


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
    if session.get("flow") == "device":
        raise LoginError("a device login finishes by itself once approved (poll its status)", 409)
    p = provider(session["provider"], cfg)
    verifier = records.cipher_of(store).decrypt(session["verifier"])
    return await _redeem(store, http, session, p, code, verifier, session.get("redirect_uri") or p.redirect_uri)


async def _redeem(store: Store, http: httpx.AsyncClient, session: dict[str, Any], p: Provider, code: str,
                  verifier: str, redirect: str) -> str:
    """Exchange the code, store the account (like an import) and mark the session done; its id."""
    try:
        answer = await _exchange(http, p, code, verifier, session["sk"], redirect)
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
    return _view(session)


def _view(session: dict[str, Any]) -> dict[str, Any]:
    return {k: session[k] for k in ("status", "provider", "flow", "cred_id", "error") if session.get(k)}


# --- the device flow (Codex) ----------------------------------------------------------------------------


async def start_device(store: Store, http: httpx.AsyncClient, name: str, cfg: OAuthConfig, *,
                       now: float | None = None) -> dict[str, Any]:
    """Ask the provider for a user code: ``{state, url, flow: "device", user_code, interval}``. The device
    id and user code wait encrypted in the store (30 minutes) for ``poll`` on any instance."""
    if name != "codex":
        provider(name, cfg)  # an unknown provider is a 404
        raise LoginError(f"the device flow is Codex's only, not {name}'s (use the browser flow)")
    now = time.time() if now is None else now
    status_code, answer = await _post_json(http, cfg.codex_device_usercode_url or DEVICE_USERCODE_URL,
                                           {"client_id": oauth.CODEX_CLIENT_ID})
    device_id = answer.get("device_auth_id")
    user_code = answer.get("user_code") or answer.get("usercode")
    if status_code // 100 != 2 or not isinstance(device_id, str) or not isinstance(user_code, str):
        raise LoginError(f"the provider did not start a device login ({status_code})", 502)
    interval = _interval(answer.get("interval"))
    state = secrets.token_urlsafe(24)
    secret = orjson.dumps({"device_auth_id": device_id, "user_code": user_code}).decode()
    await store.put({"pk": _PK, "sk": state, "provider": name, "status": "pending", "flow": "device",
                     "device": records.cipher_of(store).encrypt(secret), "expires": now + DEVICE_TIMEOUT_S,
                     "ttl": now + SESSION_TTL_S})
    return {"state": state, "url": cfg.codex_device_verify_url or DEVICE_VERIFY_URL, "flow": "device",
            "user_code": user_code, "interval": interval}


async def poll(store: Store, http: httpx.AsyncClient, cfg: OAuthConfig, state: str, *,
               now: float | None = None) -> dict[str, Any]:
    """A login's status; a pending device login first asks the provider once whether the user approved."""
    session = await store.get(_PK, state)
    if session is None:
        raise LoginError("unknown or expired login", 404)
    if session.get("flow") != "device" or session["status"] != "pending":
        return _view(session)
    now = time.time() if now is None else now
    if now >= float(session["expires"]):
        await _finish(store, session, "failed", error="expired")
        return {**_view(session), "status": "failed", "error": "expired"}
    device = orjson.loads(records.cipher_of(store).decrypt(session["device"]))
    status_code, answer = await _post_json(http, cfg.codex_device_token_url or DEVICE_TOKEN_URL, device)
    if status_code in (403, 404) or status_code >= 500:  # not approved yet (or a hiccup): ask again later
        return _view(session)
    code, verifier = answer.get("authorization_code"), answer.get("code_verifier")
    if status_code // 100 != 2 or not isinstance(code, str) or not isinstance(verifier, str):
        error = _text(answer.get("error")) or f"device_{status_code}"
        await _finish(store, session, "failed", error=error)
        return {**_view(session), "status": "failed", "error": error}
    # Only one instance redeems the code (two may poll at once): the others answer pending until it is done.
    from core.store.base import IfAbsent

    claim = {"pk": _PK, "sk": f"{state}#redeem", "ttl": now + 120}
    if not await store.put(claim, cond=IfAbsent(now)):
        return _view(session)
    p = provider(session["provider"], cfg)
    try:
        await _redeem(store, http, session, p, code, verifier, DEVICE_REDIRECT)
    except LoginError:
        pass  # the session says failed
    return await status(store, state)


async def _post_json(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(status, JSON object answer or {}) of a device endpoint; a transport failure counts as a 503."""
    from core.executors import transport

    ureq = transport.UpstreamRequest("POST", url, {"content-type": "application/json", "accept": "application/json"},
                                     orjson.dumps(body), stream=False)
    try:
        resp = await transport.send(http, ureq)
        raw = await transport.read_body(resp)
    except errors.ProxyError:
        return 503, {}
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        answer = None
    return resp.status_code, answer if isinstance(answer, dict) else {}


def _interval(raw: Any) -> float:
    """The poll interval in seconds: a number or a numeric string; 5 when absent or nonsense."""
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        return DEVICE_INTERVAL_S
    return seconds if 0 < seconds <= 60 else DEVICE_INTERVAL_S


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.isidentifier() else None


async def _exchange(http: httpx.AsyncClient, p: Provider, code: str, verifier: str, state: str,
                    redirect: str) -> dict[str, Any]:
    fields = {"grant_type": "authorization_code", "client_id": p.client_id, "code": code,
              "redirect_uri": redirect, "code_verifier": verifier}
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
    secret = ("verifier", "device")  # done with: a finished session keeps no secret
    await store.put({**{k: v for k, v in session.items() if k not in secret}, "status": outcome, **extra})


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
