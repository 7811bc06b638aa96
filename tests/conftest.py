"""Shared fixtures: one fake upstream for the session, and a running proxy configured against it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.fakes.upstream import FakeUpstream
from tests.servers import ThreadedServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "clients"
CLIENT_KEY = "sk-client-test"
# One API key per upstream kind; the fake upstream's failure injection targets these.
UP = {"codex": "sk-up-codex-1", "codex2": "sk-up-codex-2", "claude": "sk-up-claude-1",
      "gemini": "sk-up-gemini-1", "openai": "sk-up-openai-1"}


@pytest.fixture(scope="session", autouse=True)
def _moto_writes_atomic() -> None:
    from tests import dynamo

    dynamo.atomic_moto_writes()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server on loopback for the module's tests (no tables in it: ``dynamo.create_table``)."""
    from tests import dynamo

    with dynamo.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture
def upstream(fake: FakeUpstream) -> FakeUpstream:
    fake.reset()
    return fake


def proxy_config(fake: FakeUpstream, tmp: Path, **extra: Any) -> dict[str, Any]:
    """A config with one credential of every kind (two for Codex), all pointing at the fake upstream."""
    cfg: dict[str, Any] = {
        "api-keys": [CLIENT_KEY],
        "request-retry": 3,
        "store": {"backend": "sqlite", "path": str(tmp / "cliproxy.db")},
        "codex-api-key": [
            {"api-key": UP["codex"], "base-url": fake.codex_base_url},
            {"api-key": UP["codex2"], "base-url": fake.codex_base_url},
        ],
        "claude-api-key": [{"api-key": UP["claude"], "base-url": fake.url}],
        "gemini-api-key": [{"api-key": UP["gemini"], "base-url": fake.url}],
        "openai-compatibility": [{"name": "compat", "base-url": fake.openai_base_url,
                                  "api-key-entries": [{"api-key": UP["openai"]}],
                                  "models": [{"name": "compat-model", "alias": "compat-model"}]}],
        "oauth": {"codex-token-url": fake.url + "/oauth/token", "claude-token-url": fake.url + "/v1/oauth/token"},
    }
    cfg.update(extra)
    return cfg


@pytest.fixture
def start_proxy(upstream: FakeUpstream, tmp_path: Path) -> Iterator[Callable[..., ThreadedServer]]:
    """Start a proxy (a real uvicorn server on loopback) with ``proxy_config`` plus overrides."""
    from core import config as cfgmod
    from handlers import api

    servers: list[ThreadedServer] = []

    def start(**extra: Any) -> ThreadedServer:
        path = tmp_path / f"config-{len(servers)}.yaml"
        path.write_text(yaml.safe_dump(proxy_config(upstream, tmp_path, **extra)))
        server = ThreadedServer(api.create_app(cfgmod.load(str(path)))).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def proxy(start_proxy: Callable[..., ThreadedServer]) -> ThreadedServer:
    return start_proxy()


def script(name: str) -> Any:
    """``scripts/<name>.py`` loaded as a module (the scripts are not a package). Registered in ``sys.modules``:
    dataclasses look their module up there."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def in_store(tmp_path: Path, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``work(store)`` on the SQLite store a proxy_config under ``tmp_path`` uses, from the test thread."""
    import asyncio

    from core.config import StoreConfig
    from core.store import open_store

    async def go() -> Any:
        store = open_store(StoreConfig(backend="sqlite", path=str(tmp_path / "cliproxy.db")))
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())
