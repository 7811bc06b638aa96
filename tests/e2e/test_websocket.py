"""Responses over WebSocket through a running proxy (a real uvicorn server and the ``websockets`` client):
every frame type, the per-connection conversation and continuity, errors as frames, auth, the 426 refusal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from tests.conftest import CLIENT_KEY, UP
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream, Recorded
    from tests.servers import ThreadedServer

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}
TIMEOUT = 15


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


@contextmanager
def socket(proxy: ThreadedServer, path: str = "/v1/responses", headers: dict[str, str] | None = None
           ) -> Iterator[ClientConnection]:
    url = proxy.url.replace("http://", "ws://") + path
    with connect(url, additional_headers=AUTH if headers is None else headers, open_timeout=TIMEOUT) as ws:
        yield ws


def turn(ws: ClientConnection, frame: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one frame; the events up to the one that ends the turn (or an error frame)."""
    ws.send(orjson.dumps(frame).decode())
    got: list[dict[str, Any]] = []
    while True:
        event = orjson.loads(ws.recv(timeout=TIMEOUT))
        got.append(event)
        if event["type"] in ("response.completed", "response.failed", "response.incomplete", "error"):
            return got


def create(model: str, *items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "response.create", "model": model, "input": list(items), **extra}


def text_of(events: list[dict[str, Any]]) -> str:
    output = events[-1]["response"]["output"]
    return "".join(c["text"] for i in output if i["type"] == "message" for c in i["content"])


def codex_turns(fake: FakeUpstream) -> list[Recorded]:
    return [r for r in fake.requests if r.path.endswith("/responses")]


