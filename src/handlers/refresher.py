"""Scheduled OAuth refresh (EventBridge, every 5 minutes): renew tokens that expire within the window.

Requests refresh a token themselves only in its last ``core.refresh.MARGIN_S`` seconds; this keeps idle and
cooled-down credentials fresh so no request waits on a token endpoint. The refresh goes through
``PoolState.fresh``, the path requests take (``core.refresh``: lease, re-read, version-checked write), so
racing with a request or another refresher run costs nothing and a rotated refresh token is spent once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core import errors

if TYPE_CHECKING:

    import httpx

    from core.config import Config
    from core.credentials import Credential
    from core.state import PoolState
    from core.store.base import Store

log = logging.getLogger("cliproxy.refresher")

WINDOW_S = 15 * 60.0  # three schedule periods: one failed run still leaves two more before expiry
# The `Credentials` metric counts core.accounts' states (alarms on needs-login and cooling): a new state there
# is counted here without a change.


@dataclass
class Report:
    checked: int = 0
    refreshed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # another instance had already refreshed it
    failed: list[str] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)  # credentials per state after the run

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "refreshed": self.refreshed, "skipped": self.skipped,
                "failed": self.failed, "states": self.states}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point; the event (a scheduled EventBridge event) carries nothing we need."""
    from handlers import runtime, telemetry

    report = asyncio.run(run(runtime.load_config()))
    telemetry.emit_counts({"CredentialsRefreshed": len(report.refreshed),
                           "CredentialRefreshFailures": len(report.failed)})
    telemetry.emit_states(report.states)
    log.info("refresh run: %s", report.as_dict())
    return report.as_dict()


async def run(config: Config, *, now: float | None = None, http: httpx.AsyncClient | None = None) -> Report:
    """Refresh every stored OAuth credential that expires within ``WINDOW_S`` of ``now``."""
    from core import store as stores
    from core.executors import transport
    from core.state import PoolState

    store = stores.open_store(config.store)
    own_http = http is None
    http = http or transport.make_client()
    try:
        state = PoolState(config, store)
        now = time.time() if now is None else now
        creds = await state.stored_credentials()
        report = Report(checked=len(creds))
        for cred in creds:
            if due(cred, now):
                await _refresh_one(state, cred, http, report)
        snap = await state.snapshot()  # config API keys and stored credentials alike; both cool down
        report.states = count_states(list(snap.credentials), snap.cooldowns)
        await _renew_model_lists(store, snap.credentials, http)
        return report
    finally:
        if own_http:
            await http.aclose()
        await store.close()


async def _renew_model_lists(store: Store, creds: tuple[Credential, ...], http: httpx.AsyncClient) -> None:
    """The upstreams' model lists, renewed in the store where stale (core.model_lists): every instance reads them."""
    from core import model_lists

    try:
        renewed = await model_lists.refresh(store, creds, http)
    except Exception as exc:  # noqa: BLE001 - the OAuth refresh above is what this run is for
        log.warning("model lists not renewed (%s)", type(exc).__name__)
        return
    if renewed:
        log.info("model lists renewed: %s", renewed)


def count_states(creds: list[Credential], cooldowns: dict[tuple[str, str], float]) -> dict[str, int]:
    """Credentials per state (``core.accounts.state_of``, as the management API shows them), every state
    present with zeros included, so the alarms see the all-clear too."""
    from typing import get_args

    from core import accounts

    cooling = {cred_id for cred_id, _ in cooldowns}
    counts = dict.fromkeys(get_args(accounts.State), 0)
    for cred in creds:
        counts[accounts.state_of(cred, cred.id in cooling)] += 1
    return counts


def due(cred: Credential, now: float) -> bool:
    """An enabled OAuth credential with a refresh token whose access token ends within the window."""
    from core import refresh

    if not refresh.refreshable(cred) or cred.disabled:
        return False
    expires_at = cred.expires_at if cred.expires_at is not None else _jwt_expiry(cred.access_token)
    return expires_at is not None and expires_at - now < WINDOW_S


def _jwt_expiry(token: str | None) -> float | None:
    from core import oauth

    exp = oauth.jwt_claims(token).get("exp") if token else None
    return float(exp) if isinstance(exp, int | float) else None


async def _refresh_one(state: PoolState, cred: Credential, http: httpx.AsyncClient, report: Report) -> None:
    try:
        fresh = await state.fresh(cred, http, force=True)
    except errors.ProxyError as exc:  # messages carry status and error code, never tokens
        log.error("refresh of %s failed: %s", cred.id, exc.message)
        report.failed.append(cred.id)
        return
    (report.refreshed if fresh.access_token != cred.access_token else report.skipped).append(cred.id)
