"""The management API, ``/v0/management/*``: the pool's credentials and usage, for operators.

Enabled only when ``management-keys`` are configured (on Lambda they come from their own secret, never the
client keys); otherwise every route answers 404. A key is accepted as ``Authorization: Bearer`` or
``X-Management-Key`` and compared in constant time. Five bad keys from one address within a minute lock
that address out for 15 minutes (429); the count lives in the store, so every instance agrees.
Answers are ``{"error": "..."}`` on failure and never carry a token, a key or an upstream message.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from core import accounts, login, usage
from handlers.on_lambda import on_lambda

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from core.call import Deps
    from core.store.base import Store
    from handlers.runtime import Runtime

log = logging.getLogger("cliproxy.management")

PREFIX = "/v0/management"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 60
LOCKOUT_S = 15 * 60
_MAX_UPLOAD = 1 << 20

if TYPE_CHECKING:
    from typing import TypeAlias

    Endpoint: TypeAlias = Callable[[Request, Deps], Awaitable[Response]]


def routes(rt: Runtime) -> list[tuple[str, Any, list[str]]]:
    """(path, endpoint, methods) for ``handlers.api`` to register."""
    keys = ManagementKeys(rt.config.management_keys, _keys_secret())
    table: list[tuple[str, Endpoint, list[str]]] = [
        ("/credentials", list_credentials, ["GET"]),
        ("/credentials", upload_credential, ["POST"]),
        ("/credentials/{cred_id}", delete_credential, ["DELETE"]),
        ("/credentials/{cred_id}", patch_credential, ["PATCH"]),
        ("/credentials/{cred_id}/reset-cooldowns", reset_cooldowns, ["POST"]),
        ("/usage", get_usage, ["GET"]),
        ("/oauth/complete", oauth_complete, ["POST"]),
        ("/oauth/{provider}/start", oauth_start, ["POST"]),
        ("/oauth/{state}", oauth_status, ["GET"]),
    ]
    return [(PREFIX + path, _guarded(rt, keys, endpoint), methods) for path, endpoint, methods in table]


class ManagementKeys:
    """The management keys in force: the config's, or on Lambda the management-keys secret re-read through
    ``handlers.secrets`` (cached ``max_age``, 5 minutes by default), so a rotated key takes effect on warm
    instances within that time. An unreadable secret is logged and the keys read before stay in force."""

    def __init__(self, keys: tuple[str, ...], secret: str | None = None) -> None:
        self._keys, self._secret, self._text = keys, secret, ""

    def current(self) -> tuple[str, ...]:
        if self._secret is None:
            return self._keys
        from handlers import lambda_config, secrets

        try:
            text = secrets.secret_value(self._secret)  # cached: at most one fetch per max_age
            if text != self._text:
                self._keys = tuple(k for k in lambda_config.normalise_keys(text).split(",") if k)
                self._text = text
        except secrets.SecretError as exc:  # the message names the secret, never its value
            log.error("management keys not refreshed: %s", exc)
        return self._keys


def _keys_secret() -> str | None:
    if not on_lambda():
        return None
    from handlers import lambda_config

    return lambda_config.management_keys_secret()


def _guarded(rt: Runtime, management: ManagementKeys, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        keys = management.current()
        if not keys:
            return _error(404, "not found")
        deps = await rt.deps()
        store = deps.state.store
        address = client_address(request)
        locked = await _locked_until(store, address)
        if locked:
            return _error(429, "too many failed management logins; try again later",
                          {"retry-after": str(max(1, int(locked - time.time())))})
        if not _key_matches(_offered(request), keys):
            await _count_failure(store, address)
            return _error(401, "missing or invalid management key")
        try:
            return await endpoint(request, deps)
        except accounts.AccountError as err:
            return _error(err.status, err.message)
        except usage.UsageQueryError as err:
            return _error(400, str(err))
        except login.LoginError as err:
            return _error(err.status, err.message)

    return guarded


def _offered(request: Request) -> str | None:
    if key := request.headers.get("x-management-key"):
        return key.strip()
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _key_matches(offered: str | None, keys: tuple[str, ...]) -> bool:
    if not offered:
        return False
    found = False
    for key in keys:  # every key compared, in constant time each
        found |= hmac.compare_digest(offered.encode(), key.encode())
    return found


def client_address(request: Request) -> str:
    """The caller's address. Behind API Gateway (on Lambda) the last X-Forwarded-For hop is the one the
    gateway added; elsewhere the peer address is the caller."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and on_lambda():
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.client.host if request.client else "unknown"


async def _locked_until(store: Store, address: str) -> float | None:
    item = await store.get(f"MGMTLOCK#{address}", "lock")
    return float(item["ttl"]) if item else None


