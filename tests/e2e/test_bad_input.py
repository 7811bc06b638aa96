"""Bad client input gets a 4xx in the caller's dialect, never a stack trace, and leaves the pool as it was;
client authentication failures are 401s in the caller's dialect for every way of sending a key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import CLIENT_KEY, UP
from tests.sdk.conftest import start_module_proxy

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}
PATHS = {"openai_chat": "/v1/chat/completions", "openai_responses": "/v1/responses", "anthropic": "/v1/messages",
         "gemini": "/v1beta/models/gpt-5-codex:generateContent"}
CHAT_MSG = [{"role": "user", "content": "hi"}]
GEMINI_CONTENTS = [{"role": "user", "parts": [{"text": "hi"}]}]

# (dialect, case, raw body, expected status). Every model here is a Codex one, so a valid request
# afterwards shows whether the pool was touched: it must still go to the first Codex credential.
BAD: list[tuple[str, str, bytes, int]] = [
    *[(d, "malformed_json", b'{"model": "gpt-5-codex", "messages": [', 400) for d in PATHS],
    *[(d, "not_an_object", b'["gpt-5-codex"]', 400) for d in PATHS],
    ("openai_chat", "missing_model", orjson.dumps({"messages": CHAT_MSG}), 400),
    ("openai_chat", "model_not_a_string", orjson.dumps({"model": 5, "messages": CHAT_MSG}), 400),
    ("openai_chat", "messages_not_an_array", orjson.dumps({"model": "gpt-5-codex", "messages": "hi"}), 400),
    ("openai_chat", "empty_messages", orjson.dumps({"model": "gpt-5-codex", "messages": []}), 400),
    ("openai_chat", "stream_not_a_boolean",
     orjson.dumps({"model": "gpt-5-codex", "messages": CHAT_MSG, "stream": "yes"}), 400),
    ("openai_chat", "max_tokens_not_an_integer",
     orjson.dumps({"model": "gpt-5-codex", "messages": CHAT_MSG, "max_tokens": "many"}), 400),
    ("openai_chat", "content_a_number",
     orjson.dumps({"model": "gpt-5-codex", "messages": [{"role": "user", "content": 5}]}), 400),
    ("openai_chat", "unknown_role",
     orjson.dumps({"model": "gpt-5-codex", "messages": [{"role": "robot", "content": "hi"}]}), 400),
    ("openai_chat", "unknown_model", orjson.dumps({"model": "no-such-model", "messages": CHAT_MSG}), 404),
    ("openai_responses", "missing_model", orjson.dumps({"input": "hi"}), 400),
    ("openai_responses", "missing_input", orjson.dumps({"model": "gpt-5-codex"}), 400),
    ("openai_responses", "empty_input", orjson.dumps({"model": "gpt-5-codex", "input": []}), 400),
    ("openai_responses", "input_a_number", orjson.dumps({"model": "gpt-5-codex", "input": 5}), 400),
    ("openai_responses", "tool_output_without_call_id",
     orjson.dumps({"model": "gpt-5-codex", "input": [{"type": "function_call_output", "output": "x"}]}), 400),
    ("openai_responses", "reasoning_not_an_object",
     orjson.dumps({"model": "gpt-5-codex", "input": "hi", "reasoning": "high"}), 400),
    ("openai_responses", "unknown_model", orjson.dumps({"model": "no-such-model", "input": "hi"}), 404),
    ("anthropic", "missing_model", orjson.dumps({"max_tokens": 5, "messages": CHAT_MSG}), 400),
    ("anthropic", "missing_max_tokens", orjson.dumps({"model": "gpt-5-codex", "messages": CHAT_MSG}), 400),
    ("anthropic", "max_tokens_a_string",
     orjson.dumps({"model": "gpt-5-codex", "max_tokens": "x", "messages": CHAT_MSG}), 400),
    ("anthropic", "empty_messages", orjson.dumps({"model": "gpt-5-codex", "max_tokens": 5, "messages": []}), 400),
    ("anthropic", "messages_an_object",
     orjson.dumps({"model": "gpt-5-codex", "max_tokens": 5, "messages": {}}), 400),
    ("anthropic", "system_a_number",
     orjson.dumps({"model": "gpt-5-codex", "max_tokens": 5, "system": 5, "messages": CHAT_MSG}), 400),
    ("anthropic", "tool_result_without_id",
     orjson.dumps({"model": "gpt-5-codex", "max_tokens": 5,
                   "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}), 400),
    ("anthropic", "unknown_model", orjson.dumps({"model": "no-such-model", "max_tokens": 5, "messages": CHAT_MSG}),
     404),
    ("gemini", "missing_contents", b"{}", 400),
    ("gemini", "empty_contents", orjson.dumps({"contents": []}), 400),
    ("gemini", "contents_a_string", orjson.dumps({"contents": "hi"}), 400),
    ("gemini", "parts_a_string", orjson.dumps({"contents": [{"role": "user", "parts": "hi"}]}), 400),
    ("gemini", "max_output_tokens_a_string",
     orjson.dumps({"contents": GEMINI_CONTENTS, "generationConfig": {"maxOutputTokens": "x"}}), 400),
    ("gemini", "function_declaration_without_name",
     orjson.dumps({"contents": GEMINI_CONTENTS, "tools": [{"functionDeclarations": [{}]}]}), 400),
]
UNKNOWN_GEMINI_MODEL = ("gemini", "unknown_model", orjson.dumps({"contents": GEMINI_CONTENTS}), 404)


def ranked(fake: Any) -> dict[str, Any]:
    return {"codex-api-key": [{"api-key": UP["codex"], "base-url": fake.codex_base_url, "priority": 1},
                              {"api-key": UP["codex2"], "base-url": fake.codex_base_url, "priority": 0}]}


@pytest.fixture(scope="module")
def codex_first(fake, tmp_path_factory) -> Iterator[Any]:
    """A proxy whose first Codex credential outranks the second: a request goes to it unless it cools."""
    server = start_module_proxy(fake, tmp_path_factory.mktemp("bad-input"), **ranked(fake))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small_bodies(fake, tmp_path_factory) -> Iterator[Any]:
    server = start_module_proxy(fake, tmp_path_factory.mktemp("small"), **ranked(fake), **{"max-body-bytes": 1000})
    yield server
    server.stop()


def good(dialect: str) -> dict[str, Any]:
    if dialect == "openai_chat":
        return {"model": "gpt-5-codex", "messages": CHAT_MSG}
    if dialect == "openai_responses":
        return {"model": "gpt-5-codex", "input": "hi"}
    if dialect == "anthropic":
        return {"model": "gpt-5-codex", "max_tokens": 16, "messages": CHAT_MSG}
    return {"contents": GEMINI_CONTENTS}


def assert_envelope(dialect: str, resp: httpx.Response, status: int) -> str:
    """The dialect's error shape with ``status``; returns the message."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    if dialect == "anthropic":
        assert body["type"] == "error" and set(body) == {"type", "error"}
        kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                413: "request_too_large"}
        assert body["error"]["type"] == kind.get(status, body["error"]["type"])
        message = body["error"]["message"]
    elif dialect == "gemini":
        assert set(body) == {"error"} and body["error"]["code"] == status
        name = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND"}
        assert body["error"]["status"] == name.get(status, body["error"]["status"])
        message = body["error"]["message"]
    else:
        assert set(body) == {"error"}
        kind = {400: "invalid_request_error", 401: "authentication_error", 404: "invalid_request_error"}
        assert body["error"]["type"] == kind.get(status, body["error"]["type"])
        message = body["error"]["message"]
    assert message and "Traceback" not in resp.text and "File \"" not in resp.text
    return message


