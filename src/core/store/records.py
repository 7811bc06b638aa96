"""The key schema and the domain operations, written once above the ``Store`` primitives.

Layout (``pk`` / ``sk``). It differs from DESIGN.md's first sketch where a single ``query`` must read a
whole set without a table scan: credentials and cooldowns each live under one partition.

    CREDS             / <cred_id>              credential; secrets encrypted; ``version`` for optimistic writes
    CRED#<cred_id>    / LEASE#refresh          single-flight refresh lease: ``owner``, ``ttl`` = lease end
    COOLDOWNS         / <cred_id>#<model|*>    cooldown: ``cred_id``, ``model``, ``until``, ``reason`` (the failure
                                               kind), ``level`` (backoff exponent), ``ttl`` = until (+ BACKOFF_KEEP_S
                                               when it carries a level, so the next failure doubles from it)
    ERRORS            / <cred_id>              the credential's last failure: ``status``, ``type``, ``at`` (no text)
    AFF#<provider>#<session_key> / <model_group>   affinity pin: ``cred_id``, ``ttl`` (sliding: re-pinned on success)
    USAGE#<YYYY-MM-DD> / <cred_id>#<model>#<client>   counters added atomically per request (``requests``,
                                                ``errors``, ``input_tokens``, ...); model and client name are
                                                %-quoted; ``ttl`` = the day's end + USAGE_KEEP_DAYS

Credential ids never contain ``#`` (config ids are ``<provider>-<hash>``, imported ids are slugs), so a
``<cred_id>#<model>`` sort key splits at its first ``#``.
"""

from __future__ import annotations

import calendar
import logging
import time
from typing import TYPE_CHECKING, Any

from core.credentials import Credential, ModelAlias, ThinkingSupport
from core.crypto import CryptoError
from core.store.base import IfExpired, IfVersion

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.crypto import Cipher
    from core.store.base import Item, Store

log = logging.getLogger("cliproxy.store")

CREDS_PK = "CREDS"
COOLDOWNS_PK = "COOLDOWNS"
LEASE_SK = "LEASE#refresh"
SECRET_FIELDS = ("api_key", "access_token", "refresh_token", "id_token")
_KINDS = ("codex", "claude", "gemini", "openai_compat")


class MissingKeyError(CryptoError):
    """The store has no encryption key, so credentials (which carry secrets) cannot be read or written."""


# ---------------------------------------------------------------------------------------------------
# Credentials


async def save_credential(store: Store, cred: Credential, *, expected_version: int,
                          cipher: Cipher | None = None) -> Credential | None:
    """Write ``cred`` if the stored version is still ``expected_version`` (0: not stored yet).
    Returns the credential as stored (version + 1, source "store"), or None when someone wrote first."""
    stored = _replace_version(cred, expected_version + 1)
    item = credential_item(stored, cipher_of(store, cipher))
    if not await store.put(item, cond=IfVersion(expected_version)):
        return None
    return stored


async def get_credential(store: Store, cred_id: str, *, cipher: Cipher | None = None) -> Credential | None:
    item = await store.get(CREDS_PK, cred_id)
    return credential_from_item(item, cipher_of(store, cipher)) if item else None


async def load_credentials(store: Store, *, cipher: Cipher | None = None) -> list[Credential]:
    """Every stored credential, in id order. A record that cannot be decrypted is logged and skipped, so
    one bad record (or a changed key) does not take the whole pool down."""
    key = cipher_of(store, cipher)
    out = []
    for item in await store.query(CREDS_PK):
        try:
            cred = credential_from_item(item, key)
        except (CryptoError, KeyError, TypeError, ValueError) as exc:
            # the type only: a decoding error's text may quote the stored value
            log.error("credential %s skipped: unreadable record (%s)", item.get("sk"), type(exc).__name__)
            continue
        out.append(cred)
    return out


async def delete_credential(store: Store, cred_id: str) -> bool:
    """Remove the credential with its lease and cooldowns. False when it did not exist."""
    existed = await store.get(CREDS_PK, cred_id) is not None
    await store.delete(CREDS_PK, cred_id)
    await store.delete(f"CRED#{cred_id}", LEASE_SK)
    for item in await store.query(COOLDOWNS_PK, f"{cred_id}#"):
        await store.delete(COOLDOWNS_PK, item["sk"])
    return existed


