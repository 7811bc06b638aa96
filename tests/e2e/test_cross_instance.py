"""Two proxy processes (separate memory) sharing nothing but one DynamoDB table (moto server on loopback).

What one instance learns -- a session's pin, a credential's cooldown, refreshed OAuth tokens -- the other
uses; a killed and restarted instance (a cold start) finds it all again in the table.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml
from tests import dynamo
from tests.conftest import CLIENT_KEY, proxy_config
from tests.servers import free_port

from core import config as cfgmod
from core import models, pool
from core.credentials import Credential, ModelAlias
from core.state import PoolState
from core.store import open_store, records

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream

ROOT = Path(__file__).resolve().parents[2]
TABLE = "cliproxy-cross-instance"
KEY = "Z5sH3pYV0xQm7W8bX2c4d6e8f0g2h4j6k8l0m2n4p6o="
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
OAUTH_ID, OAUTH_MODEL, OAUTH_REFRESH = "codex-oauth-shared", "oauth-codex", "rt-shared-1"


class Instance:
    """``cliproxy serve`` in its own process on a fixed loopback port."""

    def __init__(self, name: str, config: Path, logs: Path) -> None:
        self.name, self.config, self.logs = name, config, logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Instance:
        env = {k: v for k, v in os.environ.items() if k not in ("CLIPROXY_CONFIG", "AWS_LAMBDA_FUNCTION_NAME")}
        env.update(AWS_ENV, CLIPROXY_ENCRYPTION_KEY=KEY)
        with open(self.logs / f"{self.name}.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "handlers.cli", "serve", "--config", str(self.config),
                 "--host", "127.0.0.1", "--port", str(self.port)], cwd=ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.logs / f"{self.name}.log").read_text()
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"instance {self.name} did not start")

    def kill(self) -> None:
        """An abrupt end, as when a Lambda instance is reclaimed: no shutdown hooks run."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def ask(self, session: str, model: str, **kw: Any) -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": "hello"}]}
        headers = {"authorization": f"Bearer {CLIENT_KEY}", "x-session-id": session}
        return httpx.post(self.url + "/v1/chat/completions", json=body, headers=headers, timeout=20, **kw)


@dataclass
class Cluster:
    a: Instance
    b: Instance
    endpoint: str
    creds: tuple[Credential, ...]  # the config's (API key) credentials

    def table(self, work: Any) -> Any:
        """Run ``work(store)`` against the shared table from the test process."""
        async def go() -> Any:
            client = dynamo.client(self.endpoint)
            cfg = cfgmod.StoreConfig(backend="dynamodb", table=TABLE, endpoint_url=self.endpoint)
            return await work(open_store(cfg, dynamodb_client=client, encryption_key=KEY))

        return asyncio.run(go())

    def pin(self, session: str, model: str) -> str | None:
        found = self.table(lambda s: records.get_pin(s, "codex", f"header:{session}", model, time.time()))
        return found[0] if found else None

    def home(self, session: str, model: str) -> str:
        target = models.Index(self.creds).resolve(model)
        home = pool.candidates(target, now=time.time(), cooldowns={}, session=f"header:{session}").home
        assert home is not None
        return home

    def secret(self, cred_id: str) -> str:
        return next(c.api_key for c in self.creds if c.id == cred_id)  # type: ignore[return-value]

    def cred_id(self, secret: str) -> str:
        return next(c.id for c in self.creds if c.api_key == secret)


def seen(fake: FakeUpstream) -> list[str]:
    """The credential secret of every Codex request so far, in order."""
    return [r.headers["authorization"].removeprefix("Bearer ") for r in fake.requests
            if r.path.endswith("/responses")]


def continuity(fake: FakeUpstream) -> list[str]:
    return [r.body["prompt_cache_key"] for r in fake.requests if r.path.endswith("/responses")]