def send(url: str, dialect: str, raw: bytes, *, path: str | None = None, **kw: Any) -> httpx.Response:
    headers = {**AUTH, "content-type": "application/json", **kw.pop("headers", {})}
    return httpx.post(url + (path or PATHS[dialect]), content=raw, headers=headers, timeout=10, **kw)


def test_bad_input_gets_a_4xx_envelope_and_leaves_the_pool_untouched(codex_first, upstream):
    proxy = codex_first
    for dialect, case, raw, status in [*BAD, UNKNOWN_GEMINI_MODEL]:
        path = "/v1beta/models/no-such-model:generateContent" if case == "unknown_model" and \
            dialect == "gemini" else None
        resp = send(proxy.url, dialect, raw, path=path)
        assert_envelope(dialect, resp, status)
    assert upstream.requests == []  # nothing reached an upstream
    # No credential was cooled down or skipped: the first valid request goes to the first Codex key.
    resp = send(proxy.url, "openai_chat", orjson.dumps(good("openai_chat")))
    assert resp.status_code == 200
    assert [r.headers["authorization"] for r in upstream.requests] == [f"Bearer {UP['codex']}"]


@pytest.mark.parametrize(("dialect", "case", "raw", "status"), BAD, ids=[f"{d}-{c}" for d, c, _, _ in BAD])
def test_bad_input_message_names_the_problem(codex_first, upstream, dialect, case, raw, status):
    message = assert_envelope(dialect, send(codex_first.url, dialect, raw), status)
    hint = {"malformed_json": "JSON", "not_an_object": "object", "unknown_model": "no-such-model"}
    words = case.split("_")
    assert hint.get(case, "") in message
    assert any(w in message.lower() for w in words if len(w) > 3) or case in hint