def credential_item(cred: Credential, cipher: Cipher) -> Item:
    """The stored form: plain fields as JSON-able values, secrets as ``enc:v1:`` strings."""
    item: Item = {
        "pk": CREDS_PK, "sk": cred.id, "id": cred.id, "kind": cred.kind, "provider": cred.provider,
        "auth_type": cred.auth_type, "expires_at": cred.expires_at, "account_id": cred.account_id,
        "email": cred.email, "base_url": cred.base_url, "prefix": cred.prefix, "priority": cred.priority,
        "headers": dict(cred.headers), "models": [{"name": m.name, "alias": m.alias} for m in cred.models],
        "excluded_models": list(cred.excluded_models), "disabled": cred.disabled, "needs_login": cred.needs_login,
        "version": cred.version,
        "model_thinking": {name: _thinking_dict(t) for name, t in cred.model_thinking.items()},
        "extra": dict(cred.extra),
    }
    for name in SECRET_FIELDS:
        value = getattr(cred, name)
        item[name] = cipher.encrypt(value) if value else None
    return item


def credential_from_item(item: Item, cipher: Cipher) -> Credential:
    if item.get("kind") not in _KINDS:
        raise ValueError(f"unknown kind {item.get('kind')!r}")
    secrets = {name: cipher.decrypt(item[name]) if item.get(name) else None for name in SECRET_FIELDS}
    return Credential(
        id=item["id"], kind=item["kind"], provider=item["provider"], auth_type=item.get("auth_type", "oauth"),
        expires_at=item.get("expires_at"), account_id=item.get("account_id"), email=item.get("email"),
        base_url=item.get("base_url"), prefix=item.get("prefix"), priority=int(item.get("priority") or 0),
        headers=dict(item.get("headers") or {}),
        models=tuple(ModelAlias(name=m["name"], alias=m.get("alias") or m["name"]) for m in item.get("models") or []),
        excluded_models=tuple(item.get("excluded_models") or ()),
        model_thinking={n: _thinking_from(t) for n, t in (item.get("model_thinking") or {}).items()},
        disabled=bool(item.get("disabled")), needs_login=item.get("needs_login"),
        version=int(item.get("version") or 0), source="store",
        extra=dict(item.get("extra") or {}), **secrets,
    )


def _replace_version(cred: Credential, version: int) -> Credential:
    from dataclasses import replace

    return replace(cred, version=version, source="store")


def cipher_of(store: Store, cipher: Cipher | None = None) -> Cipher:
    """The cipher for secrets in the store: the one given, else the store's own; MissingKeyError without."""
    found = cipher or store.cipher
    if found is None:
        raise MissingKeyError(
            "no encryption key: set encryption-key in the config or CLIPROXY_ENCRYPTION_KEY "
            "(required with the dynamodb store)"
        )
    return found


def _thinking_dict(t: ThinkingSupport) -> dict[str, Any]:
    return {"levels": list(t.levels), "min_budget": t.min_budget, "max_budget": t.max_budget,
            "zero_allowed": t.zero_allowed, "dynamic_allowed": t.dynamic_allowed}


def _thinking_from(raw: Mapping[str, Any]) -> ThinkingSupport:
    return ThinkingSupport(levels=tuple(raw.get("levels") or ()), min_budget=raw.get("min_budget"),
                           max_budget=raw.get("max_budget"), zero_allowed=bool(raw.get("zero_allowed")),
                           dynamic_allowed=bool(raw.get("dynamic_allowed")))


# ---------------------------------------------------------------------------------------------------
# Refresh lease


async def acquire_lease(store: Store, cred_id: str, owner: str, ttl_s: float, now: float) -> bool:
    """Take the refresh lease unless another live one exists. Exactly one of racing callers wins."""
    item = {"pk": f"CRED#{cred_id}", "sk": LEASE_SK, "owner": owner, "ttl": now + ttl_s}
    return await store.put(item, cond=IfExpired(now))


async def release_lease(store: Store, cred_id: str, owner: str) -> None:
    """Drop the lease if ``owner`` still holds it (a lease that expired and was taken over is left alone)."""
    held = await store.get(f"CRED#{cred_id}", LEASE_SK)
    if held is not None and held.get("owner") == owner:
        await store.delete(f"CRED#{cred_id}", LEASE_SK)


# ---------------------------------------------------------------------------------------------------
# Cooldowns


BACKOFF_KEEP_S = 35 * 60.0  # a backoff level outlives its window by more than the longest backoff step


async def set_cooldown(store: Store, cred_id: str, model: str, until: float, reason: str, *, level: int = 0) -> None:
    """Cool ``cred_id`` for ``model`` (``*``: every model) until ``until``. ``reason`` is the failure kind;
    ``level`` the backoff exponent reached, kept a while after ``until`` (a success clears it)."""
    await store.put({"pk": COOLDOWNS_PK, "sk": f"{cred_id}#{model}", "cred_id": cred_id, "model": model,
                     "until": until, "reason": reason, "level": level,
                     "ttl": until + BACKOFF_KEEP_S if level else until})