@pytest.fixture(scope="module")
def cluster(fake: FakeUpstream, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cross")
    endpoint = moto_endpoint
    doc = proxy_config(fake, tmp, store={"backend": "dynamodb", "table": TABLE, "region": "us-east-1",
                                         "endpoint-url": endpoint})
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(doc))
    dynamo.create_table(dynamo.client(endpoint), TABLE)
    creds = cfgmod.parse(doc, "test").credentials
    cluster = Cluster(Instance("a", config, tmp), Instance("b", config, tmp), endpoint, creds)
    # an OAuth credential near expiry, served under its own model name so other tests never touch it
    near_expiry = Credential(id=OAUTH_ID, kind="codex", provider="codex", auth_type="oauth",
                             access_token="at-shared-old", refresh_token=OAUTH_REFRESH, account_id="acct-shared",
                             expires_at=time.time() + 60, base_url=fake.codex_base_url,
                             models=(ModelAlias("gpt-5-codex", OAUTH_MODEL),))
    assert cluster.table(lambda s: records.save_credential(s, near_expiry, expected_version=0)) is not None
    with ThreadPoolExecutor(2) as starting:  # both cold starts at once: half the wait
        list(starting.map(Instance.start, (cluster.a, cluster.b)))
    try:
        yield cluster
    finally:
        cluster.a.stop()
        cluster.b.stop()


def move_away_from_home(cluster: Cluster, fake: FakeUpstream, via: Instance, session: str, model: str) -> str:
    """One request whose home credential fails once: it succeeds elsewhere and pins there. Returns that id."""
    home = cluster.home(session, model)
    fake.fail(500, times=1, when_token=cluster.secret(home))
    assert via.ask(session, model).status_code == 200
    assert seen(fake)[-2:] == [cluster.secret(home), seen(fake)[-1]] and seen(fake)[-1] != cluster.secret(home)
    away = cluster.cred_id(seen(fake)[-1])
    assert cluster.pin(session, model) == away
    # the home credential is healthy again in the table, so only the pin can keep the session away
    cluster.table(lambda s: records.clear_cooldown(s, home, model))
    return away


def test_session_pinned_via_a_continues_on_the_same_credential_via_b(cluster: Cluster,
                                                                       upstream: FakeUpstream) -> None:
    model = "gpt-5"
    away = move_away_from_home(cluster, upstream, cluster.a, "x-pin", model)
    for _ in range(2):
        assert cluster.b.ask("x-pin", model).status_code == 200
    assert seen(upstream)[2:] == [cluster.secret(away)] * 2
    assert len(set(continuity(upstream))) == 1  # one upstream cache identity on both instances


def test_cooldown_set_by_a_is_honoured_by_b(cluster: Cluster, upstream: FakeUpstream) -> None:
    model = "gpt-5.1"
    cooled = cluster.home("x-cool-a", model)
    upstream.fail(429, times=1, retry_after=30, when_token=cluster.secret(cooled))
    assert cluster.a.ask("x-cool-a", model).status_code == 200
    assert seen(upstream)[0] == cluster.secret(cooled)
    cooldowns = cluster.table(lambda s: records.load_cooldowns(s, time.time()))
    assert (cooled, model) in cooldowns
    # another session whose home is the cooled credential, sent to B once B's snapshot may be stale no more
    session = next(f"x-cool-b{i}" for i in range(200) if cluster.home(f"x-cool-b{i}", model) == cooled)
    time.sleep(PoolState.ttl)
    assert cluster.b.ask(session, model).status_code == 200
    (healthy,) = {c.api_key for c in cluster.creds if c.kind == "codex" and c.id != cooled}
    assert seen(upstream)[2:] == [healthy]  # B never tried the credential A cooled down


def test_killed_and_restarted_instance_keeps_the_pin(cluster: Cluster, upstream: FakeUpstream) -> None:
    model = "gpt-5.1-codex"
    away = move_away_from_home(cluster, upstream, cluster.a, "x-cold", model)
    cluster.a.kill()
    cluster.a.start()  # a cold start: new process, empty memory
    assert cluster.a.ask("x-cold", model).status_code == 200
    assert seen(upstream)[2:] == [cluster.secret(away)]
    keys = continuity(upstream)
    assert keys[0] == keys[-1]  # the continuity key is derived, so the cold instance sends the same one


def test_concurrent_refreshes_across_instances_use_the_refresh_token_once(cluster: Cluster,
                                                                         upstream: FakeUpstream) -> None:
    def ask(i: int) -> int:
        via = cluster.a if i % 2 else cluster.b
        return via.ask(f"x-refresh-{i}", OAUTH_MODEL).status_code

    with ThreadPoolExecutor(8) as pool_:
        statuses = list(pool_.map(ask, range(8)))
    assert statuses == [200] * 8
    assert upstream.refresh_uses == {OAUTH_REFRESH: 1}
    tokens = set(seen(upstream))
    assert len(tokens) == 1 and next(iter(tokens)).startswith("fake-access-")  # every request used the new token
    stored = cluster.table(lambda s: records.get_credential(s, OAUTH_ID))
    assert stored.access_token in tokens and stored.refresh_token != OAUTH_REFRESH
    assert stored.version == 2  # written once


