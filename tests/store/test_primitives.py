"""The five primitives and their conditions behave the same on every backend."""

from __future__ import annotations

import asyncio
import time

from core.store import IfAbsent, IfExpired, IfVersion


def item(pk: str = "P", sk: str = "S", **fields):  # type: ignore[no-untyped-def]
    return {"pk": pk, "sk": sk, **fields}


async def test_put_then_get_returns_the_item_with_plain_numbers(store):
    await store.put(item(n=3, f=1.5, nested={"a": [1, 2.25, "x", None, True]}, empty={}))

    got = await store.get("P", "S")

    assert got == item(n=3, f=1.5, nested={"a": [1, 2.25, "x", None, True]}, empty={})
    assert type(got["n"]) is int and type(got["f"]) is float


async def test_get_missing_is_none(store):
    assert await store.get("P", "nothing") is None


async def test_put_without_condition_replaces_the_whole_item(store):
    await store.put(item(a=1, b=2))
    await store.put(item(a=5))

    assert await store.get("P", "S") == item(a=5)


async def test_query_returns_the_partition_in_sort_key_order_filtered_by_prefix(store):
    for sk in ("b#2", "a#1", "b#1", "c"):
        await store.put(item(sk=sk))
    await store.put(item(pk="OTHER", sk="b#3"))

    assert [i["sk"] for i in await store.query("P")] == ["a#1", "b#1", "b#2", "c"]
    assert [i["sk"] for i in await store.query("P", "b#")] == ["b#1", "b#2"]
    assert await store.query("NONE") == []


async def test_delete_removes_the_item_and_ignores_missing_ones(store):
    await store.put(item())
    await store.delete("P", "S")
    await store.delete("P", "S")

    assert await store.get("P", "S") is None


async def test_expired_items_are_absent_from_get_and_query(store):
    now = time.time()
    await store.put(item(sk="old", ttl=now - 1))
    await store.put(item(sk="live", ttl=now + 3600))

    assert await store.get("P", "old") is None
    assert [i["sk"] for i in await store.query("P")] == ["live"]


async def test_if_absent_refuses_a_live_item_and_accepts_an_expired_one(store):
    now = time.time()
    assert await store.put(item(v="first"), cond=IfAbsent(now)) is True
    assert await store.put(item(v="second"), cond=IfAbsent(now)) is False
    assert (await store.get("P", "S"))["v"] == "first"

    await store.put(item(v="expiring", ttl=now - 1))
    assert await store.put(item(v="after"), cond=IfAbsent(now)) is True
    assert (await store.get("P", "S"))["v"] == "after"


async def test_concurrent_if_absent_has_exactly_one_winner(store):
    now = time.time()
    results = await asyncio.gather(*(store.put(item(owner=i), cond=IfAbsent(now)) for i in range(8)))

    assert results.count(True) == 1
    winner = results.index(True)
    assert (await store.get("P", "S"))["owner"] == winner


async def test_if_expired_waits_for_the_ttl(store):
    now = time.time()
    assert await store.put(item(owner="a", ttl=now + 30), cond=IfExpired(now)) is True
    assert await store.put(item(owner="b", ttl=now + 30), cond=IfExpired(now)) is False
    assert await store.put(item(owner="b", ttl=now + 90), cond=IfExpired(now + 31)) is True
    assert (await store.get("P", "S"))["owner"] == "b"


async def test_if_expired_refuses_an_item_without_ttl(store):
    await store.put(item(owner="forever"))

    assert await store.put(item(owner="b"), cond=IfExpired(time.time())) is False


async def test_if_version_zero_creates_and_then_conflicts(store):
    assert await store.put(item(version=1, v="a"), cond=IfVersion(0)) is True
    assert await store.put(item(version=1, v="b"), cond=IfVersion(0)) is False
    assert (await store.get("P", "S"))["v"] == "a"


async def test_if_version_accepts_only_the_current_version(store):
    await store.put(item(version=4, v="v4"))

    assert await store.put(item(version=5, v="stale"), cond=IfVersion(3)) is False
    assert await store.put(item(version=5, v="v5"), cond=IfVersion(4)) is True
    assert await store.put(item(version=5, v="again"), cond=IfVersion(4)) is False
    assert (await store.get("P", "S"))["v"] == "v5"


async def test_add_creates_and_increments_counters(store):
    await store.add("U", "c#m", {"requests": 1, "tokens": 10})
    await store.add("U", "c#m", {"requests": 1, "tokens": 5, "errors": 1})

    assert await store.get("U", "c#m") == {"pk": "U", "sk": "c#m", "requests": 2, "tokens": 15, "errors": 1}


async def test_concurrent_adds_are_not_lost(store):
    await asyncio.gather(*(store.add("U", "c#m", {"requests": 1}) for _ in range(10)))

    assert (await store.get("U", "c#m"))["requests"] == 10


async def test_each_of_many_concurrent_adds_sees_its_own_running_total(store):
    """What the limits rely on (a request-per-minute counter): 60 adds at once on two items, each answered
    with the count up to and including itself, so no two callers on one item see the same total."""
    seen = await asyncio.gather(*(store.add("U", f"k#{i % 2}", {"n": 1, "t": 2}) for i in range(60)))

    for key in (0, 1):
        mine = sorted(r["n"] for i, r in enumerate(seen) if i % 2 == key)
        assert mine == list(range(1, 31))
    assert all(r["t"] == 2 * r["n"] for r in seen)
    assert (await store.get("U", "k#0"))["n"] == (await store.get("U", "k#1"))["n"] == 30


async def test_an_add_whose_caller_is_cancelled_is_still_counted(store):
    """A client that hangs up while its usage is being written is still counted (on DynamoDB the cancelled add
    finishes on its own thread, in no set order with the adds after it: hence the bounded wait)."""
    adding = asyncio.ensure_future(store.add("U", "c#m", {"requests": 1}))
    await asyncio.sleep(0)
    adding.cancel()
    await asyncio.gather(*(store.add("U", "c#m", {"requests": 1}) for _ in range(3)))

    deadline = time.monotonic() + 5
    while (await store.get("U", "c#m"))["requests"] < 4 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert (await store.get("U", "c#m"))["requests"] == 4
