"""Usage is counted in the store as each request ends: two instances on one store, no shutdown hook, and the
report reads exactly the requests sent, per credential, model and client key."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import CLIENT_KEY

from core import usage
from core.config import StoreConfig
from core.store import open_store, records
from handlers import clientkeys

CHAT = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hello"}]}
AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}


def read_usage(tmp_path: Path, by: str) -> list[usage.Row]:
    async def go() -> list[usage.Row]:
        store = open_store(StoreConfig(backend="sqlite", path=str(tmp_path / "cliproxy.db")))
        try:
            return await usage.report(store, [records.usage_day(time.time())], by)
        finally:
            await store.close()

    return asyncio.run(go())


def send(url: str, i: int) -> dict[str, Any]:
    """Request ``i``: every third one streams; returns the usage the client saw (zeros for a stream)."""
    if i % 3 == 2:
        body = {**CHAT, "stream": True}
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, headers=AUTH, timeout=10) as resp:
            resp.read()
        assert resp.status_code == 200
        return {}
    resp = httpx.post(url + "/v1/chat/completions", json=CHAT, headers=AUTH, timeout=10)
    assert resp.status_code == 200
    return resp.json()["usage"]


def test_requests_through_two_instances_are_counted_exactly_once_each(start_proxy: Any, tmp_path: Path) -> None:
    a, b = start_proxy(), start_proxy()  # two processes' worth of memory, one store
    seen = [send((a, b)[i % 2].url, i) for i in range(9)]

    rows = read_usage(tmp_path, "client-key")  # read while both still run: nothing waits in memory
    assert [r.key for r in rows] == [clientkeys.client_label(CLIENT_KEY)]
    (row,) = rows
    assert row.requests == 9 and row.errors == 0
    one = next(u for u in seen if u)  # the fake answers every request with the same counts, streams too
    assert (row.input_tokens, row.output_tokens) == (9 * one["prompt_tokens"], 9 * one["completion_tokens"])
    assert row.cached_tokens == 9 * one["prompt_tokens_details"]["cached_tokens"] > 0
    assert row.reasoning_tokens == 9 * one["completion_tokens_details"]["reasoning_tokens"] > 0
    assert sum(r.requests for r in read_usage(tmp_path, "credential")) == 9
    assert [(r.key, r.requests) for r in read_usage(tmp_path, "model")] == [("gpt-5-codex", 9)]


def test_a_failed_request_counts_as_a_request_and_an_error(start_proxy: Any, upstream: Any, tmp_path: Path) -> None:
    proxy = start_proxy(**{"request-retry": 0})
    upstream.fail(400, times=1, body={"error": {"type": "invalid_request_error", "message": "bad"}})
    assert httpx.post(proxy.url + "/v1/chat/completions", json=CHAT, headers=AUTH, timeout=10).status_code == 400
    assert httpx.post(proxy.url + "/v1/chat/completions", json=CHAT, headers=AUTH, timeout=10).status_code == 200
    unknown = {**CHAT, "model": "no-such-model"}  # an unknown model is not a dimension anyone can fill
    assert httpx.post(proxy.url + "/v1/chat/completions", json=unknown, headers=AUTH, timeout=10).status_code == 404

    (row,) = read_usage(tmp_path, "model")
    assert (row.key, row.requests, row.errors) == ("gpt-5-codex", 2, 1)


@pytest.mark.parametrize("bad", [("2026-01-05", "2026-01-01"), ("2026-13-01", None)])
def test_a_bad_range_is_refused(bad: tuple[str, str | None]) -> None:
    with pytest.raises(usage.UsageQueryError):
        usage.day_range(*bad)


def test_a_default_range_ends_today() -> None:
    import datetime as dt

    days = usage.day_range(None, None, today=dt.date(2026, 3, 2), days=3)
    assert days == ["2026-02-28", "2026-03-01", "2026-03-02"]