def test_instances_agree_on_every_session_without_any_pin(cluster: Cluster, upstream: FakeUpstream) -> None:
    """New sessions land on their home credential whichever instance they reach, with no record written."""
    model = "gpt-5.2"
    by_home: dict[str, list[str]] = {}
    for i in range(200):
        by_home.setdefault(cluster.home(f"x-agree-{i}", model), []).append(f"x-agree-{i}")
    sessions = [(s, home) for home, group in by_home.items() for s in group[:3]]
    assert len(sessions) == 6  # three sessions on each credential
    for session, home in sessions:
        for via in (cluster.a, cluster.b):
            assert via.ask(session, model).status_code == 200
            assert seen(upstream)[-1] == cluster.secret(home)
    assert all(cluster.pin(session, model) is None for session, _ in sessions)


# --- the same single-flight rules, two PoolStates on one store in one process (fast, exact interleavings) ---


TOKEN_URL = "http://token.test/oauth/token"


def two_instances() -> tuple[PoolState, PoolState, Credential]:
    from core import crypto
    from core.store.memory import MemoryStore

    store = MemoryStore(cipher=crypto.cipher_for_store("memory", "", None))
    cfg = cfgmod.parse({"oauth": {"codex-token-url": TOKEN_URL}}, "test")
    cred = Credential(id="codex-oauth-mem", kind="codex", provider="codex", auth_type="oauth", access_token="at-1",
                      refresh_token="rt-1", expires_at=time.time() + 60)
    return PoolState(cfg, store), PoolState(cfg, store), cred


def token_endpoint(answer: Any) -> httpx.AsyncClient:
    """A client whose every request reaches ``answer(refresh_token)`` -> (status, JSON body)."""
    import urllib.parse

    async def handle(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == TOKEN_URL
        form = dict(urllib.parse.parse_qsl((await request.aread()).decode()))
        status, body = await answer(form["refresh_token"])
        return httpx.Response(status, json=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def test_racing_instances_refresh_once_and_share_the_tokens() -> None:
    a, b, cred = two_instances()
    cred = await records.save_credential(a.store, cred, expected_version=0)
    spent: list[str] = []

    async def answer(refresh_token: str) -> tuple[int, dict[str, Any]]:
        spent.append(refresh_token)
        await asyncio.sleep(0.05)  # the token endpoint is slow: everyone else piles up meanwhile
        return 200, {"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600}

    async with token_endpoint(answer) as http:
        got = await asyncio.gather(*(s.fresh(cred, http) for s in (a, b) * 5))
    assert spent == ["rt-1"]
    assert {c.access_token for c in got} == {"at-2"}
    stored = await records.get_credential(a.store, cred.id)
    assert (stored.refresh_token, stored.version) == ("rt-2", 2)


async def test_a_spent_refresh_token_falls_back_to_what_the_other_writer_stored() -> None:
    a, _, cred = two_instances()
    cred = await records.save_credential(a.store, cred, expected_version=0)

    async def answer(refresh_token: str) -> tuple[int, dict[str, Any]]:
        # another instance (whose lease had run out) refreshed first and stored its tokens
        await records.save_credential(a.store, replace(cred, access_token="at-other", refresh_token="rt-other",
                                                       expires_at=time.time() + 3600), expected_version=cred.version)
        return 400, {"error": "invalid_grant"}

    async with token_endpoint(answer) as http:
        got = await a.fresh(cred, http)
    assert (got.access_token, got.version) == ("at-other", 2)


def test_usage_of_requests_through_both_instances_adds_up_exactly_in_the_table(cluster: Cluster,
                                                                            upstream: FakeUpstream) -> None:
    from core import usage

    def requests_so_far() -> int:
        rows = cluster.table(lambda s: usage.report(s, [records.usage_day(time.time())], "model"))
        return sum(r.requests for r in rows if r.key == "gpt-5")

    before = requests_so_far()
    # one after another: moto's update_item is not atomic under concurrent calls (DynamoDB's ADD is)
    statuses = [(cluster.a, cluster.b)[i % 2].ask(f"x-usage-{i}", "gpt-5").status_code for i in range(10)]
    assert statuses == [200] * 10
    assert requests_so_far() - before == 10
