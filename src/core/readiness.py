"""Is this configuration one the proxy can serve with? Checked before a server listens, at Lambda init, and by
``GET /healthz?deep=1``, so a mistake shows as one line naming the file and key instead of a 500 per request.

``config_problems`` needs no I/O; ``store_problems`` opens the configured store and reads the credentials
(one query), so it proves the store exists, is readable and that the encryption key opens what is stored.
Every problem is a ``file: key: what is wrong`` line; nothing here prints a secret.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config
    from core.store.base import Store

log = logging.getLogger("cliproxy.readiness")

_KEY_HELP = "urlsafe base64 of 32 bytes; set encryption-key or CLIPROXY_ENCRYPTION_KEY"


class NotReady(Exception):
    """The configuration cannot be served with; ``problems`` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def config_problems(cfg: Config) -> list[str]:
    """Mistakes visible in the configuration itself (the config reader already refused malformed values)."""
    problems = []
    if cfg.store.backend == "dynamodb" and not cfg.encryption_key:
        problems.append(f"{cfg.source}: encryption-key: required with store.backend dynamodb ({_KEY_HELP})")
    return problems


async def store_problems(cfg: Config, store: Store | None = None) -> list[str]:
    """Open the store (unless given) and read its credentials: what stops that, as config lines."""
    from core import store as stores

    opened = None
    try:
        if store is None:
            store = opened = stores.open_store(cfg.store)
        return await _readable(cfg, store)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a line naming what to fix
        return [_describe(cfg, exc)]
    finally:
        if opened is not None:
            await opened.close()


async def check(cfg: Config) -> None:
    """Raise NotReady when ``cfg`` cannot be served with (config first: a store check would only repeat it)."""
    problems = config_problems(cfg) or await store_problems(cfg)
    if problems:
        raise NotReady(problems)


async def _readable(cfg: Config, store: Store) -> list[str]:
    from core.crypto import CryptoError
    from core.store import records

    items = await store.query(records.CREDS_PK)
    cipher = getattr(store, "cipher", None)
    if not items or cipher is None:
        return []
    readable = 0
    for item in items:
        try:
            records.credential_from_item(item, cipher)
            readable += 1
        except (CryptoError, KeyError, TypeError, ValueError):
            continue
    if readable == 0:
        return [f"{cfg.source}: encryption-key: opens none of the {len(items)} stored credentials "
                "(a different key than the one they were imported with?)"]
    return []


def _describe(cfg: Config, exc: Exception) -> str:
    """One line for a store failure: the key to look at and what is wrong (the type when nothing better)."""
    store, name = cfg.store, type(exc).__name__
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "") if hasattr(exc, "response") else ""
    if store.backend == "dynamodb":
        where = store.endpoint_url or store.region
        if code == "ResourceNotFoundException":
            return (f"{cfg.source}: store.table: DynamoDB table {store.table!r} does not exist in {where} "
                    "(create it with `cliproxy store init`, or deploy the stack)")
        if code:
            return f"{cfg.source}: store.table: DynamoDB table {store.table!r} in {where} not usable: {code}"
        return f"{cfg.source}: store: DynamoDB in {where} not reachable ({name})"
    if store.backend == "sqlite":
        return f"{cfg.source}: store.path: cannot use {store.path}: {_reason(exc)}"
    log.error("store check failed (%s)", name)
    return f"{cfg.source}: store: not usable ({name})"


def _reason(exc: Exception) -> str:
    """An OS or SQLite error's own words (they name no secret), else its type."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    import sqlite3

    return str(exc) if isinstance(exc, sqlite3.Error) else type(exc).__name__
