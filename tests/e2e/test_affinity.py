"""Sticky sessions through a running proxy, and what they cost in DynamoDB calls per request.

Budget (issue 4): in the steady state (an existing pin on a healthy credential) one read and no write.
The counts are taken with boto3 event hooks on the proxy's own DynamoDB client, against moto.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from tests import dynamo
from tests.conftest import CLIENT_KEY, proxy_config

from core import config as cfgmod
from core import models, pool
from core.store import open_store, records

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream
    from tests.servers import ThreadedServer

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}
READS = frozenset(("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"))
WRITES = frozenset(("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"))


def chat(session: str, model: str = "gpt-5-codex") -> dict[str, Any]:
    return {"json": {"model": model, "messages": [{"role": "user", "content": "hello"}]},
            "headers": {**AUTH, "x-session-id": session}}


def secret_of(fake: FakeUpstream, index: int = -1) -> str:
    codex = [r for r in fake.requests if r.path.endswith("/responses")]
    return codex[index].headers["authorization"].removeprefix("Bearer ")


def stored_pins(path: Path) -> dict[tuple[str, str], str]:
    """Every live pin in the SQLite store: (pk, model group) -> credential id."""
    async def read() -> dict[tuple[str, str], str]:
        store = open_store(cfgmod.StoreConfig(backend="sqlite", path=str(path)))
        try:
            db = store._db  # type: ignore[attr-defined]
            rows = db.execute("SELECT pk, sk FROM items WHERE pk LIKE 'AFF#%'").fetchall()
            out = {}
            for pk, sk in rows:
                item = await store.get(pk, sk)
                if item is not None:
                    out[(pk, sk)] = item["cred_id"]
            return out
        finally:
            await store.close()

    return asyncio.run(read())


def post(proxy: ThreadedServer, session: str, model: str = "gpt-5-codex") -> httpx.Response:
    resp = httpx.post(proxy.url + "/v1/chat/completions", timeout=10, **chat(session, model))
    assert resp.status_code == 200, resp.text
    return resp


def test_each_session_stays_on_its_home_credential(proxy: ThreadedServer, upstream: FakeUpstream,
                                                   tmp_path: Path) -> None:
    creds = cfgmod.parse(proxy_config(upstream, tmp_path), "test").credentials
    target = models.Index(creds).resolve("gpt-5-codex")
    secrets = {c.id: c.api_key for c in creds}
    homes = {f"home-{i}": pool.candidates(target, now=time.time(), cooldowns={}, session=f"header:home-{i}").home
             for i in range(12)}
    assert len(set(homes.values())) == 2, "rendezvous hashing spreads sessions over both credentials"
    for _ in range(2):
        for session, home in homes.items():
            post(proxy, session)
            assert secret_of(upstream) == secrets[home]
    assert stored_pins(tmp_path / "cliproxy.db") == {}  # every session on its home credential: no record


def test_pins_are_scoped_by_model_group(proxy: ThreadedServer, upstream: FakeUpstream, tmp_path: Path) -> None:
    post(proxy, "scoped", "gpt-5-codex")
    codex_home = secret_of(upstream)
    post(proxy, "scoped", "gpt-5")
    upstream.fail(500, times=1, when_token=secret_of(upstream))
    post(proxy, "scoped", "gpt-5")  # moves away from its home for gpt-5 only
    moved_to = secret_of(upstream)
    assert stored_pins(tmp_path / "cliproxy.db") == {("AFF#codex#header:scoped", "gpt-5"): cred_id(upstream, tmp_path, moved_to)}
    post(proxy, "scoped", "gpt-5-codex")
    assert secret_of(upstream) == codex_home
    post(proxy, "scoped", "gpt-5")
    assert secret_of(upstream) == moved_to


def test_thinking_suffix_shares_the_pin_of_its_model(proxy: ThreadedServer, upstream: FakeUpstream,
                                                     tmp_path: Path) -> None:
    upstream.fail(500, times=1)
    post(proxy, "suffix", "gpt-5-codex(high)")
    assert list(stored_pins(tmp_path / "cliproxy.db")) == [("AFF#codex#header:suffix", "gpt-5-codex")]


def test_affinity_off_writes_no_pin(start_proxy: Callable[..., ThreadedServer], upstream: FakeUpstream,
                                    tmp_path: Path) -> None:
    proxy = start_proxy(routing={"session-affinity": False})
    upstream.fail(500, times=1)
    for _ in range(2):
        post(proxy, "off")
    assert stored_pins(tmp_path / "cliproxy.db") == {}


def cred_id(fake: FakeUpstream, tmp_path: Path, secret: str) -> str:
    cfg = cfgmod.parse(proxy_config(fake, tmp_path), "test")
    return next(c.id for c in cfg.credentials if c.api_key == secret)


# --- DynamoDB calls per request ----------------------------------------------------------------------------

TABLE = "cliproxy-affinity-test"
ENCRYPTION_KEY = "Z5sH3pYV0xQm7W8bX2c4d6e8f0g2h4j6k8l0m2n4p6o="


@pytest.fixture
def moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        dynamo.create_table(client, TABLE)
        yield


class Calls:
    """DynamoDB operations the proxy's client made, by name, since the last ``take``."""

    def __init__(self) -> None:
        self.ops: Counter[str] = Counter()

    def __call__(self, event_name: str, **_: Any) -> None:
        self.ops[event_name.rsplit(".", 1)[-1]] += 1

    def take(self) -> tuple[int, int, dict[str, int]]:
        ops, self.ops = self.ops, Counter()
        return (sum(n for op, n in ops.items() if op in READS), sum(n for op, n in ops.items() if op in WRITES),
                dict(ops))


