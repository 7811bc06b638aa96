"""DynamoDB calls per request, counted in-process on moto with a botocore event hook.

The pipeline runs exactly as in production (``core.service.handle`` with the DynamoDB store and the shared
shared client) against the bench's fake upstream; only the table is moto's. Three cases:

    steady       an existing pin on a healthy credential (the common case: target <= 1 read, 1 write: the
                 request's usage, counted as it ends)
    new_session  a session the store has not seen (its pin is written after the first success)
    failover     the first credential answers 429: a cooldown is written and the next one serves
    limited      steady, from a client key with every limit (requests-per-minute, tokens-per-day,
                 max-concurrent): what the limits add (target: 1 read; a key without limits adds nothing)
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from bench import scenarios, targets

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
KEY = "Z5sH3pYV0xQm7W8bX2c4d6e8f0g2h4j6k8l0m2n4p6o="  # a fixed bench-only encryption key
TABLE = "cliproxy-bench"


class CallCounter:
    def __init__(self, client: Any) -> None:
        self.ops: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, event_name: str, **_: Any) -> None:
        self.ops[event_name.rsplit(".", 1)[-1]] += 1

    def take(self) -> Counter[str]:
        ops, self.ops = self.ops, Counter()
        return ops


def _per_request(ops: Counter[str], n: int) -> dict[str, Any]:
    return {"reads": sum(v for k, v in ops.items() if k in READS) / n,
            "writes": sum(v for k, v in ops.items() if k in WRITES) / n,
            "calls": {k: v / n for k, v in sorted(ops.items())}}


def _config(workdir: Path, upstream: int) -> Path:
    """The bench config, on DynamoDB, plus a higher-priority credential the fake refuses with 429."""
    return targets.cliproxy_config(workdir, upstream, store=f"{{backend: dynamodb, table: {TABLE}, region: us-east-1}}",
                                   more_compat=f"""  - name: bench-failing
    base-url: http://127.0.0.1:{upstream}/v1
    priority: 1
    api-key-entries: [{{api-key: sk-bench-fail}}]
    models: [{{name: {targets.CHAT_MODEL}, alias: failover-chat}}]
  - name: bench-backup
    base-url: http://127.0.0.1:{upstream}/v1
    api-key-entries: [{{api-key: sk-bench-upstream-2}}]
    models: [{{name: {targets.CHAT_MODEL}, alias: failover-chat}}]
""")


async def count(workdir: Path, upstream: int, *, requests: int = 30) -> dict[str, Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        return await _count(client, _config(workdir, upstream), requests)


async def _count(client: Any, config_path: Path, n: int) -> dict[str, Any]:
    from core import config as cfgmod
    from core import store as stores
    from core.call import Deps
    from core.executors import transport
    from core.state import PoolState

    config = cfgmod.load(str(config_path))
    store = stores.open_store(config.store, dynamodb_client=client, encryption_key=KEY)
    await store.init()
    counter = CallCounter(client)
    http = transport.make_client()
    try:
        deps = Deps(config=config, http=http, state=PoolState(config, store))
        for _ in range(3):  # warm: snapshot loaded, pin written, first usage flush done
            await _chat(deps, "steady")
        counter.take()
        for _ in range(n):
            await _chat(deps, "steady")
        steady = _per_request(counter.take(), n)
        for i in range(n):
            await _chat(deps, f"new-{i}")
        new = _per_request(counter.take(), n)
        failover = await _failovers(config, store, http, counter, n=5)
        limited = await _limited(deps, counter, n)
    finally:
        await http.aclose()
    return {"steady": steady, "new_session": new, "failover": failover, "limited": limited,
            "snapshot_reload": "2 queries (credentials, cooldowns) per instance every 3 s, not per request"}


async def _failovers(config: Any, store: Any, http: Any, counter: CallCounter, *, n: int) -> dict[str, Any]:
    """Each on a fresh instance whose snapshot is loaded, so only the request's own calls are counted."""
    from core.call import Deps
    from core.state import PoolState
    from core.store import records

    total: Counter[str] = Counter()
    for i in range(n):
        for cred_id, group in await records.load_cooldowns(store, 0.0):
            await records.clear_cooldown(store, cred_id, group)
        state = PoolState(config, store)
        await state.snapshot()
        counter.take()
        await _chat(Deps(config=config, http=http, state=state), f"failover-{i}", model="failover-chat")
        ops = counter.take()
        if ops["PutItem"] < 2:
            raise RuntimeError(f"failover request did not fail over: {dict(ops)}")
        total += ops
    return _per_request(total, n)


async def _limited(deps: Any, counter: CallCounter, n: int) -> dict[str, Any]:
    """The steady case again from a key with every limit, less the steady case: the limits' own calls."""
    from core.config import ClientKey

    client = ClientKey(key=targets.CLIENT_KEY, name="bench-limited", max_concurrent=64,
                       requests_per_minute=1_000_000, tokens_per_day=10**12)
    await _chat(deps, "steady", client=client)
    counter.take()
    for _ in range(n):
        await _chat(deps, "steady", client=client)
    total = _per_request(counter.take(), n)
    base = await _steady(deps, counter, n)
    return {"reads": total["reads"] - base["reads"], "writes": total["writes"] - base["writes"],
            "calls": total["calls"]}


async def _steady(deps: Any, counter: CallCounter, n: int) -> dict[str, Any]:
    counter.take()
    for _ in range(n):
        await _chat(deps, "steady")
    return _per_request(counter.take(), n)


async def _chat(deps: Any, session: str, *, model: str = targets.CHAT_MODEL, client: Any = None) -> None:
    import orjson

    from core import service
    from core.call import ClientCall

    body = scenarios.chat_body(model, stream=False)
    call = ClientCall(dialect="openai_chat", raw=orjson.dumps(body), principal=targets.CLIENT_KEY,
                      headers={"x-session-id": session, "content-type": "application/json"}, client=client)
    reply = await service.handle(call, deps)
    if reply.status != 200:
        raise RuntimeError(f"bench request failed with {reply.status}: {reply.body!r}")
