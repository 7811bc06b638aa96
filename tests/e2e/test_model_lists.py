"""The upstreams' own model lists (core.model_lists) through the running proxy: a local server renews them in
the background, the Lambda refresher renews them for every instance through the store, GET /v1/models lists
what can then be served, and a list that cannot be read leaves the built-in catalog serving."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx
import yaml
from tests.conftest import CLIENT_KEY, UP, proxy_config
from tests.fakes.models import LISTED
from tests.servers import ThreadedServer

from core import config as cfgmod
from core import model_lists
from core import store as stores
from handlers import api, refresher

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fakes.upstream import FakeUpstream

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}
WAIT_S = 30.0


def listed_ids(url: str) -> set[str]:
    resp = httpx.get(url + "/v1/models", headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    return {m["id"] for m in resp.json()["data"]}


def config_file(upstream: FakeUpstream, tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(proxy_config(upstream, tmp_path)))
    return str(path)


def test_a_local_server_renews_the_lists_and_serves_what_they_name(upstream, tmp_path):
    app = api.create_app(cfgmod.load(config_file(upstream, tmp_path)), refresh_model_lists=True)
    with ThreadedServer(app) as proxy:
        deadline = time.monotonic() + WAIT_S
        while not {LISTED["claude"], LISTED["gemini"], LISTED["codex"]} <= listed_ids(proxy.url):
            assert time.monotonic() < deadline, f"model lists not served within {WAIT_S}s: {listed_ids(proxy.url)}"
            time.sleep(0.2)
        ids = listed_ids(proxy.url)
        assert "gemini-2.5-pro" in ids and "gpt-5-codex" in ids  # the built-in catalog stays
        assert "text-embedding-fake" not in ids  # Gemini models that cannot generateContent are left out
        assert LISTED["openai"] not in ids  # the compat credential lists its own models in config

        asked = {r.path: r.headers for r in upstream.requests if r.path.endswith("/models")}
        assert asked["/v1/models"]["x-api-key"] == UP["claude"] and "anthropic-version" in asked["/v1/models"]
        assert asked["/v1beta/models"]["x-goog-api-key"] == UP["gemini"]
        assert asked["/backend-api/codex/models"]["authorization"] == f"Bearer {UP['codex']}"

        # a name no family claims is served because its upstream lists it
        resp = httpx.post(proxy.url + "/v1/responses", headers=AUTH, timeout=10,
                          json={"model": LISTED["codex"], "input": "hello"})
        assert resp.status_code == 200, resp.text
        assert upstream.requests[-1].body["model"] == LISTED["codex"]


def test_the_refresher_stores_the_lists_for_every_instance(upstream, tmp_path, start_proxy):
    cfg = cfgmod.load(config_file(upstream, tmp_path))
    before = start_proxy()
    assert LISTED["claude"] not in listed_ids(before.url)

    asyncio.run(refresher.run(cfg))  # the scheduled Lambda run, on the same store

    async def stored() -> dict[str, tuple[str, ...]]:
        store = stores.open_store(cfg.store)
        try:
            return await model_lists.load(store)
        finally:
            await store.close()

    lists = asyncio.run(stored())
    assert LISTED["claude"] in lists["claude"] and LISTED["gemini"] in lists["gemini"]
    after = start_proxy()  # a cold instance: reads the lists from the store, asks no upstream for them
    upstream.reset()
    assert {LISTED["claude"], LISTED["gemini"], LISTED["codex"]} <= listed_ids(after.url)
    assert not [r for r in upstream.requests if r.path.endswith("/models")]


def test_an_unreadable_list_keeps_the_built_in_catalog(upstream, tmp_path, start_proxy):
    upstream.fail(status=500, times=None, path="/models")
    cfg = cfgmod.load(config_file(upstream, tmp_path))
    asyncio.run(refresher.run(cfg))
    ids = listed_ids(start_proxy().url)
    assert "claude-sonnet-4-6" in ids and "gemini-2.5-pro" in ids
    assert not {LISTED["claude"], LISTED["gemini"], LISTED["codex"]} & ids
