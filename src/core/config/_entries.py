"""Provider entries of the config (``*-api-key``, ``openai-compatibility``) -> ``Credential`` values."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import TYPE_CHECKING, Any

from core.credentials import Credential, ModelAlias, ThinkingSupport

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.config._reader import Reader
    from core.ir import UpstreamKind

log = logging.getLogger("cliproxy.config")

_ENTRY_KEYS = frozenset({"api-key", "base-url", "prefix", "priority", "models", "excluded-models", "headers"})
_COMPAT_KEYS = frozenset({"name", "base-url", "api-key-entries", "api-keys", "models", "prefix", "priority",
                          "headers", "excluded-models"})


def api_key_credentials(c: Reader, doc: Mapping[str, Any], key: str, kind: UpstreamKind) -> list[Credential]:
    out = []
    for i, raw in enumerate(c.sequence(doc.get(key), key)):
        at = f"{key}[{i}]"
        entry = c.mapping(raw, at)
        c.entry_keys(entry, at, _ENTRY_KEYS)
        api_key = c.required_string(entry.get("api-key"), f"{at}.api-key", secret=True)
        base_url = c.opt_string(entry.get("base-url"), f"{at}.base-url")
        models, _ = _models(c, entry.get("models"), f"{at}.models", allow_thinking=False)
        out.append(Credential(
            id=credential_id(kind, kind, base_url, api_key), kind=kind, provider=kind,
            api_key=api_key, base_url=base_url, models=models, **_common(c, entry, at),
        ))
    return out


def compat_credentials(c: Reader, raw: Any, key: str) -> list[Credential]:
    out = []
    for i, item in enumerate(c.sequence(raw, key)):
        at = f"{key}[{i}]"
        entry = c.mapping(item, at)
        c.entry_keys(entry, at, _COMPAT_KEYS)
        name = c.required_string(entry.get("name"), f"{at}.name")
        base_url = c.required_string(entry.get("base-url"), f"{at}.base-url")
        models, thinking = _models(c, entry.get("models"), f"{at}.models", allow_thinking=True)
        common = _common(c, entry, at)
        provider = name.strip().lower()
        keys: list[str | None] = [*_compat_keys(c, entry, at)] or [None]  # no keys: one key-less credential
        for api_key in keys:
            out.append(Credential(
                id=credential_id("openai_compat", provider, base_url, api_key), kind="openai_compat",
                provider=provider, api_key=api_key, base_url=base_url, models=models,
                model_thinking=dict(thinking), **{**common, "headers": dict(common["headers"])},
            ))
    return out


def _compat_keys(c: Reader, entry: Mapping[str, Any], at: str) -> list[str]:
    keys = []
    for j, raw in enumerate(c.sequence(entry.get("api-key-entries"), f"{at}.api-key-entries")):
        where = f"{at}.api-key-entries[{j}]"
        ke = c.mapping(raw, where)
        c.entry_keys(ke, where, {"api-key"})
        key = c.required_string(ke.get("api-key"), f"{where}.api-key", secret=True)
        keys.append(key)
    return keys + c.strings(entry.get("api-keys"), f"{at}.api-keys", secret=True)  # CLIProxyAPI's older flat list


def _common(c: Reader, entry: Mapping[str, Any], at: str) -> dict[str, Any]:
    prefix = c.opt_string(entry.get("prefix"), f"{at}.prefix")
    if prefix and "/" in prefix:
        raise c.error(f"{at}.prefix", f"must not contain '/', got {prefix!r}")
    headers = c.mapping(entry.get("headers"), f"{at}.headers")
    return {
        "prefix": (prefix or "").strip() or None,
        "priority": c.integer(entry.get("priority"), f"{at}.priority", default=0),
        "headers": {str(k): c.scalar_string(v, f"{at}.headers.{k}") for k, v in headers.items()},
        "excluded_models": tuple(c.strings(entry.get("excluded-models"), f"{at}.excluded-models")),
        "source": "config",
    }


def _models(c: Reader, raw: Any, at: str, *, allow_thinking: bool
            ) -> tuple[tuple[ModelAlias, ...], dict[str, ThinkingSupport]]:
    models: list[ModelAlias] = []
    thinking: dict[str, ThinkingSupport] = {}
    seen: set[str] = set()
    allowed = {"name", "alias", "thinking"} if allow_thinking else {"name", "alias"}
    for i, item in enumerate(c.sequence(raw, at)):
        where = f"{at}[{i}]"
        m = c.mapping(item, where)
        c.entry_keys(m, where, allowed)
        name = c.required_string(m.get("name"), f"{where}.name")
        alias = c.opt_string(m.get("alias"), f"{where}.alias") or name
        if alias.lower() in seen:
            raise c.error(f"{where}.alias", f"duplicate alias {alias!r}")
        seen.add(alias.lower())
        models.append(ModelAlias(name=name, alias=alias))
        if m.get("thinking") is not None:
            thinking[name] = _thinking(c, m["thinking"], f"{where}.thinking")
    return tuple(models), thinking


def _thinking(c: Reader, raw: Any, at: str) -> ThinkingSupport:
    t = c.mapping(raw, at)
    c.entry_keys(t, at, {"levels", "min-budget", "max-budget", "zero-allowed", "dynamic-allowed"})
    return ThinkingSupport(
        levels=tuple(level.lower() for level in c.strings(t.get("levels"), f"{at}.levels")),
        min_budget=c.integer(t.get("min-budget"), f"{at}.min-budget", default=None),
        max_budget=c.integer(t.get("max-budget"), f"{at}.max-budget", default=None),
        zero_allowed=c.boolean(t.get("zero-allowed"), f"{at}.zero-allowed", False),
        dynamic_allowed=c.boolean(t.get("dynamic-allowed"), f"{at}.dynamic-allowed", False),
    )


def credential_id(kind: str, provider: str, base_url: str | None, api_key: str | None) -> str:
    """Stable across restarts; the key enters only through a hash, so ids are safe to log and store."""
    key_hash = hashlib.sha256((api_key or "").encode()).hexdigest()
    seed = "\0".join((kind, provider, (base_url or "").rstrip("/"), key_hash))
    slug = re.sub(r"[^a-z0-9._-]+", "-", provider.lower()).strip("-") or kind
    return f"{slug}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}"


def dedupe(c: Reader, creds: list[Credential]) -> tuple[Credential, ...]:
    by_id: dict[str, Credential] = {}
    for cred in creds:
        if cred.id in by_id:
            log.warning("%s: %s entry repeats an earlier one (same key and base-url); ignored",
                        c.source, cred.provider)
            continue
        by_id[cred.id] = cred
    return tuple(by_id.values())


