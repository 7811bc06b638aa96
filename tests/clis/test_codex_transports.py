"""The real Codex CLI (pinned, from npm) through the proxy's Responses transports and compaction.

- A custom provider with ``supports_websockets = true`` talks WebSocket: two turns (``exec``, then
  ``exec resume --last``), each starting with a ``generate: false`` warm-up the proxy answers itself.
- Against a proxy that declines the upgrade (426) Codex falls back to HTTP at once: the turn, from the
  upgrade attempt to the end of the HTTP answer, takes under 2 s (a 403 costs Codex about 7 s a turn).
- The built-in ``openai`` provider pointed at the proxy with ``openai_base_url`` compacts remotely
  (``compaction_trigger``) once ``model_auto_compact_token_limit`` is passed, and the conversation goes on
  after it: against a Codex upstream (its own item replayed as it came) and a Claude upstream (the item
  emulated with the routed model's summary, which reaches Claude as text).

An ASGI wrapper around the proxy records what Codex did (upgrade attempts, HTTP requests, the frames it
sent), so each test states what crossed the wire, not only that Codex printed an answer.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import pytest
import yaml
from tests.conftest import CLIENT_KEY, proxy_config
from tests.servers import ThreadedServer

from core import compaction

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.fakes.upstream import FakeUpstream

RUN_SECONDS = 120  # a bound for one `codex exec`, far above its usual 1-3 s


@dataclass
class Wire:
    """What reached the proxy: (time, kind, path) per connection, the end of each HTTP answer, frames."""

    connections: list[tuple[float, str, str]] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: Any) -> Any:
        async def recorded(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] not in ("http", "websocket"):
                return await app(scope, receive, send)
            with self.lock:
                self.connections.append((time.monotonic(), scope["type"], scope["path"]))

            async def receive_frame() -> Any:
                message = await receive()
                if message["type"] == "websocket.receive" and message.get("text"):
                    with self.lock:
                        self.frames.append(orjson.loads(message["text"]))
                return message

            async def send_end(message: dict[str, Any]) -> None:
                # noted as the last bytes are handed over: Codex may exit before ``send`` returns
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    with self.lock:
                        self.answered.append(time.monotonic())
                await send(message)

            return await app(scope, receive_frame, send_end)

        return recorded

    def kinds(self) -> list[str]:
        return [kind for _, kind, _ in self.connections]


@pytest.fixture
def serve(upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[Callable[..., tuple[ThreadedServer, Wire]]]:
    from core import config as cfgmod
    from handlers import api

    # The environment overrides the config file (keys, Lambda): none may be left over from other tests.
    for name in ("CLIPROXY_API_KEYS", "CLIPROXY_ENCRYPTION_KEY", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)

    servers: list[ThreadedServer] = []

    def start(**extra: Any) -> tuple[ThreadedServer, Wire]:
        path = tmp_path / f"config-{len(servers)}.yaml"
        path.write_text(yaml.safe_dump(proxy_config(upstream, tmp_path, **extra)))
        wire = Wire()
        server = ThreadedServer(wire.wrap(api.create_app(cfgmod.load(str(path))))).start()
        servers.append(server)
        return server, wire

    yield start
    for server in servers:
        server.stop()


@dataclass
class Codex:
    """One throwaway Codex home and work directory; ``run`` is one `codex exec` turn."""

    binary: Path
    home: Path
    env: dict[str, str]

    def configure(self, toml: str) -> None:
        (self.home / ".codex").mkdir(parents=True, exist_ok=True)
        (self.home / ".codex" / "config.toml").write_text(toml)

    def run(self, prompt: str, *, resume: bool = False) -> str:
        work = self.home / "work"
        work.mkdir(exist_ok=True)
        args = [str(self.binary), "exec", "--skip-git-repo-check", *(["resume", "--last"] if resume else []), prompt]
        done = subprocess.run(args, cwd=work, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=RUN_SECONDS, check=False)
        assert done.returncode == 0, f"codex exit {done.returncode}: {done.stderr[-2000:]}"
        return done.stdout.strip()


@pytest.fixture
def codex(cli_path: Callable[[str], Path], tmp_path: Path) -> Codex:
    home = tmp_path / "home"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "CODEX_HOME": str(home / ".codex"),
           "CLIPROXY_KEY": CLIENT_KEY, "CODEX_API_KEY": CLIENT_KEY, "NO_COLOR": "1"}
    return Codex(cli_path("codex"), home, env)


def custom_provider(proxy: ThreadedServer, model: str = "gpt-5-codex") -> str:
    return f"""model = "{model}"
model_provider = "proxy"
check_for_update_on_startup = false

[model_providers.proxy]
name = "proxy"
base_url = "{proxy.url}/v1"
wire_api = "responses"
env_key = "CLIPROXY_KEY"
supports_websockets = true
"""


def builtin_provider(proxy: ThreadedServer, model: str, compact_limit: int) -> str:
    return f"""model = "{model}"
