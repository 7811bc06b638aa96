"""A bug or an unmapped failure inside the proxy still answers in the client's dialect: a 500 envelope before
the answer, the dialect's in-stream error after it (never a bare 500 or a cut connection), one log line that
carries no secret; and a store failure after the answer is committed does not spoil it."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import CLIENT_KEY

from core import dialects, ir, sse
from core.state import PoolState

SECRET = "sk-leaked-in-an-exception-message"
AUTH = {"authorization": f"Bearer {CLIENT_KEY}", "anthropic-version": "2023-06-01"}
CHAT = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "gpt-5-codex", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}


def boom(*args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"unexpected value {SECRET}")


def post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + path, json=body, headers=AUTH, timeout=10)


def test_a_dialect_bug_while_parsing_is_a_500_in_the_openai_envelope_logged_once_without_the_message(
        proxy: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(dialects.get("openai_chat"), "parse_request", boom)
    with caplog.at_level(logging.ERROR, logger="cliproxy"):
        resp = post(proxy.url, "/v1/chat/completions", CHAT)
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/json"
    error = resp.json()["error"]
    assert error["message"] == "internal proxy error"
    assert error["code"] == "internal_error"
    records = [r for r in caplog.records if r.name.startswith("cliproxy")]
    assert len(records) == 1
    assert "ValueError" in records[0].getMessage()
    assert SECRET not in records[0].getMessage() and SECRET not in resp.text


def test_a_key_error_rendering_an_anthropic_answer_is_a_500_in_the_anthropic_envelope(
        proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("content")

    monkeypatch.setattr(dialects.get("anthropic"), "render_response", missing)
    resp = post(proxy.url, "/v1/messages", MESSAGES)
    assert resp.status_code == 500
    assert resp.json() == {"type": "error", "error": {"type": "api_error", "message": "internal proxy error"}}


def test_an_encoder_bug_mid_stream_ends_with_the_anthropic_error_event_not_a_cut(
        proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = dialects.get("anthropic").StreamEncoder

    class Failing(real):  # type: ignore[misc, valid-type]
        def feed(self, delta: ir.Delta) -> list[bytes]:
            if delta.kind == "stop":
                raise TypeError(SECRET)
            return super().feed(delta)

    monkeypatch.setattr(dialects.get("anthropic"), "StreamEncoder", Failing)
    with httpx.stream("POST", proxy.url + "/v1/messages", json={**MESSAGES, "stream": True}, headers=AUTH,
                      timeout=10) as resp:
        raw = resp.read()  # a cut connection would raise here
    assert resp.status_code == 200
    frames = sse.Decoder().feed(raw)
    events = [f.event for f in frames]
    assert "content_block_delta" in events  # the answer had started
    assert events[-1] == "error"
    assert orjson.loads(frames[-1].data) == {"type": "error",
                                             "error": {"type": "api_error", "message": "internal proxy error"}}
    assert SECRET not in raw.decode()


def test_a_decoder_bug_in_a_passed_through_stream_ends_with_the_chat_error_chunk(
        proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    decoder = dialects.get("openai_chat").StreamDecoder
    calls = {"n": 0}

    class Failing(decoder):  # type: ignore[misc, valid-type]
        def feed(self, frame: sse.Frame) -> list[ir.Delta]:
            calls["n"] += 1
            if calls["n"] > 2:  # after the first output went to the client
                raise KeyError("choices")
            return super().feed(frame)

    monkeypatch.setattr(dialects.get("openai_chat"), "StreamDecoder", Failing)
    body = {**CHAT, "model": "compat-model", "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=10) as resp:
        raw = resp.read()
    assert resp.status_code == 200
    frames = sse.Decoder().feed(raw)
    assert calls["n"] > 2
    last = orjson.loads(frames[-1].data)
    assert last["error"]["message"] == "internal proxy error"


@pytest.mark.parametrize("stream", [False, True])
def test_a_store_failure_recording_usage_leaves_the_answer_whole(
        proxy: Any, monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    async def down(*args: Any, **kwargs: Any) -> None:
        raise OSError("store unreachable")

    monkeypatch.setattr(PoolState, "add_usage", down)
    monkeypatch.setattr(PoolState, "pin", down)
    with httpx.stream("POST", proxy.url + "/v1/messages", json={**MESSAGES, "stream": stream}, headers=AUTH,
                      timeout=10) as resp:
        raw = resp.read()
    assert resp.status_code == 200
    if stream:
        assert [f.event for f in sse.Decoder().feed(raw)][-1] == "message_stop"
    else:
        assert orjson.loads(raw)["type"] == "message"


@pytest.mark.parametrize(("path", "headers", "shape"), [
    ("/v1/models", {}, "error"),
    ("/v1/models", {"anthropic-version": "2023-06-01"}, "type"),
    ("/v1beta/models", {}, "error"),
])
def test_a_failure_outside_the_service_is_a_500_in_the_callers_dialect(proxy, monkeypatch, caplog, path, headers,
                                                                        shape):
    from core import state

    async def broken(self):  # the store cannot be read
        raise RuntimeError("boom sk-secret-in-message")

    monkeypatch.setattr(state.PoolState, "snapshot", broken)
    resp = httpx.get(proxy.url + path, headers={"authorization": f"Bearer {CLIENT_KEY}", **headers}, timeout=10)
    assert resp.status_code == 500
    body = resp.json()
    assert shape in body and "sk-secret" not in resp.text and "Traceback" not in resp.text
    assert "sk-secret" not in caplog.text
