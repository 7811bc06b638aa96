"""Real client requests (``fixtures/clients/*.json``) replayed through the proxy, as recorded.

Each must answer 200 with a well-formed stream in the client's dialect, and the upstream must receive
what the client meant: same-dialect bodies kept, only sanitised; OpenCode's Codex body with a stable
continuity key.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import CLIENT_KEY, FIXTURES, UP

from core import sse

CASES = {path.stem: path for path in sorted(FIXTURES.glob("*.json"))}
_NOT_REPLAYED = {"content-length", "host", "accept-encoding"}  # set by httpx for the replayed body


def load(name: str) -> dict[str, Any]:
    return json.loads(CASES[name].read_text())


def replay(proxy_url: str, fixture: dict[str, Any]) -> httpx.Response:
    headers = {}
    for name, value in fixture["headers"].items():
        if name.lower() in _NOT_REPLAYED:
            continue
        if value == "<redacted>":  # the recorded client key; Authorization was recorded without its scheme
            value = f"Bearer {CLIENT_KEY}" if name.lower() == "authorization" else CLIENT_KEY
        headers[name] = value
    return httpx.request(fixture["method"], proxy_url + fixture["path"], headers=headers,
                         content=orjson.dumps(fixture["body"]), timeout=10)


def frames(resp: httpx.Response) -> list[sse.Frame]:
    decoder = sse.Decoder()
    return decoder.feed(resp.content) + decoder.close()


def events(resp: httpx.Response) -> list[tuple[str | None, Any]]:
    return [(f.event, f.data if f.data == "[DONE]" else orjson.loads(f.data)) for f in frames(resp)]


def test_every_fixture_is_covered():
    assert set(CASES) == {"claude-code-request-1", "codex-cli-request-1", "gemini-cli-request-1",
                          "opencode-request-1", "opencode-request-2"}


@pytest.mark.parametrize("name", list(CASES))
def test_fixture_gets_a_well_formed_stream_in_its_dialect(proxy, upstream, name):
    fixture = load(name)
    resp = replay(proxy.url, fixture)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    got = events(resp)
    client = fixture["client"]
    if client == "codex-cli":
        kinds = [data["type"] for _, data in got]
        assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
        assert [e for e, _ in got] == kinds  # every frame is named after its type
        assert got[-1][1]["response"]["output"][-1]["content"][0]["text"].endswith(": say hi")
    elif client == "claude-code":
        names = [e for e, _ in got]
        assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
        text = "".join(d["delta"].get("text", "") for e, d in got if e == "content_block_delta")
        assert text.startswith("echo ") and text.endswith("say hi")  # the fake echoes the user's text blocks
    elif client == "gemini-cli":
        assert all(e is None for e, _ in got)
        assert got[-1][1]["candidates"][0]["finishReason"] == "STOP"
        assert all("finishReason" not in d["candidates"][0] for _, d in got[:-1])
        text = "".join(p.get("text", "") for _, d in got for p in d["candidates"][0]["content"]["parts"]
                       if not p.get("thought"))
        assert text.startswith("echo ") and text.endswith("say hi")
    else:  # opencode: chat chunks, the usage chunk it asked for, then [DONE]
        assert got[-1] == (None, "[DONE]")
        chunks = [d for _, d in got[:-1]]
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] == 8
        assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]][-1] in ("stop", "tool_calls")
        assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len(upstream.requests) == 1


def test_codex_cli_body_reaches_codex_as_sent(proxy, upstream):
    fixture = load("codex-cli-request-1")
    assert replay(proxy.url, fixture).status_code == 200
    path, headers, body, _ = upstream.requests[0]
    assert path == "/backend-api/codex/responses"
    # Nothing the Codex CLI sent is stripped (it sends no field the backend refuses); the executor only
    # adds the instructions the backend requires.
    assert body == {**fixture["body"], "instructions": ""}
    # Either Codex credential may be the session's home (credential ids include the fake's random port).
    assert headers["authorization"] in (f"Bearer {UP['codex']}", f"Bearer {UP['codex2']}")
    assert headers["session_id"] == fixture["body"]["prompt_cache_key"]
    assert headers["originator"] == "codex_exec"
    assert headers["x-codex-turn-metadata"] == fixture["headers"]["x-codex-turn-metadata"]
    assert CLIENT_KEY not in json.dumps(headers)


def test_codex_cli_fields_the_backend_refuses_are_stripped(proxy, upstream):
    fixture = copy.deepcopy(load("codex-cli-request-1"))
    extra = {"stream_options": {"include_usage": True}, "previous_response_id": "resp_1",
             "safety_identifier": "user-1", "prompt_cache_retention": "24h"}
    fixture["body"] |= extra
    assert replay(proxy.url, fixture).status_code == 200
    body = upstream.requests[0].body
    assert not {"stream_options", "previous_response_id", "safety_identifier"} & set(body)
    assert body["prompt_cache_retention"] == "24h"


def test_claude_code_body_reaches_claude_as_sent(proxy, upstream):
    fixture = load("claude-code-request-1")
    assert replay(proxy.url, fixture).status_code == 200
    path, headers, body, query = upstream.requests[0]
    assert path == "/v1/messages"
    sent = fixture["body"]
    assert body["model"] == "claude-sonnet-4-5"  # as sent: the upstream accepts the alias and echoes it
    assert body == {**sent, "model": body["model"]}  # thinking, cache_control, tools, metadata: all kept
    assert body["messages"][0]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert headers["anthropic-beta"] == fixture["headers"]["anthropic-beta"]
    assert headers["anthropic-version"] == "2023-06-01"
    assert CLIENT_KEY not in json.dumps(headers)


def test_gemini_cli_body_reaches_gemini_as_sent(proxy, upstream):
    fixture = load("gemini-cli-request-1")
    assert replay(proxy.url, fixture).status_code == 200
    path, headers, body, query = upstream.requests[0]
    assert path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    assert query.get("alt") == "sse"
    assert body == fixture["body"]  # contents, tools, generationConfig (thinking budget), systemInstruction
    assert headers.get("x-goog-api-key", query.get("key")) == UP["gemini"]


@pytest.mark.parametrize("name", ["opencode-request-1", "opencode-request-2"])
def test_opencode_reaches_codex_with_a_stable_cache_key(proxy, upstream, name):
    fixture = load(name)
    assert replay(proxy.url, fixture).status_code == 200
    assert replay(proxy.url, fixture).status_code == 200
    (_, headers, body, _), (_, headers2, body2, _) = upstream.requests
    key = body["prompt_cache_key"]
    assert key and headers["session_id"] == key
    assert body2["prompt_cache_key"] == key and headers2["session_id"] == key  # the same key every turn
    assert CLIENT_KEY not in key and UP["codex"] not in key
    assert "prompt_cache_retention" not in body  # OpenCode sent none
    assert "stream_options" not in body and body["stream"] is True and body["store"] is False
    system = fixture["body"]["messages"][0]["content"]
    assert json.dumps(system)[1:-1] in json.dumps(body)  # the system prompt reached Codex (as instructions or a developer turn)


def test_opencode_conversation_keeps_one_cache_key_across_requests(proxy, upstream):
    for name in ("opencode-request-1", "opencode-request-2"):
        assert replay(proxy.url, load(name)).status_code == 200
    keys = {r.body["prompt_cache_key"] for r in upstream.requests}
    assert len(keys) == 1  # both carry x-session-id ses_df2c...: one conversation, one cache identity


def test_opencode_prompt_cache_retention_is_kept_for_codex(proxy, upstream):
    fixture = copy.deepcopy(load("opencode-request-2"))
    fixture["body"]["prompt_cache_retention"] = "24h"
    assert replay(proxy.url, fixture).status_code == 200
    assert upstream.requests[0].body["prompt_cache_retention"] == "24h"
