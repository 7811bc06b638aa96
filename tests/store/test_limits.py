"""Client-key limits on every backend: the primitives they need (ADD's totals, IfOwner), and core.limits itself
with several 'instances' (admissions) sharing one store."""

from __future__ import annotations

import asyncio
import time

import pytest

from core import errors, ir, limits
from core.config import ClientKey
from core.store import IfExpired, IfOwner


async def test_add_returns_the_new_totals(store):
    assert await store.add("P", "S", {"requests": 1}) == {"requests": 1}
    assert await store.add("P", "S", {"requests": 2, "tokens": 5}) == {"requests": 3, "tokens": 5}


def racing(store, calls):  # type: ignore[no-untyped-def]
    """The calls at once, except on DynamoDB: real DynamoDB applies each UpdateItem and conditional put
    atomically, but moto (in-process, called from several threads) does not, so there they go one by one."""
    if type(store).__name__ == "DynamoStore":
        async def one_by_one():  # type: ignore[no-untyped-def]
            out = []
            for call in calls:
                try:
                    out.append(await call)
                except Exception as exc:  # noqa: BLE001 - gathered like return_exceptions=True
                    out.append(exc)
            return out
        return one_by_one()
    return asyncio.gather(*calls, return_exceptions=True)


async def test_concurrent_adds_each_see_a_distinct_total(store):
    totals = await racing(store, [store.add("P", "S", {"n": 1}) for _ in range(10)])
    assert sorted(t["n"] for t in totals) == list(range(1, 11))  # what makes a per-minute limit exact


async def test_if_owner_writes_only_over_ones_own_item(store):
    now = time.time()
    assert await store.put({"pk": "P", "sk": "L", "owner": "a", "ttl": now + 60}, cond=IfExpired(now))
    assert not await store.put({"pk": "P", "sk": "L", "owner": "b", "ttl": now}, cond=IfOwner("b"))
    assert await store.put({"pk": "P", "sk": "L", "owner": "a", "ttl": now}, cond=IfOwner("a"))
    assert await store.get("P", "L") is None  # released: expired, so free for the next IfExpired
    assert not await store.put({"pk": "P", "sk": "M", "owner": "a", "ttl": now}, cond=IfOwner("a"))  # absent


def key(**limits_: int) -> ClientKey:
    return ClientKey(key="sk-limited", name="team-a", **limits_)


async def test_a_key_without_limits_reads_and_writes_nothing(store):
    assert await limits.admit(ClientKey(key="sk-free", name="free"), store, time.time()) is None
    assert await limits.admit(None, store, time.time()) is None
    assert await store.query("LIMIT#free") == []


async def test_requests_per_minute_hold_for_the_sum_and_say_when_to_retry(store):
    client, now = key(requests_per_minute=3), time.time()
    for _ in range(3):
        assert await limits.admit(client, store, now) is not None
    with pytest.raises(errors.ClientLimitError) as refused:
        await limits.admit(client, store, now)
    assert refused.value.status == 429
    assert 1 <= refused.value.retry_after <= 60
    assert "team-a" in refused.value.message and "sk-limited" not in refused.value.message
    assert await limits.admit(client, store, now + 60) is not None  # the next minute's window


async def test_tokens_per_day_refuse_once_used_up(store):
    client, now = key(tokens_per_day=100), time.time()
    first = await limits.admit(client, store, now)
    await first.count(ir.Usage(input_tokens=60, output_tokens=30))
    second = await limits.admit(client, store, now)  # 90 < 100: still let through
    await second.count(ir.Usage(input_tokens=5, output_tokens=5))
    with pytest.raises(errors.ClientLimitError) as refused:
        await limits.admit(client, store, now)
    assert refused.value.retry_after > 0 and refused.value.retry_after <= 86400
    (day,) = [i for i in await store.query("LIMIT#team-a") if i["sk"].startswith("DAY#")]
    assert day["tokens"] == 100 and day["ttl"] > now + 86400 - 1


async def test_concurrency_slots_are_leased_and_given_back(store):
    client, now = key(max_concurrent=2), time.time()
    a, b = await limits.admit(client, store, now), await limits.admit(client, store, now)
    assert {a.slot, b.slot} == {"SLOT#0", "SLOT#1"}
    with pytest.raises(errors.ClientLimitError):
        await limits.admit(client, store, now)
    await a.release()
    await a.release()  # once only
    c = await limits.admit(client, store, time.time())
    assert c.slot == a.slot


async def test_racing_admissions_never_exceed_the_concurrency(store):
    client, now = key(max_concurrent=3), time.time()
    got = await racing(store, [limits.admit(client, store, now) for _ in range(8)])
    admitted = [g for g in got if isinstance(g, limits.Admission)]
    assert len(admitted) == 3 and len({a.slot for a in admitted}) == 3
    assert all(isinstance(g, errors.ClientLimitError) for g in got if g not in admitted)


async def test_a_lease_never_released_frees_itself_when_it_expires(store, monkeypatch):
    monkeypatch.setenv("CLIPROXY_LEASE_SECONDS", "1")
    client = key(max_concurrent=1)
    held = await limits.admit(client, store, time.time())  # its instance dies: never released
    with pytest.raises(errors.ClientLimitError):
        await limits.admit(client, store, time.time())
    await asyncio.sleep(1.1)
    taken = await limits.admit(client, store, time.time())
    assert taken.slot == held.slot
    await held.release()  # the late release of the dead owner leaves the new lease alone
    with pytest.raises(errors.ClientLimitError):
        await limits.admit(client, store, time.time())


async def test_a_held_stream_gives_its_slot_back_when_closed_early(store):
    client = key(max_concurrent=1)
    admission = await limits.admit(client, store, time.time())

    async def chunks():
        for i in range(10):
            yield b"x%d" % i

    stream = admission.hold(chunks())
    assert await anext(stream) == b"x0"
    await stream.aclose()  # the client hung up
    assert admission.released
    assert await limits.admit(client, store, time.time()) is not None


def test_model_globs_with_and_without_thinking_suffix() -> None:
    client = ClientKey(key="k", models=("claude-*", "gpt-5"))
    limits.check_model(client, "claude-sonnet-4-5")
    limits.check_model(client, "gpt-5(high)")
    with pytest.raises(errors.ProxyError) as refused:
        limits.check_model(client, "gpt-5-codex")
    assert refused.value.status == 403
    limits.check_model(None, "anything")
