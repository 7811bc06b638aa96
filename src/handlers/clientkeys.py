"""The client keys in force, and who presented which.

Locally they are the config's ``api-keys``. On Lambda, when the keys came from the client-keys secret
(``CLIPROXY_API_KEYS_SECRET``), the secret is re-read through ``handlers.secrets`` at most every
``max_age`` seconds (``$POWERTOOLS_PARAMETERS_MAX_AGE``, else 300), so a key added or removed there takes
effect within that time without a redeploy. A secret that no longer parses is logged (without its text)
and the keys read before stay in force.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core import errors
from core.config import ClientKey, Config, ConfigError
from core.config._clients import key_label, parse_text
from core.config._reader import Reader

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

__all__ = ["ClientKeys", "KeySet", "authenticate", "client_label", "key_label", "keyset", "offered_keys"]

log = logging.getLogger("cliproxy.api")


@dataclass(frozen=True, slots=True)
class KeySet:
    by_digest: dict[bytes, ClientKey] = field(default_factory=dict)

    def find(self, offered: str) -> ClientKey | None:
        # looked up by digest, so neither the comparison nor the dict's hashing runs on the key itself
        return self.by_digest.get(_digest(offered))

    def __bool__(self) -> bool:
        return bool(self.by_digest)


def keyset(config: Config) -> KeySet:
    """Every key of ``api_keys``, with its name, models and limits where ``clients`` has them."""
    detailed = {c.key: c for c in config.clients}
    return KeySet({_digest(k): detailed.get(k) or ClientKey(key=k) for k in config.api_keys})


class ClientKeys:
    def __init__(self, config: Config, secret: str | None = None) -> None:
        self._keys = keyset(config)
        self._secret = secret  # re-read this secret (name or ARN) for rotation
        self._text: str | None = None

    def current(self) -> KeySet:
        if self._secret is None:
            return self._keys
        from handlers import secrets

        try:
            text = secrets.secret_value(self._secret)  # cached: at most one fetch per max_age
        except secrets.SecretError as exc:  # keep serving with the keys we have
            log.error("client keys not refreshed: %s", exc)
            return self._keys
        if text != self._text:
            self._text = text
            self._keys = self._parse(text)
        return self._keys

    def _parse(self, text: str) -> KeySet:
        try:
            clients = parse_text(Reader("client-keys secret"), text, "api-keys")
        except ConfigError as exc:
            log.error("client keys not refreshed: %s", exc)
            return self._keys
        log.info("client keys re-read from their secret: %d keys", len(clients))
        return keyset(Config(api_keys=tuple(c.key for c in clients), clients=clients))


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


_KEY_HEADERS = ("x-api-key", "x-goog-api-key")


def authenticate(request: HTTPConnection, keys: KeySet | Config) -> ClientKey | None:
    """The client key the caller presented (None: no keys configured and a loopback caller).
    Raises ClientAuthError when the caller may not proceed."""
    if not isinstance(keys, KeySet):
        keys = keyset(keys)
    if not keys:
        if _loopback(request):
            return None
        raise errors.ClientAuthError("no api-keys are configured: this proxy serves loopback clients only",
                                     status=403)
    offered = offered_keys(request)
    if not offered:
        raise errors.ClientAuthError("Missing API key", code="invalid_api_key")
    for key in offered:
        found = keys.find(key)
        if found is not None:
            if found.disabled:
                raise errors.ClientAuthError("This API key is disabled", code="invalid_api_key")
            return found
    raise errors.ClientAuthError("Invalid API key", code="invalid_api_key")


def client_label(client: ClientKey | str | None) -> str:
    """The client-key dimension of usage and metrics: the key's configured name, else a short hash of it
    (``key-<sha256 prefix>``), so no record or log holds the key; "local" for a loopback caller."""
    if client is None:
        return "local"
    if isinstance(client, str):
        return key_label(client)
    return client.label


def offered_keys(request: HTTPConnection) -> list[str]:
    offered: list[str] = []
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        offered.append(token.strip() if scheme.lower() == "bearer" and token else auth)
    offered.extend(v for h in _KEY_HEADERS if (v := request.headers.get(h)))
    # ``?key=`` (Gemini clients); most requests have no query string, so skip parsing an empty one
    if request.scope.get("query_string") and (key := request.query_params.get("key")):
        offered.append(key)
    return offered


# A request that names an original client came through a proxy (nginx, a tunnel, the Lambda Web Adapter), so
# its loopback peer address says nothing about who sent it. uvicorn rewrites the peer from X-Forwarded-For
# only for trusted hops and knows neither Forwarded nor X-Real-IP.
_PROXIED = ("x-forwarded-for", "forwarded", "x-real-ip")


def _loopback(request: HTTPConnection) -> bool:
    if any(h in request.headers for h in _PROXIED):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")