async def clear_cooldown(store: Store, cred_id: str, model: str) -> None:
    await store.delete(COOLDOWNS_PK, f"{cred_id}#{model}")


async def load_cooldown_items(store: Store) -> list[Item]:
    """Every stored cooldown, live or only keeping its backoff level: ``cred_id``, ``model``, ``until``,
    ``reason``, ``level``."""
    return await store.query(COOLDOWNS_PK)


async def load_cooldowns(store: Store, now: float) -> dict[tuple[str, str], float]:
    """Live cooldowns as ``{(cred_id, model): until}``, in one query."""
    return {
        (item["cred_id"], item["model"]): item["until"]
        for item in await store.query(COOLDOWNS_PK)
        if item["until"] > now
    }


async def clear_cooldowns(store: Store, cred_id: str) -> int:
    """Drop every cooldown of ``cred_id``; returns how many there were."""
    items = await store.query(COOLDOWNS_PK, f"{cred_id}#")
    for item in items:
        await store.delete(COOLDOWNS_PK, item["sk"])
    return len(items)


# ---------------------------------------------------------------------------------------------------
# Last errors (shown to operators; status and type only, never an upstream message that may quote a token)

ERRORS_PK = "ERRORS"
_ERROR_KEEP_S = 7 * 86400.0


async def note_error(store: Store, cred_id: str, status: int, kind: str, now: float) -> None:
    await store.put({"pk": ERRORS_PK, "sk": cred_id, "status": status, "type": kind, "at": now,
                     "ttl": now + _ERROR_KEEP_S})


async def load_errors(store: Store) -> dict[str, Item]:
    return {item["sk"]: item for item in await store.query(ERRORS_PK)}


# ---------------------------------------------------------------------------------------------------
# Session affinity


async def get_pin(store: Store, provider: str, session_key: str, model_group: str,
                  now: float) -> tuple[str, float] | None:
    """``(cred_id, expiry)`` of the session's live pin, or None."""
    item = await store.get(f"AFF#{provider}#{session_key}", model_group)
    if item is None or item["ttl"] <= now:
        return None
    return item["cred_id"], float(item["ttl"])


async def pin(store: Store, provider: str, session_key: str, model_group: str, cred_id: str,
              ttl_s: float, now: float) -> None:
    """Pin (or re-pin, sliding the expiry to ``now + ttl_s``) a session to a credential. Call on success."""
    await store.put({"pk": f"AFF#{provider}#{session_key}", "sk": model_group, "cred_id": cred_id,
                     "ttl": now + ttl_s})


async def unpin(store: Store, provider: str, session_key: str, model_group: str) -> None:
    await store.delete(f"AFF#{provider}#{session_key}", model_group)


# ---------------------------------------------------------------------------------------------------
# Usage


def usage_day(now: float) -> str:
    """The ``day`` of a usage record: UTC ``YYYY-MM-DD``."""
    return time.strftime("%Y-%m-%d", time.gmtime(now))


USAGE_KEEP_DAYS = 90  # usage records expire this long after their day, so the table does not grow forever


async def add_usage(store: Store, day: str, cred_id: str, model: str, counters: Mapping[str, int], *,
                    client: str = "") -> None:
    """Add to the day's counters for (credential, model, client key name), e.g. ``{"requests": 1,
    "input_tokens": 812}``: one atomic ``ADD`` (DynamoDB) or upsert (SQLite), so racing instances lose nothing."""
    start = calendar.timegm(time.strptime(day, "%Y-%m-%d"))
    sk = f"{cred_id}#{_quote(model)}#{_quote(client)}"
    await store.add(f"USAGE#{day}", sk, counters, ttl=start + (USAGE_KEEP_DAYS + 1) * 86400)


async def load_usage(store: Store, day: str) -> dict[tuple[str, str, str], dict[str, int]]:
    """``{(cred_id, model, client): counters}`` for one day (``usage_day``)."""
    from urllib.parse import unquote

    out: dict[tuple[str, str, str], dict[str, int]] = {}
    for item in await store.query(f"USAGE#{day}"):
        cred_id, _, rest = item["sk"].partition("#")
        model, _, client = rest.partition("#")
        bucket = out.setdefault((cred_id, unquote(model), unquote(client)), {})
        for name, value in item.items():
            if name not in ("pk", "sk", "ttl"):
                bucket[name] = bucket.get(name, 0) + int(value)
    return out


def _quote(part: str) -> str:
    from urllib.parse import quote

    return quote(part, safe="")
