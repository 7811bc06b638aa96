"""The client keys in force, and who presented which.

Locally they are the config's ``api-keys``. On Lambda, when the keys came from the client-keys secret
(``CLIPROXY_API_KEYS_SECRET``), the secret is re-read through ``handlers.secrets`` at most every
``max_age`` seconds (``$POWERTOOLS_PARAMETERS_MAX_AGE``, else 300), so a key added or removed there takes
effect within that time without a redeploy. A secret that no longer parses is logged (without its text)
and the keys read before stay in force.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from core.config import ClientKey, Config, ConfigError
from core.config._clients import key_label, parse_text
from core.config._reader import Reader

__all__ = ["ClientKeys", "KeySet", "key_label", "keyset"]

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