openai_base_url = "{proxy.url}/v1"
model_auto_compact_token_limit = {compact_limit}
check_for_update_on_startup = false
"""


def inputs(fake: FakeUpstream, suffix: str) -> list[list[Any]]:
    return [r.body.get("input") or r.body.get("messages") for r in fake.requests if r.path.endswith(suffix)]


def test_two_websocket_turns(serve: Callable[..., tuple[ThreadedServer, Wire]], codex: Codex,
                             upstream: FakeUpstream) -> None:
    proxy, wire = serve()
    codex.configure(custom_provider(proxy))
    assert codex.run("first ask") == "echo gpt-5-codex: first ask"
    assert codex.run("second ask", resume=True) == "echo gpt-5-codex: second ask"
    assert wire.kinds() == ["websocket", "websocket"]  # one socket per run, no HTTP fallback
    creates = [f for f in wire.frames if f.get("type") == "response.create"]
    assert any(f.get("generate") is False for f in creates)  # Codex's warm-up, answered by the proxy
    turns = [r for r in upstream.requests if r.path.endswith("/responses")]
    assert len(turns) == 2  # warm-ups never reach the upstream
    assert turns[0].body["prompt_cache_key"] == turns[1].body["prompt_cache_key"]  # one conversation
    said = orjson.dumps(turns[1].body["input"]).decode()
    assert "first ask" in said and "echo gpt-5-codex: first ask" in said and "second ask" in said


def test_refused_upgrade_falls_back_to_http_at_once(serve: Callable[..., tuple[ThreadedServer, Wire]],
                                                    codex: Codex, upstream: FakeUpstream) -> None:
    proxy, wire = serve(websocket=False)
    codex.configure(custom_provider(proxy))
    assert codex.run("hello") == "echo gpt-5-codex: hello"
    kinds = wire.kinds()
    assert kinds[0] == "websocket" and "http" in kinds
    upgrade = wire.connections[0][0]
    fallback = next(t for t, kind, path in wire.connections if kind == "http" and path == "/v1/responses")
    turn = wire.answered[-1] - upgrade
    print(f"426 fallback: {fallback - upgrade:.2f} s to the HTTP request, {turn:.2f} s to the end of the answer")
    assert turn < 2.0, f"turn took {turn:.2f} s after the refused upgrade"


def test_builtin_provider_compacts_on_a_codex_upstream_and_goes_on(
        serve: Callable[..., tuple[ThreadedServer, Wire]], codex: Codex, upstream: FakeUpstream) -> None:
    proxy, wire = serve()
    codex.configure(builtin_provider(proxy, "gpt-5-codex", compact_limit=10))
    assert codex.run("first ask") == "echo gpt-5-codex: first ask"
    assert codex.run("second ask", resume=True) == "echo gpt-5-codex: second ask"
    turns = inputs(upstream, "/responses")
    triggered = [i for i, items in enumerate(turns) if items[-1] == {"type": "compaction_trigger"}]
    assert triggered, "Codex never asked for a compaction"
    made = next(f["item"] for f in _sent_events(upstream, triggered[0]) if f.get("type") == "response.output_item.done")
    assert made["type"] == "compaction"
    later = turns[triggered[0] + 1]
    assert made in later  # Codex's own item went back to Codex as it came
    assert orjson.dumps(later).decode().count("second ask") == 1


def test_builtin_provider_compacts_on_a_claude_upstream_and_goes_on(
        serve: Callable[..., tuple[ThreadedServer, Wire]], codex: Codex, upstream: FakeUpstream) -> None:
    proxy, wire = serve()
    codex.configure(builtin_provider(proxy, "claude-sonnet-4-5", compact_limit=10))
    assert codex.run("first ask").endswith("first ask")
    assert codex.run("second ask", resume=True).endswith("second ask")
    calls = [orjson.dumps(r.body).decode() for r in upstream.requests if r.path.endswith("/v1/messages")]
    asked = [i for i, body in enumerate(calls) if compaction.SUMMARY_PROMPT in body]
    assert asked, "the proxy never asked Claude for a summary"
    # Codex replayed the emulated item; Claude got the summary as text, never the wrapped item.
    replayed = [f for f in wire.frames for item in f.get("input") or () if item.get("type") == "compaction"]
    assert replayed
    item = next(i for i in replayed[-1]["input"] if i.get("type") == "compaction")
    assert compaction.unwrap(item["encrypted_content"]) is not None
    after = calls[asked[0] + 1]
    assert compaction.PREAMBLE[:40] in after and item["encrypted_content"] not in after
    assert "second ask" in after


def _sent_events(fake: FakeUpstream, index: int) -> list[dict[str, Any]]:
    """The fake's answer to the ``index``-th Codex turn, rebuilt from its request (the fake is deterministic
    but for ids): the compaction item it made."""
    from tests.fakes import codex as fake_codex

    request = [r for r in fake.requests if r.path.endswith("/responses")][index]
    frames = fake_codex.reply(request.body).frames or []
    return [orjson.loads(f.split(b"data: ", 1)[1]) for f in frames]