@asynccontextmanager
async def counted_app(upstream: FakeUpstream, tmp_path: Path,
                      **extra: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Calls, Any]]:
    """The app on the moto table (``extra``: more config keys), a client for it, the counter of its DynamoDB
    calls and its deps; the app's runtime is closed at the end."""
    from handlers import api

    raw = proxy_config(upstream, tmp_path, store={"backend": "dynamodb", "table": TABLE, "region": "us-east-1"})
    app = api.create_app(cfgmod.parse({**raw, **extra, "encryption-key": ENCRYPTION_KEY}, "test"))
    deps = await app.state.runtime.deps()
    calls = Calls()
    deps.state.store._client.meta.events.register("before-call.dynamodb", calls)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy",
                                     timeout=10) as client:
            yield client, calls, deps
    finally:
        await app.state.runtime.close()


async def test_dynamodb_calls_per_request(moto_dynamodb: None, upstream: FakeUpstream, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from core import pool

    async with counted_app(upstream, tmp_path) as (client, calls, deps):

        async def ask(session: str) -> tuple[int, int, dict[str, int]]:
            resp = await client.post("/v1/chat/completions", **chat(session))
            assert resp.status_code == 200, resp.text
            return calls.take()

        cold = await ask("home")  # the first request of a process: snapshot load
        deps.state.ttl = 3600.0  # hold the snapshot still so each figure below is one request's own cost
        # a session pinned away from its home credential (as after a failover), pin fresh
        target = (await deps.state.snapshot()).index.resolve("gpt-5-codex")
        home = pool.candidates(target, now=time.time(), cooldowns={}, session="header:pinned").home
        away = next(r.cred for r in target.routes if r.cred.id != home)
        await records.pin(deps.state.store, "codex", "header:pinned", "gpt-5-codex", away.id, 3600, time.time())
        calls.take()
        steady_pinned = [await ask("pinned") for _ in range(5)]
        assert secret_of(upstream) == away.api_key
        steady_home = [await ask("home") for _ in range(3)]
        deps.state.invalidate()
        reload = await ask("home")
        new_session = await ask("new-session")
        new_home = secret_of(upstream)
        upstream.fail(500, times=1, when_token=new_home)
        failover = await ask("new-session")
        assert secret_of(upstream, -2) == new_home and secret_of(upstream) != new_home

    for reads, writes, ops in steady_pinned + steady_home:
        assert (reads, writes, ops["UpdateItem"]) == (1, 1, 1)  # the pin read; the usage ADD, nothing else
    assert new_session[:2] == (1, 1)  # the pin read (a miss); its home credential needs no pin record
    assert failover[:2] == (1, 4)  # the pin read; the cooldown, the last error, the moved pin, the usage ADD
    assert reload[2] == {"Query": 2, "GetItem": 1, "UpdateItem": 1}  # every few seconds: credentials and cooldowns
    with capsys.disabled():
        print(f"\nDynamoDB calls per request: steady (pinned) {steady_pinned[0][2]}, steady (home) "
              f"{steady_home[0][2]}, new session {new_session[2]}, failover {failover[2]}; "
              f"plus per snapshot reload {{'Query': 2}}, first request of a process {cold[2]}")


def test_pin_slides_only_past_half_its_ttl(moto_dynamodb: None) -> None:
    """A success re-writes the pin only when it moves or has less than half its TTL left; a success on the
    session's home credential needs no pin."""
    from core.state import PoolState

    base = time.time()  # the store checks expiry against the wall clock: stay at or after it
    now = [base]
    cfg = cfgmod.parse({"encryption-key": ENCRYPTION_KEY, "routing": {"session-affinity-ttl": "1h"},
                        "store": {"backend": "dynamodb", "table": TABLE}}, "test")
    state = PoolState(cfg, open_store(cfg.store), clock=lambda: now[0])
    calls = Calls()
    state.store._client.meta.events.register("before-call.dynamodb", calls)  # type: ignore[attr-defined]

    async def successes(steps: tuple[tuple[float, str], ...], home: str = "h") -> list[tuple[int, int]]:
        out, _ = [], calls.take()
        for after, cred in steps:
            now[0] = base + after
            await state.pin("codex", "s", "g", cred, await state.get_pin("codex", "s", "g"), home=home)
            out.append(calls.take()[:2])
        return out

    moved_away = ((0, "a"), (60, "a"), (1700, "a"), (1900, "a"), (1960, "b"))
    assert asyncio.run(successes(moved_away)) == [(1, 1), (1, 0), (1, 0), (1, 1), (1, 1)]
    assert asyncio.run(state.get_pin("codex", "s", "g")) == ("b", base + 1960 + 3600)
    # back on its home credential: the pin goes (one delete), after that nothing is written
    assert asyncio.run(successes(((2000, "h"), (2100, "h")))) == [(1, 1), (1, 0)]
    assert asyncio.run(state.get_pin("codex", "s", "g")) is None
