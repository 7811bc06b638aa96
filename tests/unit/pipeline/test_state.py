"""core.state.PoolState: the store-backed pool with a short per-process cache."""

from __future__ import annotations

import time

from core.credentials import Credential
from core.state import PoolState

from .helpers import config, memory_store

OAUTH = Credential(id="codex-oauth-1", kind="codex", provider="codex", auth_type="oauth", access_token="at",
                   refresh_token="rt", expires_at=time.time() + 9000)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()  # the memory store expires items by the real clock

    def __call__(self) -> float:
        return self.now


def state() -> tuple[PoolState, Clock]:
    clock = Clock()
    return PoolState(config(), memory_store(), clock=clock, ttl=3.0), clock


async def test_the_snapshot_is_cached_for_its_ttl_then_reloaded_with_stored_credentials() -> None:
    pool, clock = state()
    first = await pool.snapshot()
    await pool.store.put({"pk": "unrelated", "sk": "x"})
    assert await pool.snapshot() is first
    saved = await pool.save_credential(OAUTH, expected_version=0)  # a write through PoolState invalidates
    assert saved is not None and saved.version == 1
    second = await pool.snapshot()
    assert second is not first and "codex-oauth-1" in {c.id for c in second.credentials}
    clock.now += 3.0
    assert await pool.snapshot() is not second


async def test_a_cooldown_is_visible_in_the_cached_snapshot_at_once() -> None:
    pool, clock = state()
    snap = await pool.snapshot()
    cred = snap.credentials[0]
    rest = await pool.cool_down(cred, "gpt-5-codex", "rate-limit", 30.0)
    assert rest is not None
    assert (await pool.snapshot()).cooldowns[(cred.id, "gpt-5-codex")] == clock.now + rest.seconds


async def test_a_pin_is_written_when_it_moves_and_not_while_fresh() -> None:
    pool, clock = state()
    await pool.pin("codex", "s", "g", "cred-a", None)
    pinned = await pool.get_pin("codex", "s", "g")
    assert pinned is not None and pinned[0] == "cred-a"
    clock.now += 1.0
    await pool.pin("codex", "s", "g", "cred-a", pinned)  # more than half its TTL left: no write
    assert await pool.get_pin("codex", "s", "g") == pinned
    await pool.pin("codex", "s", "g", "cred-b", pinned)
    assert (await pool.get_pin("codex", "s", "g") or ("",))[0] == "cred-b"


async def test_a_success_on_the_session_home_drops_its_old_pin() -> None:
    pool, _ = state()
    await pool.pin("codex", "s", "g", "cred-a", None)
    current = await pool.get_pin("codex", "s", "g")
    await pool.pin("codex", "s", "g", "cred-home", current, home="cred-home")
    assert await pool.get_pin("codex", "s", "g") is None


async def test_fresh_leaves_api_keys_and_tokens_far_from_expiry_alone() -> None:
    pool, _ = state()
    api_key = (await pool.snapshot()).credentials[0]
    assert await pool.fresh(api_key, None) is api_key  # type: ignore[arg-type]  # no HTTP is needed
    assert await pool.fresh(OAUTH, None) is OAUTH  # type: ignore[arg-type]  # expires in 9000 s


async def test_stored_credentials_can_be_listed_and_deleted() -> None:
    pool, _ = state()
    await pool.save_credential(OAUTH, expected_version=0)
    assert [c.id for c in await pool.stored_credentials()] == ["codex-oauth-1"]
    assert await pool.save_credential(OAUTH, expected_version=0) is None  # someone wrote first
    assert await pool.delete_credential("codex-oauth-1") is True
    assert await pool.stored_credentials() == []
    assert await pool.delete_credential("codex-oauth-1") is False