def test_each_upstream_event_is_one_text_frame(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    with socket(proxy) as ws:
        events = turn(ws, create("gpt-5-codex", user("hi")))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert text_of(events) == "echo gpt-5-codex: hi"
    assert codex_turns(upstream)[0].body["stream"] is True


def test_warm_up_is_answered_locally_and_the_next_turn_builds_on_it(proxy: ThreadedServer,
                                                                     upstream: FakeUpstream) -> None:
    with socket(proxy) as ws:
        warm = turn(ws, create("gpt-5-codex", user("first ask"), generate=False))
        assert [e["type"] for e in warm] == ["response.created", "response.completed"]
        assert warm[-1]["response"]["output"] == []
        assert not upstream.requests  # no upstream call
        rid = warm[-1]["response"]["id"]
        events = turn(ws, create("gpt-5-codex", previous_response_id=rid))
    assert text_of(events) == "echo gpt-5-codex: first ask"
    (rec,) = codex_turns(upstream)
    assert rec.body["input"] == [user("first ask")]
    assert "generate" not in rec.body and "previous_response_id" not in rec.body


def test_turns_on_one_socket_keep_the_conversation_key_and_credential(proxy: ThreadedServer,
                                                                       upstream: FakeUpstream) -> None:
    with socket(proxy) as ws:
        first = turn(ws, create("gpt-5-codex", user("one")))
        rid = first[-1]["response"]["id"]
        second = turn(ws, create("gpt-5-codex", user("two"), previous_response_id=rid))
        third = turn(ws, {"type": "response.append", "input": [user("three")]})
    assert text_of(second) == "echo gpt-5-codex: two" and text_of(third) == "echo gpt-5-codex: three"
    turns = codex_turns(upstream)
    assert len(turns) == 3
    # Each turn reaches the upstream whole: earlier input, the answer's output items, then the new input.
    said = [orjson.dumps(t.body["input"]).decode() for t in turns]
    assert "one" in said[1] and "echo gpt-5-codex: one" in said[1] and "two" in said[1]
    assert "echo gpt-5-codex: two" in said[2] and said[2].endswith(orjson.dumps(user("three")).decode() + "]")
    keys = {(t.body["prompt_cache_key"], t.headers["session_id"]) for t in turns}
    assert len(keys) == 1 and len(keys.pop()[0]) == 36  # one execution session: one key, body and header
    assert len({t.headers["authorization"] for t in turns}) == 1  # one credential


def test_two_sockets_are_two_execution_sessions(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    for _ in range(2):
        with socket(proxy) as ws:
            turn(ws, create("gpt-5-codex", user("same words")))
    keys = [t.body["prompt_cache_key"] for t in codex_turns(upstream)]
    assert len(keys) == 2 and keys[0] != keys[1]


def test_an_explicit_prompt_cache_key_wins_over_the_execution_session(proxy: ThreadedServer,
                                                                       upstream: FakeUpstream) -> None:
    with socket(proxy) as ws:
        turn(ws, create("gpt-5-codex", user("hi"), prompt_cache_key="my-conversation"))
    assert codex_turns(upstream)[0].body["prompt_cache_key"] == "my-conversation"


@pytest.mark.parametrize(("model", "path"), [("claude-sonnet-4-5", "/v1/messages"),
                                             ("gemini-2.5-pro", ":streamGenerateContent"),
                                             ("compat-model", "/chat/completions")])
def test_other_upstreams_serve_websocket_turns_with_the_history_expanded(
        proxy: ThreadedServer, upstream: FakeUpstream, model: str, path: str) -> None:
    with socket(proxy) as ws:
        first = turn(ws, create(model, user("one")))
        second = turn(ws, create(model, user("two"), previous_response_id=first[-1]["response"]["id"]))
    assert text_of(first) == f"echo {model}: one" and text_of(second) == f"echo {model}: two"
    calls = [r for r in upstream.requests if path in r.path]
    assert len(calls) == 2
    sent = orjson.dumps(calls[1].body).decode()
    assert "one" in sent and f"echo {model}: one" in sent and "two" in sent


def test_errors_are_frames_and_the_connection_stays_open(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    upstream.fail(500, times=None)
    with socket(proxy) as ws:
        (bad,) = turn(ws, {"type": "response.cancel"})
        assert bad["status"] == 400 and bad["error"]["type"] == "invalid_request_error"
        (no_model,) = turn(ws, {"type": "response.create", "input": [user("x")]})
        assert no_model["status"] == 400 and no_model["error"]["param"] == "model"
        (append,) = turn(ws, {"type": "response.append", "input": [user("x")]})
        assert append["status"] == 400
        (unknown,) = turn(ws, create("no-such-model", user("x")))
        assert unknown["status"] == 404
        failed = turn(ws, create("gpt-5-codex", user("x")))
        # every credential failed and cooled down: the pool's 429, its Retry-After in the frame's headers
        assert failed[-1]["type"] == "error" and failed[-1]["status"] == 429
        assert int(failed[-1]["headers"]["retry-after"]) > 0
        upstream.reset()
        events = turn(ws, create("claude-sonnet-4-5", user("after errors")))  # Codex is cooling down
    assert text_of(events) == "echo claude-sonnet-4-5: after errors"


def test_turn_state_is_echoed_in_the_upgrade_answer(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    with socket(proxy, headers={**AUTH, "x-codex-turn-state": "ts-123"}) as ws:
        assert ws.response.headers["x-codex-turn-state"] == "ts-123"


def test_key_in_the_first_frame_when_headers_cannot_carry_it(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    with socket(proxy, headers={}) as ws:
        events = turn(ws, create("gpt-5-codex", user("hi"), api_key=CLIENT_KEY))
    assert text_of(events) == "echo gpt-5-codex: hi"
    body = codex_turns(upstream)[0].body
    assert "api_key" not in body and CLIENT_KEY not in orjson.dumps(body).decode()


def test_a_first_frame_without_a_valid_key_is_refused_and_closed(proxy: ThreadedServer,
                                                                 upstream: FakeUpstream) -> None:
    with socket(proxy, headers={}) as ws:
        (err,) = turn(ws, create("gpt-5-codex", user("hi"), api_key="sk-wrong"))
        assert err["status"] == 401
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
    assert not upstream.requests


def test_a_wrong_header_key_refuses_the_upgrade(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    with pytest.raises(InvalidStatus) as refused, socket(proxy, headers={"authorization": "Bearer sk-wrong"}):
        pass
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize("path", ["/v1/responses", "/backend-api/codex/responses"])
def test_declined_upgrade_is_answered_426(start_proxy: Callable[..., ThreadedServer], path: str) -> None:
    proxy = start_proxy(websocket=False)
    with pytest.raises(InvalidStatus) as refused, socket(proxy, path):
        pass
    assert refused.value.response.status_code == 426


def test_lambda_hosts_answer_426(proxy: ThreadedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cliproxy")
    with pytest.raises(InvalidStatus) as refused, socket(proxy):
        pass
    assert refused.value.response.status_code == 426


def test_backend_api_alias_speaks_websocket(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    with socket(proxy, "/backend-api/codex/responses") as ws:
        events = turn(ws, create("gpt-5-codex", user("hi")))
    assert text_of(events) == "echo gpt-5-codex: hi"
    assert codex_turns(upstream)[0].headers["authorization"] in (f"Bearer {UP['codex']}", f"Bearer {UP['codex2']}")


def test_compaction_trigger_over_websocket_on_claude(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    with socket(proxy) as ws:
        first = turn(ws, create("claude-sonnet-4-5", user("one")))
        rid = first[-1]["response"]["id"]
        compacted = turn(ws, create("claude-sonnet-4-5", {"type": "compaction_trigger"}, previous_response_id=rid))
        (item,) = compacted[-1]["response"]["output"]
        assert item["type"] == "compaction"
        after = turn(ws, create("claude-sonnet-4-5", item, user("two")))
    assert text_of(after).endswith("two")
    sent = orjson.dumps(upstream.requests[-1].body).decode()
    assert item["encrypted_content"] not in sent and "echo claude-sonnet-4-5: " in sent


def test_loopback_only_mode_refuses_a_relayed_socket_whatever_its_first_frame(
        start_proxy: Callable[..., ThreadedServer], upstream: FakeUpstream) -> None:
    proxy = start_proxy(**{"api-keys": []})
    with socket(proxy, headers={}) as ws:  # a loopback client needs no key
        assert text_of(turn(ws, create("gpt-5-codex", user("hi")))) == "echo gpt-5-codex: hi"
    with socket(proxy, headers={"x-forwarded-for": "203.0.113.9"}) as ws:
        (err,) = turn(ws, create("gpt-5-codex", user("hi"), api_key="anything"))
        assert err["status"] == 403
    assert len(upstream.requests) == 1
