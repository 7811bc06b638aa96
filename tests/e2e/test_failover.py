"""Failover with sticky sessions: a pinned credential that fails (429 / 500 / 401, an error event inside a 200,
cooling down, removed) hands the session to another one, and the pin moves only after that one succeeded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from tests.conftest import CLIENT_KEY, UP, proxy_config

from core import config as cfgmod
from core import models, service
from core import pool as pool_order
from core.call import ClientCall, Deps
from core.credentials import Credential, ModelAlias
from core.state import PoolState
from core.store import open_store, records
from core.store.memory import MemoryStore

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream
    from tests.servers import ThreadedServer

MODEL = "gpt-5-codex"


@dataclass
class Pool:
    """A running proxy on a SQLite store, with the store opened beside it to read and seed records."""

    fake: FakeUpstream
    path: Path
    ids: dict[str, str]  # upstream API key -> credential id
    url: str = ""  # the proxy's, once started

    def ask(self, session: str, *, stream: bool = False, model: str = MODEL) -> httpx.Response:
        body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hello"}]}
        return httpx.post(self.url + "/v1/chat/completions", json=body, timeout=10,
                          headers={"authorization": f"Bearer {CLIENT_KEY}", "x-session-id": session})

    def run(self, work: Callable[[Any], Any]) -> Any:
        async def go() -> Any:
            store = open_store(cfgmod.StoreConfig(backend="sqlite", path=str(self.path)))
            try:
                return await work(store)
            finally:
                await store.close()

        return asyncio.run(go())

    def pin(self, session: str, model: str = MODEL) -> str | None:
        found = self.run(lambda s: records.get_pin(s, "codex", f"header:{session}", model, time.time()))
        return found[0] if found else None

    def tokens(self) -> list[str]:
        """The credential secret of each Codex request the fake saw, in order."""
        return [r.headers["authorization"].removeprefix("Bearer ") for r in self.fake.requests
                if r.path.endswith("/responses")]


def start_pool(start_proxy: Callable[..., ThreadedServer], fake: FakeUpstream, tmp_path: Path,
               seed: Callable[[Any], Any] | None = None) -> Pool:
    """The proxy on a fresh SQLite store; ``seed`` writes records first, so its first snapshot sees them."""
    cfg = cfgmod.parse(proxy_config(fake, tmp_path), "test")
    pool = Pool(fake, tmp_path / "cliproxy.db", {c.api_key: c.id for c in cfg.credentials if c.api_key})
    if seed is not None:
        async def init_and_seed(store: Any) -> None:
            await store.init()
            await seed(store)

        pool.run(init_and_seed)
    pool.url = start_proxy().url
    return pool


@pytest.fixture
def pool(start_proxy: Callable[..., ThreadedServer], upstream: FakeUpstream, tmp_path: Path) -> Pool:
    return start_pool(start_proxy, upstream, tmp_path)


def other(secret: str) -> str:
    return UP["codex2"] if secret == UP["codex"] else UP["codex"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("status", [429, 500, 401])
def test_failing_credential_hands_the_session_over_and_the_pin_follows(pool: Pool, status: int,
                                                                         stream: bool) -> None:
    session = f"fo-{status}-{stream}"
    assert pool.ask(session, stream=stream).status_code == 200
    (home,) = pool.tokens()
    assert pool.pin(session) is None  # on its home credential a session needs no pin record

    pool.fake.fail(status, times=1, when_token=home, retry_after=30 if status == 429 else None)
    resp = pool.ask(session, stream=stream)
    assert resp.status_code == 200, resp.text
    assert pool.tokens()[1:] == [home, other(home)]
    assert pool.pin(session) == pool.ids[other(home)]

    assert pool.ask(session, stream=stream).status_code == 200
    assert pool.tokens()[3:] == [other(home)]


def test_a_failure_with_nowhere_to_go_leaves_the_pin_alone(pool: Pool) -> None:
    pool.fake.fail(500, times=1)
    assert pool.ask("fo-twice").status_code == 200
    _, away = pool.tokens()
    assert pool.pin("fo-twice") == pool.ids[away]
    pool.fake.fail(429, times=1, when_token=away, retry_after=30)  # the home is still cooling from the 500
    resp = pool.ask("fo-twice")
    assert resp.status_code == 429 and int(resp.headers["retry-after"]) > 0
    assert pool.pin("fo-twice") == pool.ids[away]


def test_error_event_before_output_hands_the_session_over(pool: Pool) -> None:
    assert pool.ask("fo-event", stream=True).status_code == 200
    (home,) = pool.tokens()
    pool.fake.error_event_in_200(times=1, when_token=home)
    resp = pool.ask("fo-event", stream=True)
    assert resp.status_code == 200 and "hello" in resp.text
    assert pool.tokens()[1:] == [home, other(home)]
    assert pool.pin("fo-event") == pool.ids[other(home)]


def test_first_attempt_failing_pins_the_credential_that_answered(pool: Pool) -> None:
    pool.fake.fail(500, times=1)  # the session's home credential, tried first
    assert pool.ask("fo-first").status_code == 200
    first, second = pool.tokens()
    assert first != second
    assert pool.pin("fo-first") == pool.ids[second]


def test_no_pin_when_every_attempt_fails(pool: Pool) -> None:
    pool.fake.fail(500, times=None)
    assert pool.ask("fo-none").status_code in (502, 503, 429)
    assert len(pool.tokens()) == 2
    assert pool.pin("fo-none") is None


def home_of(session: str, fake: FakeUpstream, tmp_path: Path) -> tuple[str, str]:
    """(home, other) credential ids of a session, from the pure ordering every instance computes."""
    cfg = cfgmod.parse(proxy_config(fake, tmp_path), "test")
    target = models.Index(cfg.credentials).resolve(MODEL)
    home = pool_order.candidates(target, now=time.time(), cooldowns={}, session=f"header:{session}").home
    (away,) = {r.cred.id for r in target.routes} - {home}
    assert home is not None
    return home, away


@pytest.mark.parametrize("pinned_home", [True, False], ids=["home cooling", "pinned cooling"])
def test_pin_to_a_cooling_credential_is_passed_over(start_proxy: Callable[..., ThreadedServer],
                                                   upstream: FakeUpstream, tmp_path: Path, pinned_home: bool) -> None:
    home, away = home_of("fo-cool", upstream, tmp_path)
    cooling, healthy = (home, away) if pinned_home else (away, home)

    async def seed(store: Any) -> None:
        await records.pin(store, "codex", "header:fo-cool", MODEL, cooling, 3600, time.time())
        await records.set_cooldown(store, cooling, MODEL, time.time() + 60, "test")

    pool = start_pool(start_proxy, upstream, tmp_path, seed)
    assert pool.ask("fo-cool").status_code == 200
    assert [pool.ids[t] for t in pool.tokens()] == [healthy]
    # the pin moves to the credential that answered, or goes when that is the session's home
    assert pool.pin("fo-cool") == (None if healthy == home else healthy)


def test_pin_to_a_removed_credential_is_dropped(start_proxy: Callable[..., ThreadedServer], upstream: FakeUpstream,
                                               tmp_path: Path) -> None:
    home, _ = home_of("fo-gone", upstream, tmp_path)
    pool = start_pool(start_proxy, upstream, tmp_path,
                      lambda s: records.pin(s, "codex", "header:fo-gone", MODEL, "codex-removed", 3600, time.time()))
    assert pool.ask("fo-gone").status_code == 200
    assert [pool.ids[t] for t in pool.tokens()] == [home]
    assert pool.pin("fo-gone") is None


# --- OAuth: a 401 re-reads the store before refreshing or giving up ---------------------------------------


def oauth_cred(fake: FakeUpstream, access: str, refresh: str) -> Credential:
    return Credential(id="codex-oauth-fo", kind="codex", provider="codex", auth_type="oauth", access_token=access,
                      refresh_token=refresh, expires_at=time.time() + 3600, account_id="acct-fo",
                      base_url=fake.codex_base_url, models=(ModelAlias("gpt-5-codex", "oauth-codex"),))


def seed_oauth(fake: FakeUpstream, access: str, refresh: str) -> Callable[[Any], Any]:
    return lambda store: records.save_credential(store, oauth_cred(fake, access, refresh), expected_version=0)


def test_401_on_oauth_refreshes_once_and_retries_the_same_credential(start_proxy: Callable[..., ThreadedServer],
                                                                   upstream: FakeUpstream, tmp_path: Path) -> None:
    pool = start_pool(start_proxy, upstream, tmp_path, seed_oauth(upstream, "at-fo-old", "rt-fo-1"))
    upstream.fail(401, times=1, when_token="at-fo-old")
    assert pool.ask("fo-oauth", model="oauth-codex").status_code == 200
    assert upstream.refresh_uses == {"rt-fo-1": 1}
    old, new = pool.tokens()
    assert old == "at-fo-old" and new.startswith("fake-access-")
    stored = pool.run(lambda s: records.get_credential(s, "codex-oauth-fo"))
    assert (stored.access_token, stored.version) == (new, 2)
    assert pool.run(lambda s: records.load_cooldowns(s, time.time())) == {}


def test_401_after_another_instance_refreshed_uses_the_stored_token(start_proxy: Callable[..., ThreadedServer],
                                                                   upstream: FakeUpstream, tmp_path: Path) -> None:
    pool = start_pool(start_proxy, upstream, tmp_path, seed_oauth(upstream, "at-fo-a", "rt-fo-a"))
    assert pool.ask("fo-reread", model="oauth-codex").status_code == 200  # its snapshot now holds at-fo-a
    # another instance refreshed meanwhile: the store has new tokens, the upstream rejects the old one
    pool.run(lambda s: records.save_credential(s, oauth_cred(upstream, "at-fo-b", "rt-fo-b"), expected_version=1))
    upstream.fail(401, times=None, when_token="at-fo-a")
    assert pool.ask("fo-reread", model="oauth-codex").status_code == 200
    assert pool.tokens()[1:] == ["at-fo-a", "at-fo-b"]  # within the snapshot's life: the stale token first
    assert upstream.refresh_uses == {}
    assert pool.run(lambda s: records.load_cooldowns(s, time.time())) == {}


# --- the store sees no pin write for a failed attempt ------------------------------------------------------


class RecordingStore(MemoryStore):
    def __init__(self) -> None:
        from core import crypto

        super().__init__(cipher=crypto.cipher_for_store("memory", "", None))
        self.puts: list[dict[str, Any]] = []

    async def put(self, item: dict[str, Any], *, cond: Any = None) -> bool:
        self.puts.append(dict(item))
        return await super().put(item, cond=cond)


async def test_only_the_successful_credential_is_ever_pinned(upstream: FakeUpstream, tmp_path: Path) -> None:
    from core.executors import transport

    cfg = cfgmod.parse(proxy_config(upstream, tmp_path), "test")
    store = RecordingStore()
    deps = Deps(config=cfg, http=transport.make_client(), state=PoolState(cfg, store))
    body = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hello"}]})
    call = ClientCall(dialect="openai_chat", raw=body, headers={"x-session-id": "fo-spy"},
                              principal=CLIENT_KEY)
    upstream.fail(429, times=1, retry_after=5)
    try:
        reply = await service.handle(call, deps)
    finally:
        await deps.http.aclose()
    assert reply.status == 200
    first, second = (r.headers["authorization"].removeprefix("Bearer ") for r in upstream.requests)
    ids = {c.api_key: c.id for c in cfg.credentials if c.api_key}
    pins = [p["cred_id"] for p in store.puts if p["pk"].startswith("AFF#")]
    cools = [p["cred_id"] for p in store.puts if p["pk"] == records.COOLDOWNS_PK]
    assert pins == [ids[second]]
    assert cools == [ids[first]]
