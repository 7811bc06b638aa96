"""The operator's view of the pool: each credential's health, and the fixes (disable, enable, priority,
reset cooldowns, remove, upload). Shared by the management API and ``cliproxy auth``.

A view never carries a secret: API keys are masked to their last four characters, tokens are left out,
and the last error is its status and type only.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any, Literal

from core.store import records

if TYPE_CHECKING:
    from core.credentials import Credential
    from core.store.base import Store

State = Literal["ok", "cooling", "needs-login", "disabled"]


class AccountError(Exception):
    """An operation the pool cannot do: ``status`` says why (404 unknown id, 409 config-defined...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def state_of(cred: Credential, cooling: bool) -> State:
    if cred.disabled:
        return "disabled"
    if cred.needs_login:
        return "needs-login"
    return "cooling" if cooling else "ok"


def label(cred: Credential) -> str:
    """Who the credential is: the account's email or id, else the API key masked to its last four."""
    if cred.email or cred.account_id:
        return str(cred.email or cred.account_id)
    key = cred.api_key or ""
    return f"...{key[-4:]}" if len(key) >= 12 else "key"


async def listing(store: Store, config_creds: tuple[Credential, ...], now: float | None = None) -> list[dict[str, Any]]:
    """Every credential (config and store) with its state, cooldowns per model and last error."""
    now = time.time() if now is None else now
    creds = list(config_creds) + await records.load_credentials(store)
    cooldowns: dict[str, list[dict[str, Any]]] = {}
    for item in await records.load_cooldown_items(store):
        if float(item["until"]) > now:
            cooldowns.setdefault(item["cred_id"], []).append(
                {"model": item["model"], "reason": item.get("reason"), "until": _iso(item["until"])})
    errors = await records.load_errors(store)
    return [_view(cred, cooldowns.get(cred.id, []), errors.get(cred.id)) for cred in creds]


def _view(cred: Credential, cooldowns: list[dict[str, Any]], error: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": cred.id, "kind": cred.kind, "provider": cred.provider, "auth_type": cred.auth_type,
        "source": cred.source, "label": label(cred), "priority": cred.priority, "disabled": cred.disabled,
        "expires_at": _iso(cred.expires_at) if cred.auth_type == "oauth" and cred.expires_at else None,
        "state": state_of(cred, bool(cooldowns)), "needs_login": cred.needs_login,
        "cooldowns": sorted(cooldowns, key=lambda c: c["model"]),
        "last_error": {"status": error["status"], "type": error["type"], "at": _iso(error["at"])} if error else None,
    }


async def update(store: Store, cred_id: str, *, disabled: bool | None = None, priority: int | None = None) -> None:
    """Change a stored credential's ``disabled`` or ``priority`` (version-checked; retried on a race)."""
    changes: dict[str, Any] = {k: v for k, v in (("disabled", disabled), ("priority", priority)) if v is not None}
    for _ in range(5):
        cred = await _stored(store, cred_id)
        if await records.save_credential(store, dataclasses.replace(cred, **changes), expected_version=cred.version):
            return
    raise AccountError(f"credential {cred_id} keeps changing; try again", 409)


async def reset_cooldowns(store: Store, cred_id: str, config_creds: tuple[Credential, ...]) -> int:
    if not any(c.id == cred_id for c in config_creds):
        await _stored(store, cred_id)
    return await records.clear_cooldowns(store, cred_id)


async def remove(store: Store, cred_id: str, config_creds: tuple[Credential, ...]) -> None:
    if any(c.id == cred_id for c in config_creds):
        raise AccountError(f"credential {cred_id} is defined in the config file; remove it there", 409)
    if not await records.delete_credential(store, cred_id):
        raise AccountError(f"no credential {cred_id}", 404)


async def save(store: Store, cred: Credential) -> tuple[Credential, bool]:
    """Store an imported or logged-in credential. The same account already stored is updated in place:
    its routing settings (base URL, prefix, priority, models...) stay and ``needs_login`` clears.
    Returns (the stored credential, whether it existed)."""
    for _ in range(5):
        existing = await records.get_credential(store, cred.id)
        merged = _keep_settings(cred, existing) if existing else cred
        saved = await records.save_credential(store, merged, expected_version=existing.version if existing else 0)
        if saved is not None:
            return saved, existing is not None
    raise AccountError(f"credential {cred.id} keeps changing; try again", 409)


def _keep_settings(new: Credential, old: Credential) -> Credential:
    return dataclasses.replace(
        new, base_url=new.base_url or old.base_url, prefix=new.prefix or old.prefix,
        priority=new.priority or old.priority, models=new.models or old.models, headers=new.headers or old.headers,
        excluded_models=new.excluded_models or old.excluded_models, disabled=old.disabled, needs_login=None)


async def _stored(store: Store, cred_id: str) -> Credential:
    cred = await records.get_credential(store, cred_id)
    if cred is None:
        raise AccountError(f"no stored credential {cred_id}", 404)
    return cred


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(at)))