@pytest.mark.parametrize("dialect", list(PATHS))
def test_body_over_max_body_bytes_is_413_in_the_dialect_envelope(small_bodies, upstream, dialect):
    proxy = small_bodies
    body = good(dialect)
    padded = {**body, "metadata": {"pad": "x" * 2000}} if dialect != "gemini" else \
        {**body, "contents": [{"role": "user", "parts": [{"text": "x" * 2000}]}]}
    resp = send(proxy.url, dialect, orjson.dumps(padded))
    message = assert_envelope(dialect, resp, 413)
    assert "1000" in message
    assert upstream.requests == []
    assert send(proxy.url, dialect, orjson.dumps(body)).status_code == 200  # small bodies still pass
    assert [r.headers.get("authorization") for r in upstream.requests] == [f"Bearer {UP['codex']}"]


# --- client authentication -----------------------------------------------------------------------

HOW = {
    "bearer": lambda key: ({"authorization": f"Bearer {key}"}, {}),
    "x-api-key": lambda key: ({"x-api-key": key}, {}),
    "x-goog-api-key": lambda key: ({"x-goog-api-key": key}, {}),
    "query": lambda key: ({}, {"key": key}),
}


def _auth_call(url: str, dialect: str, how: str | None, key: str) -> httpx.Response:
    headers, params = HOW[how](key) if how else ({}, {})
    return httpx.post(url + PATHS[dialect], content=orjson.dumps(good(dialect)), params=params,
                      headers={"content-type": "application/json", **headers}, timeout=10)


@pytest.mark.parametrize("how", [None, *HOW], ids=["missing", *HOW])
@pytest.mark.parametrize("dialect", list(PATHS))
def test_missing_or_wrong_client_key_is_401_in_the_callers_dialect(codex_first, upstream, dialect, how):
    resp = _auth_call(codex_first.url, dialect, how, "sk-wrong-key")
    message = assert_envelope(dialect, resp, 401)
    assert "sk-wrong-key" not in resp.text and CLIENT_KEY not in resp.text
    assert message
    assert upstream.requests == []


@pytest.mark.parametrize("how", list(HOW))
def test_the_right_key_works_every_way_it_can_be_sent(codex_first, upstream, how):
    for dialect in PATHS:
        assert _auth_call(codex_first.url, dialect, how, CLIENT_KEY).status_code == 200, (dialect, how)
    assert len(upstream.requests) == 4
    assert all(CLIENT_KEY not in str(r.headers) and CLIENT_KEY not in str(r.query) for r in upstream.requests)


def test_models_listing_needs_a_key_too(codex_first):
    proxy = codex_first
    for path, headers in (("/v1/models", {}), ("/v1/models", {"anthropic-version": "2023-06-01"}),
                          ("/v1beta/models", {})):
        resp = httpx.get(proxy.url + path, headers=headers, timeout=10)
        assert resp.status_code == 401
    resp = httpx.get(proxy.url + "/v1beta/models", params={"key": CLIENT_KEY}, timeout=10)
    assert resp.status_code == 200 and resp.json()["models"]


# --- WebSocket mode of /v1/responses -------------------------------------------------------------

def test_a_plain_get_of_responses_is_answered_426_at_once(codex_first, upstream):
    """Upgrades are served (tests/e2e/test_websocket.py); a GET that was not upgraded gets Codex's fall-back
    signal."""
    proxy = codex_first
    started = time.monotonic()
    plain = httpx.get(proxy.url + "/v1/responses", headers=AUTH, timeout=5)
    assert time.monotonic() - started < 1
    assert plain.status_code == 426
    assert "WebSocket" in plain.json()["error"]["message"]
    assert upstream.requests == []
