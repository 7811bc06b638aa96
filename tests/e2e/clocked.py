"""A running proxy whose clock the test moves, with its SQLite store opened beside it to read cooldowns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml
from tests.conftest import CLIENT_KEY, proxy_config
from tests.servers import ThreadedServer

from core import config as cfgmod
from core.store import open_store, records

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream

# One model per upstream kind; Claude, Gemini and the OpenAI-compatible upstream have one credential each.
MODELS = {"codex": "gpt-5-codex", "claude": "claude-sonnet-4-5", "gemini": "gemini-2.5-pro", "openai": "compat-model"}


class Clock:
    """Stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Rig:
    fake: FakeUpstream
    server: ThreadedServer
    clock: Clock
    db: Path

    def ask(self, model: str, *, stream: bool = False, **extra: Any) -> httpx.Response:
        body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hello"}], **extra}
        return httpx.post(self.server.url + "/v1/chat/completions", json=body, timeout=20,
                          headers={"authorization": f"Bearer {CLIENT_KEY}"})

    def run(self, work: Callable[[Any], Awaitable[Any]]) -> Any:
        """``work(store)`` on the proxy's store, opened beside it."""
        async def go() -> Any:
            store = open_store(cfgmod.StoreConfig(backend="sqlite", path=str(self.db)))
            try:
                return await work(store)
            finally:
                await store.close()

        return asyncio.run(go())

    def reset(self) -> None:
        """A clean slate for the next case: no cooldown stored or remembered, no pending upstream failure."""
        async def clear(store: Any) -> None:
            for item in await records.load_cooldown_items(store):
                await records.clear_cooldown(store, item["cred_id"], item["model"])

        self.run(clear)
        self.clock.advance(86400)  # past every cooldown this process remembers; its snapshot reloads
        self.fake.reset()

    def cooldowns(self) -> dict[str, dict[str, Any]]:
        """Stored cooldowns by ``<cred_id>#<model>``: ``reason``, ``level`` and ``seconds`` left."""
        return {item["sk"]: {"reason": item["reason"], "level": item.get("level", 0),
                             "seconds": round(item["until"] - self.clock.now, 3)}
                for item in self.run(records.load_cooldown_items)}


def start(fake: FakeUpstream, tmp: Path, **extra: Any) -> Rig:
    from handlers import api

    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(proxy_config(fake, tmp, **extra)))
    app = api.create_app(cfgmod.load(str(path)))
    clock = Clock()
    app.state.runtime.clock = clock
    return Rig(fake, ThreadedServer(app).start(), clock, tmp / "cliproxy.db")


def retry_after(resp: httpx.Response) -> int:
    assert resp.status_code == 429, resp.text
    return int(resp.headers["retry-after"])
