"""Every client dialect against every upstream kind, stream and not, through a running proxy."""

from __future__ import annotations

import httpx
import orjson
import pytest
from tests.conftest import CLIENT_KEY

MODELS = {"codex": "gpt-5-codex", "claude": "claude-sonnet-4-5", "gemini": "gemini-2.5-pro",
          "openai_compat": "compat-model"}
AUTH = {"authorization": f"Bearer {CLIENT_KEY}", "anthropic-version": "2023-06-01"}


def _request(dialect: str, model: str, stream: bool) -> tuple[str, dict]:
    if dialect == "openai_chat":
        return "/v1/chat/completions", {"model": model, "stream": stream,
                                        "messages": [{"role": "user", "content": "hello there"}]}
    if dialect == "openai_responses":
        return "/v1/responses", {"model": model, "stream": stream, "input": "hello there"}
    if dialect == "anthropic":
        return "/v1/messages", {"model": model, "stream": stream, "max_tokens": 256,
                                "messages": [{"role": "user", "content": "hello there"}]}
    action = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"/v1beta/models/{model}:{action}", {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("dialect", ["openai_chat", "openai_responses", "anthropic", "gemini"])
def test_every_dialect_reaches_every_upstream(proxy, upstream, dialect, kind, stream):
    path, body = _request(dialect, MODELS[kind], stream)
    resp = httpx.post(proxy.url + path, json=body, headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    text = resp.text
    if stream:
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert "data:" in text
        if dialect == "openai_chat":
            assert text.rstrip().endswith("data: [DONE]")
    else:
        orjson.loads(resp.content)
    assert "hello there" in (_stream_text(text) if stream else text)  # the fake echoes the user text
    assert len(upstream.requests) == 1


def _stream_text(body: str) -> str:
    """The generated text of an SSE body in any dialect: every string under a text-bearing key, joined."""
    out: list[str] = []

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("text", "content", "delta"):
            out.append(node)

    for line in body.splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            data = orjson.loads(line[5:])
            if data.get("type") not in ("response.output_text.done", "response.content_part.done",
                                        "response.output_item.done", "response.completed"):
                walk(data)
    return "".join(out)
