"""In-process pieces for the pipeline's unit tests: a config with two Codex API keys and one OpenAI-compatible
upstream, a memory store, and an ``httpx.MockTransport`` upstream that answers from a queue of replies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from core import config as cfgmod
from core import crypto
from core.call import Deps, Outcome
from core.state import PoolState
from core.store.memory import MemoryStore

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
CODEX_SSE = (GOLDEN / "openai_chat__codex" / "text" / "upstream.sse").read_bytes()
COMPAT_JSON = (GOLDEN / "openai_chat__openai_compat" / "text" / "upstream.response.json").read_bytes()
SSE = {"content-type": "text/event-stream"}


def config(**extra: object) -> cfgmod.Config:
    return cfgmod.parse({
        "codex-api-key": [{"api-key": "sk-up-a", "base-url": "http://a.test/codex"},
                          {"api-key": "sk-up-b", "base-url": "http://b.test/codex"}],
        "openai-compatibility": [{"name": "compat", "base-url": "http://compat.test/v1",
                                  "api-key-entries": [{"api-key": "sk-up-openai"}],
                                  "models": [{"name": "compat-model", "alias": "compat-model"}]}],
        "routing": {"strategy": "fill-first"},
        **extra,
    }, "unit")


def memory_store() -> MemoryStore:
    return MemoryStore(cipher=crypto.cipher_for_store("memory", "", None))


@dataclass
class Upstream:
    """Answers each request with the next reply for its host (``status, headers, body``); records requests."""

    replies: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)

    def add(self, host: str, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.replies.setdefault(host, []).append((status, headers or {}, body))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        status, headers, body = self.replies[request.url.host].pop(0)
        return httpx.Response(status, headers=headers, content=body)

    def bodies(self) -> list[dict[str, object]]:
        return [orjson.loads(r.content) for r in self.seen]


def deps(upstream: Upstream, cfg: cfgmod.Config | None = None, *,
         observe: Callable[[Outcome], None] | None = None) -> Deps:
    cfg = cfg or config()
    http = httpx.AsyncClient(transport=httpx.MockTransport(upstream.handle))
    return Deps(config=cfg, http=http, state=PoolState(cfg, memory_store()),
                observe=observe or (lambda outcome: None))
