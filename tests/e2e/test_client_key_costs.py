"""What client-key limits cost in DynamoDB calls per request (counted like test_affinity's figures): one read at
most for a key with limits, nothing at all for a key without."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.conftest import CLIENT_KEY
from tests.e2e.test_affinity import chat, counted_app, moto_dynamodb  # noqa: F401 - a fixture

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fakes.upstream import FakeUpstream

KEYS = [
    CLIENT_KEY,
    {"key": "sk-rpm-only", "name": "rpm-only", "requests-per-minute": 100_000},
    {"key": "sk-all-limits", "name": "all-limits", "requests-per-minute": 100_000, "tokens-per-day": 10**12,
     "max-concurrent": 50},
]


@pytest.mark.usefixtures("moto_dynamodb")
async def test_limits_cost_at_most_one_read_per_request(upstream: FakeUpstream, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    async with counted_app(upstream, tmp_path, **{"api-keys": KEYS}) as (client, calls, deps):

        async def ask(key: str) -> tuple[int, int, dict[str, int]]:
            args = chat("costs")
            args["headers"] = {**args["headers"], "authorization": f"Bearer {key}"}
            resp = await client.post("/v1/chat/completions", **args)
            assert resp.status_code == 200, resp.text
            return calls.take()

        await ask(CLIENT_KEY)  # the first request of a process: snapshot load, first usage flush
        deps.state.ttl = 3600.0  # hold the snapshot still so each figure is one request's own cost
        calls.take()
        plain = [await ask(CLIENT_KEY) for _ in range(3)]
        rpm_only = [await ask("sk-rpm-only") for _ in range(3)]
        all_limits = [await ask("sk-all-limits") for _ in range(3)]

    base_reads, base_writes, base_ops = plain[0]
    assert all(p == plain[0] for p in plain)
    for reads, writes, ops in rpm_only:
        assert (reads, writes) == (base_reads, base_writes + 1)  # no read: one atomic ADD decides
        assert ops.get("UpdateItem", 0) == base_ops.get("UpdateItem", 0) + 1
    for reads, writes, ops in all_limits:
        assert reads == base_reads + 1 and ops["Query"] == base_ops.get("Query", 0) + 1  # the one read
        # the minute's ADD, the slot taken and given back, the tokens' ADD
        assert writes == base_writes + 4
    with capsys.disabled():
        print(f"\nDynamoDB calls per request: plain key {plain[0][2]}, rpm only {rpm_only[0][2]}, "
              f"all limits {all_limits[0][2]}")