async def _count_failure(store: Store, address: str) -> None:
    """One failed key from ``address`` in this minute's counter; the fifth locks the address out."""
    now = time.time()
    window = int(now // FAILURE_WINDOW_S)
    pk = f"MGMTFAIL#{address}"
    await store.add(pk, str(window), {"n": 1}, ttl=(window + 2) * FAILURE_WINDOW_S)
    item = await store.get(pk, str(window))
    if item is not None and int(item.get("n", 0)) >= MAX_FAILURES:
        await store.put({"pk": f"MGMTLOCK#{address}", "sk": "lock", "ttl": now + LOCKOUT_S})
        log.warning("management API locked for an address after %d failed keys", MAX_FAILURES)


# --- endpoints -------------------------------------------------------------------------------------


async def list_credentials(request: Request, deps: Deps) -> Response:
    views = await accounts.listing(deps.state.store, deps.config.credentials)
    return _json({"credentials": views})


async def upload_credential(request: Request, deps: Deps) -> Response:
    from core import authfiles

    raw = await request.body()
    if len(raw) > _MAX_UPLOAD:
        return _error(413, "auth file too large")
    try:
        doc = orjson.loads(raw)
        cred = authfiles.parse(doc, "upload")
    except orjson.JSONDecodeError:
        return _error(400, "body is not JSON (send the auth file itself)")
    except authfiles.AuthFileError as err:
        return _error(400, str(err))
    saved, existed = await accounts.save(deps.state.store, cred)
    deps.state.invalidate()
    return _json({"id": saved.id, "status": "updated" if existed else "imported"}, 200 if existed else 201)


async def delete_credential(request: Request, deps: Deps) -> Response:
    await accounts.remove(deps.state.store, request.path_params["cred_id"], deps.config.credentials)
    deps.state.invalidate()
    return _json({"status": "removed"})


async def patch_credential(request: Request, deps: Deps) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not body or set(body) - {"disabled", "priority"}:
        return _error(400, "send a JSON object with 'disabled' (bool) and/or 'priority' (int)")
    disabled, priority = body.get("disabled"), body.get("priority")
    if (disabled is not None and not isinstance(disabled, bool)) or (
            priority is not None and (isinstance(priority, bool) or not isinstance(priority, int))):
        return _error(400, "'disabled' must be a boolean and 'priority' an integer")
    cred_id = request.path_params["cred_id"]
    if any(c.id == cred_id for c in deps.config.credentials):
        return _error(409, f"credential {cred_id} is defined in the config file; change it there")
    await accounts.update(deps.state.store, cred_id, disabled=disabled, priority=priority)
    deps.state.invalidate()
    return _json({"status": "updated"})


async def reset_cooldowns(request: Request, deps: Deps) -> Response:
    cleared = await accounts.reset_cooldowns(deps.state.store, request.path_params["cred_id"],
                                             deps.config.credentials)
    deps.state.invalidate()
    return _json({"status": "reset", "cleared": cleared})


async def get_usage(request: Request, deps: Deps) -> Response:
    q = request.query_params
    days = usage.day_range(q.get("from"), q.get("to"))
    by = q.get("by") or "credential"
    rows = await usage.report(deps.state.store, days, by)
    return _json({"from": days[0], "to": days[-1], "by": by, "rows": [r.as_dict() for r in rows],
                  "totals": usage.totals(rows)})


async def oauth_start(request: Request, deps: Deps) -> Response:
    """Body (optional): ``{"flow": "device"}`` for Codex's device flow, or ``{"redirect_port": N}`` for a
    code flow whose browser comes back to the caller's loopback port (``cliproxy auth login --remote``)."""
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        body = None
    port = body.get("redirect_port") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("flow", "code") not in ("code", "device") or (
            port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536)):
        return _error(400, 'send nothing, {"flow": "device"} or {"redirect_port": 1..65535}')
    name = request.path_params["provider"]
    if body.get("flow") == "device":
        started = await login.start_device(deps.state.store, deps.http, name, deps.config.oauth)
    else:
        started = await login.start(deps.state.store, name, deps.config.oauth, redirect_port=port)
    return _json(started, 201)


async def oauth_complete(request: Request, deps: Deps) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("state"), str) or not (
            isinstance(body.get("redirect_url"), str) or isinstance(body.get("code"), str)):
        return _error(400, "send {state, redirect_url} or {state, code}")
    code, pasted_state = login.parse_pasted(body.get("redirect_url") or body["code"])
    if pasted_state is not None and pasted_state != body["state"]:
        return _error(400, "the pasted URL belongs to another login (state differs)")
    cred_id = await login.complete(deps.state.store, deps.http, deps.config.oauth, body["state"], code)
    deps.state.invalidate()
    return _json({"status": "done", "id": cred_id})


async def oauth_status(request: Request, deps: Deps) -> Response:
    # a device login asks the provider once per call: no background task, so any instance can answer
    answer = await login.poll(deps.state.store, deps.http, deps.config.oauth, request.path_params["state"])
    if answer["status"] == "done":
        deps.state.invalidate()
    return _json(answer)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps({"error": message}), status_code=status, media_type="application/json",
                    headers=headers)
