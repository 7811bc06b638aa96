"""The upstreams' own model lists: what a credential's provider says it serves, beyond the built-in catalog.

Anthropic ``GET /v1/models``, Gemini ``models.list`` (``GET /v1beta/models``, generateContent models only),
OpenAI-compatible ``GET {base}/models`` and the Codex backend's ``GET {base}/models`` are read with one
credential per provider and kept in the store (``MODELS`` / provider) with a TTL, so every instance serves the
same list and a cold one reads it instead of asking upstream. ``refresh`` renews lists older than
``REFRESH_S`` (the scheduled refresher on Lambda, a background task in a local server); a failed read keeps
the list already stored, and with none the built-in catalog is all there is.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from core.credentials import Credential
    from core.store.base import Store

log = logging.getLogger("cliproxy.models")

MODELS_PK = "MODELS"
REFRESH_S = 6 * 3600.0  # a stored list older than this is read again
KEEP_S = 7 * 86400.0  # a list nobody renews expires: the built-in catalog is the fallback
_ANTHROPIC_VERSION = "2023-06-01"
_DEFAULT_BASE = {"claude": "https://api.anthropic.com", "gemini": "https://generativelanguage.googleapis.com",
                 "codex": "https://chatgpt.com/backend-api/codex"}
_CODEX_CLIENT_VERSION = "0.171.0"
_MAX_PAGES = 10


async def load(store: Store, now: float | None = None) -> dict[str, tuple[str, ...]]:
    """Stored lists as ``{provider: model ids}`` (one query); expired ones left out."""
    now = time.time() if now is None else now
    return {item["sk"]: tuple(item.get("ids") or ()) for item in await store.query(MODELS_PK)
            if float(item.get("ttl") or 0) > now}


async def refresh(store: Store, creds: tuple[Credential, ...], http: httpx.AsyncClient, *,
                  now: float | None = None, force: bool = False) -> dict[str, int]:
    """Read and store the list of each provider whose stored list is missing or stale, with the first
    usable credential of that provider. Returns ``{provider: ids stored}`` for the lists it renewed."""
    now = time.time() if now is None else now
    fetched = {item["sk"]: float(item.get("fetched_at") or 0) for item in await store.query(MODELS_PK)}
    renewed: dict[str, int] = {}
    for provider, cred in _one_per_provider(creds).items():
        if not force and now - fetched.get(provider, 0.0) < REFRESH_S:
            continue
        try:
            ids = await fetch(cred, http)
        except Exception as exc:  # noqa: BLE001 - one upstream's failure must not stop the others
            log.warning("model list of %s not read (%s)", provider, type(exc).__name__)
            continue
        if ids:
            await store.put({"pk": MODELS_PK, "sk": provider, "ids": list(ids), "fetched_at": now,
                             "ttl": now + KEEP_S})
            renewed[provider] = len(ids)
    return renewed


def _one_per_provider(creds: tuple[Credential, ...]) -> dict[str, Credential]:
    """The credential that reads each provider's list: enabled, with a secret, serving the catalog."""
    chosen: dict[str, Credential] = {}
    for cred in creds:
        if not cred.disabled and cred.secret and not cred.models and cred.provider not in chosen:
            chosen[cred.provider] = cred
    return chosen


async def fetch(cred: Credential, http: httpx.AsyncClient) -> list[str]:
    """The model ids ``cred``'s upstream lists (following pages). Raises on a non-2xx answer."""
    base = (cred.base_url or _DEFAULT_BASE.get(cred.kind, "")).rstrip("/")
    if not base:
        return []
    url, params, headers = _request(cred, base)
    ids: list[str] = []
    for _ in range(_MAX_PAGES):
        resp = await http.get(url, params=params, headers=headers)
        resp.raise_for_status()
        page = resp.json()
        ids += _ids(cred.kind, page)
        follow = _next_page(cred.kind, page)
        if not follow:
            break
        params = {**params, **follow}
    return list(dict.fromkeys(ids))


def _request(cred: Credential, base: str) -> tuple[str, dict[str, str], dict[str, str]]:
    secret = cred.secret or ""
    headers = {"accept": "application/json"}
    params: dict[str, str] = {}
    if cred.kind == "claude":
        headers["anthropic-version"] = _ANTHROPIC_VERSION
        if cred.auth_type == "oauth":
            headers |= {"authorization": f"Bearer {secret}", "anthropic-beta": "oauth-2025-04-20"}
        else:
            headers["x-api-key"] = secret
        url, params["limit"] = f"{base}/v1/models", "1000"
    elif cred.kind == "gemini":
        headers["x-goog-api-key"] = secret
        url, params["pageSize"] = f"{base}/v1beta/models", "1000"
    else:  # codex and openai_compat: base URLs carry their version path
        headers["authorization"] = f"Bearer {secret}"
        if cred.kind == "codex" and cred.account_id:
            headers["chatgpt-account-id"] = cred.account_id
        if cred.kind == "codex" and cred.auth_type == "oauth":
            params["client_version"] = _CODEX_CLIENT_VERSION
        url = f"{base}/models"
    headers.update((name.lower(), value) for name, value in cred.headers.items())
    return url, params, headers


def _ids(kind: str, page: Any) -> list[str]:
    """Ids from any of the list shapes: ``data[].id`` (Anthropic, OpenAI), ``models[]`` (Gemini: ``name``
    ``models/<id>`` with generateContent; the Codex backend: ``slug`` or ``id``)."""
    if not isinstance(page, dict):
        return []
    out = [m["id"] for m in page.get("data") or () if isinstance(m, dict) and isinstance(m.get("id"), str)]
    for m in page.get("models") or ():
        if not isinstance(m, dict):
            continue
        if kind == "gemini":
            methods = m.get("supportedGenerationMethods") or ["generateContent"]
            if "generateContent" in methods and isinstance(m.get("name"), str):
                out.append(m["name"].removeprefix("models/"))
        elif isinstance(name := m.get("slug") or m.get("id"), str):
            out.append(name)
    return out


def _next_page(kind: str, page: Any) -> dict[str, str] | None:
    if not isinstance(page, dict):
        return None
    if kind == "claude" and page.get("has_more") and page.get("last_id"):
        return {"after_id": str(page["last_id"])}
    if kind == "gemini" and page.get("nextPageToken"):
        return {"pageToken": str(page["nextPageToken"])}
    return None
