"""Domain operations over the primitives: credentials, refresh lease, cooldowns, affinity pins, usage."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.credentials import Credential, ModelAlias, ThinkingSupport
from core.store import records

SECRETS = {"api_key": "sk-plain-api-key", "access_token": "at-plain-access",
           "refresh_token": "rt-plain-refresh", "id_token": "eyJ.plain.idtoken"}


def codex_cred(**overrides) -> Credential:  # type: ignore[no-untyped-def]
    fields = dict(
        id="codex-me-example-com", kind="codex", provider="codex", auth_type="oauth",
        access_token=SECRETS["access_token"], refresh_token=SECRETS["refresh_token"], id_token=SECRETS["id_token"],
        expires_at=1_900_000_000.5, account_id="acct-1", email="me@example.com", prefix="team", priority=2,
        headers={"X-Extra": "1"}, models=(ModelAlias("gpt-5", "fast"),), excluded_models=("gpt-4*",),
        model_thinking={"gpt-5": ThinkingSupport(levels=("low", "high"), min_budget=1, max_budget=9)},
        extra={"plan_type": "pro"},
    )
    fields.update(overrides)
    return Credential(**fields)


async def test_credential_round_trip_keeps_every_field(store):
    cred = codex_cred(api_key=SECRETS["api_key"])

    saved = await records.save_credential(store, cred, expected_version=0)
    loaded = await records.load_credentials(store)

    assert saved is not None and saved.version == 1 and saved.source == "store"
    assert loaded == [saved]
    assert await records.get_credential(store, cred.id) == saved


async def test_secrets_are_encrypted_in_the_stored_item(store):
    await records.save_credential(store, codex_cred(api_key=SECRETS["api_key"]), expected_version=0)

    raw = await store.get(records.CREDS_PK, "codex-me-example-com")

    for name, plain in SECRETS.items():
        assert raw[name].startswith("enc:v1:")
        assert plain not in str(raw)
    assert raw["email"] == "me@example.com"  # identity stays readable for `auth list`


async def test_save_credential_is_optimistic(store):
    first = await records.save_credential(store, codex_cred(), expected_version=0)
    assert first is not None

    rotated = await records.save_credential(store, codex_cred(access_token="at-2"), expected_version=1)
    stale = await records.save_credential(store, codex_cred(access_token="at-stale"), expected_version=1)
    again = await records.save_credential(store, codex_cred(), expected_version=0)

    assert rotated is not None and rotated.version == 2
    assert stale is None and again is None
    assert (await records.get_credential(store, first.id)).access_token == "at-2"


async def test_load_credentials_skips_a_record_that_cannot_be_decrypted(store):
    await records.save_credential(store, codex_cred(), expected_version=0)
    await records.save_credential(store, codex_cred(id="other"), expected_version=0)
    raw = await store.get(records.CREDS_PK, "other")
    await store.put({**raw, "access_token": "plaintext-leak"})

    assert [c.id for c in await records.load_credentials(store)] == ["codex-me-example-com"]


async def test_delete_credential_removes_its_lease_and_cooldowns(store):
    now = time.time()
    await records.save_credential(store, codex_cred(), expected_version=0)
    await records.set_cooldown(store, "codex-me-example-com", "gpt-5", now + 60, "quota")
    await records.set_cooldown(store, "another", "gpt-5", now + 60, "quota")
    await records.acquire_lease(store, "codex-me-example-com", "me", 60, now)

    assert await records.delete_credential(store, "codex-me-example-com") is True
    assert await records.delete_credential(store, "codex-me-example-com") is False
    assert await records.load_credentials(store) == []
    assert list(await records.load_cooldowns(store, now)) == [("another", "gpt-5")]
    assert await records.acquire_lease(store, "codex-me-example-com", "other", 60, now) is True


async def test_lease_has_a_single_winner_among_racers(store):
    now = time.time()
    won = await asyncio.gather(*(records.acquire_lease(store, "c1", f"owner-{i}", 30, now) for i in range(6)))

    assert won.count(True) == 1


async def test_lease_can_be_taken_over_after_it_expires(store):
    now = time.time()
    assert await records.acquire_lease(store, "c1", "a", 30, now) is True
    assert await records.acquire_lease(store, "c1", "b", 30, now + 29) is False
    assert await records.acquire_lease(store, "c1", "b", 30, now + 30) is True


async def test_release_lease_only_by_its_owner(store):
    now = time.time()
    await records.acquire_lease(store, "c1", "a", 30, now)

    await records.release_lease(store, "c1", "intruder")
    assert await records.acquire_lease(store, "c1", "b", 30, now) is False

    await records.release_lease(store, "c1", "a")
    assert await records.acquire_lease(store, "c1", "b", 30, now) is True


async def test_cooldowns_load_in_one_query_and_expire(store):
    now = time.time()
    await records.set_cooldown(store, "c1", "gpt-5", now + 60, "quota")
    await records.set_cooldown(store, "c1", "*", now + 120, "unauthorized")
    await records.set_cooldown(store, "c2", "claude-x", now - 1, "transient")

    assert await records.load_cooldowns(store, now) == {("c1", "gpt-5"): now + 60, ("c1", "*"): now + 120}
    assert await records.load_cooldowns(store, now + 90) == {("c1", "*"): now + 120}


async def test_clear_cooldown_ends_it_early(store):
    now = time.time()
    await records.set_cooldown(store, "c1", "gpt-5", now + 60, "quota")

    await records.clear_cooldown(store, "c1", "gpt-5")

    assert await records.load_cooldowns(store, now) == {}


async def test_pin_slides_its_expiry_and_lapses(store):
    now = time.time()
    await records.pin(store, "codex", "sess-1", "gpt-5", "c1", 60, now)
    assert await records.get_pin(store, "codex", "sess-1", "gpt-5", now) == ("c1", now + 60)

    await records.pin(store, "codex", "sess-1", "gpt-5", "c2", 60, now + 50)  # re-pin on success
    assert await records.get_pin(store, "codex", "sess-1", "gpt-5", now + 100) == ("c2", now + 110)
    assert await records.get_pin(store, "codex", "sess-1", "gpt-5", now + 110) is None


async def test_pins_are_scoped_by_provider_and_model_group(store):
    now = time.time()
    await records.pin(store, "codex", "s", "gpt-5", "c1", 60, now)

    assert await records.get_pin(store, "gemini", "s", "gpt-5", now) is None
    assert await records.get_pin(store, "codex", "s", "gpt-4", now) is None
    await records.unpin(store, "codex", "s", "gpt-5")
    assert await records.get_pin(store, "codex", "s", "gpt-5", now) is None


async def test_expired_pin_is_absent_in_the_store_itself(store):
    now = time.time()
    await records.pin(store, "codex", "s", "g", "c1", 10, now - 20)

    assert await records.get_pin(store, "codex", "s", "g", now - 15) is None  # the store's clock decides first


async def test_usage_counters_add_up_per_day(store):
    day = records.usage_day(time.time())
    await records.add_usage(store, day, "c1", "gpt-5", {"requests": 1, "input_tokens": 100}, client="team#a")
    await records.add_usage(store, day, "c1", "gpt-5", {"requests": 1, "input_tokens": 20}, client="team#a")
    await records.add_usage(store, day, "c1", "gpt-5", {"requests": 1, "errors": 1}, client="ci")
    await records.add_usage(store, day, "c2", "m", {"requests": 1})

    assert records.usage_day(1_700_000_000) == "2023-11-14"
    assert await records.load_usage(store, day) == {
        ("c1", "gpt-5", "team#a"): {"requests": 2, "input_tokens": 120},
        ("c1", "gpt-5", "ci"): {"requests": 1, "errors": 1},
        ("c2", "m", ""): {"requests": 1},
    }


async def test_usage_records_expire_after_the_keep_period(store):
    old = records.usage_day(time.time() - (records.USAGE_KEEP_DAYS + 2) * 86400)
    kept = records.usage_day(time.time() - (records.USAGE_KEEP_DAYS - 1) * 86400)
    await records.add_usage(store, old, "c1", "m", {"requests": 1})
    await records.add_usage(store, kept, "c1", "m", {"requests": 1})

    assert await records.load_usage(store, old) == {}
    assert await records.load_usage(store, kept) == {("c1", "m", ""): {"requests": 1}}


async def test_dynamodb_without_a_key_refuses_credentials(dynamodb_client):
    from tests.store.conftest import TABLE, create_test_table

    from core import store as stores
    from core.config import StoreConfig

    create_test_table(dynamodb_client)
    keyless = stores.open_store(StoreConfig(backend="dynamodb", table=TABLE), dynamodb_client=dynamodb_client)

    with pytest.raises(records.MissingKeyError):
        await records.save_credential(keyless, codex_cred(), expected_version=0)
