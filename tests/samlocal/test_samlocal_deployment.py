"""The built buffered function under real `sam local` (Docker): `sam local invoke` with every API event.
The fake upstream behind it listens on the host's loopback, which the container shares."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from tests.samlocal.conftest import CLIENT_KEY, ENCRYPTION_KEY, ROOT, SCRIPT, run

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream

pytestmark = [pytest.mark.samlocal, pytest.mark.timeout(600)]


def invoke(build: Path, event: str) -> dict[str, Any]:
    # every variable the function reads is pinned here: SAM would let this process's own values through
    env = {"SAM_LOCAL_BUILD_DIR": str(build), "CLIPROXY_API_KEYS": CLIENT_KEY, "CLIPROXY_STORE_BACKEND": "memory",
           "CLIPROXY_ENCRYPTION_KEY": ENCRYPTION_KEY, "CLIPROXY_TABLE": "", "CLIPROXY_STORE_ENDPOINT": ""}
    done = run([str(SCRIPT), "invoke", str(ROOT / "events" / event)], seconds=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return result


def body_of(result: dict[str, Any]) -> bytes:
    body = result.get("body") or ""
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()


def sse_names(raw: bytes) -> list[str]:
    return [line[6:].strip() for line in raw.decode().splitlines() if line.startswith("event:")]


# Per event: status, then what the body must show (streams come back buffered: the whole SSE text).
EVENTS: dict[str, tuple[int, Any]] = {
    "healthz.json": (200, lambda b: orjson.loads(b) == {"status": "ok"}),
    "models.json": (200, lambda b: {"gpt-4o-mini", "claude-sonnet-4-5-20250929"}
                    <= {m["id"] for m in orjson.loads(b)["data"]}),
    "bad-key.json": (401, lambda b: orjson.loads(b)["error"]["type"] == "authentication_error"
                     and b"sk-not-a-valid-key" not in b),
    "chat-completions.json": (200, lambda b: orjson.loads(b)["choices"][0]["message"]["content"]),
    "chat-completions-stream.json": (200, lambda b: b.rstrip().endswith(b"data: [DONE]")),
    "responses.json": (200, lambda b: orjson.loads(b)["status"] == "completed"),
    "responses-stream.json": (200, lambda b: sse_names(b)[-1] == "response.completed"),
    "responses-websocket-upgrade.json": (426, lambda b: b"WebSocket" in b),  # Lambda cannot upgrade
    "messages.json": (200, lambda b: orjson.loads(b)["content"][0]["text"]),
    "messages-stream.json": (200, lambda b: sse_names(b)[-1] == "message_stop"),
}


def test_every_api_event_has_a_check() -> None:
    assert set(EVENTS) == {p.name for p in (ROOT / "events").glob("*.json")} - {"refresh-schedule.json"}


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_sam_local_invoke_answers_each_event(event: str, sam_stack: Path, sam_fake: FakeUpstream) -> None:
    sam_fake.reset()
    started = time.monotonic()
    result = invoke(sam_stack, event)
    status, body_ok = EVENTS[event]
    assert result["statusCode"] == status, result
    assert body_ok(body_of(result)), body_of(result)[:500]
    print(f"sam local invoke {event}: {time.monotonic() - started:.1f}s")
