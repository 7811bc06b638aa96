"""OAuth token refresh, the one path every caller takes: a request about to use a token (relay, through
``PoolState.fresh``) and the scheduled refresher (``handlers/refresher``, through the same method).

Refresh tokens are single-use upstream, so the refresh is single-flight across instances: a store lease
decides who refreshes, the others wait for the winner's write and use its tokens; every write is
version-checked. A failed exchange goes through ``_failed``, the one place that decides what a refresh
failure means for the credential.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from core import errors, executors, oauth
from core.store import records

if TYPE_CHECKING:
    import httpx

    from core.config import OAuthConfig
    from core.credentials import Credential
    from core.store.base import Store

log = logging.getLogger("cliproxy.refresh")

MARGIN_S = 300.0  # a request refreshes a token this many seconds before it expires
LEASE_TTL_S = 30.0
_LEASE_WAIT_S = 0.1
_LEASE_TRIES = 100


def refreshable(cred: Credential) -> bool:
    """An OAuth credential with a refresh token the provider has not declared dead (``needs_login``)."""
    return cred.auth_type == "oauth" and bool(cred.refresh_token) and not cred.needs_login


def needed(cred: Credential, now: float) -> bool:
    """Whether a request should refresh before using ``cred``: a known expiry within the margin."""
    return refreshable(cred) and cred.expires_at is not None and cred.expires_at - now <= MARGIN_S


def _valid(cred: Credential, now: float) -> bool:
    return cred.expires_at is not None and cred.expires_at - now > MARGIN_S


@dataclass(frozen=True, slots=True)
class Refreshed:
    cred: Credential
    changed: bool  # the stored credential changed (ours or another instance's write): snapshots are stale


@dataclass(frozen=True, slots=True)
class Refresh:
    """One single-flight refresh of one credential against the store."""

    store: Store
    http: httpx.AsyncClient
    oauth: OAuthConfig
    owner: str  # who holds the lease: one id per process
    clock: Callable[[], float] = time.time

    async def run(self, cred: Credential, *, force: bool) -> Refreshed:
        """``cred`` with a valid access token. ``force`` refreshes even a token that is not near expiry
        (after a 401, or on the refresher's schedule) unless another writer already replaced it."""
        stored = await records.get_credential(self.store, cred.id) or cred
        if stored.access_token != cred.access_token or (not force and _valid(stored, self.clock())):
            return Refreshed(stored, changed=True)  # another instance (or an earlier call here) refreshed it
        for _ in range(_LEASE_TRIES):
            if await records.acquire_lease(self.store, cred.id, self.owner, LEASE_TTL_S, self.clock()):
                try:
                    return await self._under_lease(stored)
                finally:
                    await records.release_lease(self.store, cred.id, self.owner)
            await asyncio.sleep(_LEASE_WAIT_S)
            latest = await records.get_credential(self.store, cred.id)
            if latest is not None and latest.version != stored.version:
                return Refreshed(latest, changed=True)
        return Refreshed(stored, changed=False)

    async def _under_lease(self, cred: Credential) -> Refreshed:
        latest = await records.get_credential(self.store, cred.id) or cred
        if latest.version != cred.version:
            return Refreshed(latest, changed=True)  # refreshed between our read and our lease
        executor = executors.get(latest.kind)
        try:
            new = await oauth.refresh_with_retry(
                lambda: executor.refresh(latest, self.http, self.oauth.token_url(latest.kind)))
        except errors.UpstreamError as err:
            return await self._failed(latest, err)
        new = replace(new, version=latest.version)
        if await records.save_credential(self.store, new, expected_version=latest.version):
            new = replace(new, version=latest.version + 1)
        log.info("refreshed credential %s", cred.id)
        return Refreshed(new, changed=True)

    async def _failed(self, cred: Credential, err: errors.UpstreamError) -> Refreshed:
        """The exchange failed. The token may have been spent by a writer whose lease ran out: its tokens
        beat giving up. Otherwise the failure is kept for operators, a dead refresh token
        (``oauth.NEEDS_LOGIN_CODES``) marks the credential ``needs_login`` (out of the pool, never refreshed
        again, until a new login or import of the account), and the error goes to the caller (a request
        rotates; the refresher counts it)."""
        again = await records.get_credential(self.store, cred.id)
        if again is not None and again.version != cred.version:
            return Refreshed(again, changed=True)
        now = self.clock()
        await records.note_error(self.store, cred.id, err.status, err.code or err.kind, now)
        reason = oauth.needs_login_reason(err)
        if reason is not None and cred.source == "store":
            marked = replace(cred, needs_login=reason)
            if await records.save_credential(self.store, marked, expected_version=cred.version):
                log.warning("credential %s needs a new login (refresh refused: %s)", cred.id, reason)
        raise err
