"""The OpenAI Chat Completions wire format: ``POST /v1/chat/completions``, stream (with usage chunk) or not."""

from __future__ import annotations

import time
from typing import Any

import orjson
from tests.fakes.reply import REASONING_TEXT, Ask, Reply, error_envelope, openai_error_type, pieces, text_of

DONE = b"data: [DONE]\n\n"


def ask(body: dict[str, Any]) -> Ask:
    text, tool_result = "", False
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict):
            continue
        if message.get("role") == "tool":
            text, tool_result = text_of(message.get("content"), "text"), True
            break
        if message.get("role") == "user":
            text = text_of(message.get("content"), "text")
            break
    names = tuple(t["function"]["name"] for t in body.get("tools") or []
                  if isinstance(t, dict) and isinstance(t.get("function"), dict) and "name" in t["function"])
    reasoning = body.get("reasoning_effort") not in (None, "none")
    return Ask(str(body.get("model", "")), text, names, tool_result, reasoning, stream=body.get("stream") is True)


def reply(body: dict[str, Any]) -> Reply:
    if "stream_options" in body and body.get("stream") is not True:
        return Reply(400, error_envelope(400, "The 'stream_options' parameter is only allowed when 'stream' "
                                              "is enabled.", "invalid_request_error"))
    if not body.get("messages"):
        return Reply(400, error_envelope(400, "'messages' is a required property", "invalid_request_error"))
    a = ask(body)
    if a.stream:
        options = body.get("stream_options")
        return Reply(frames=_frames(a, isinstance(options, dict) and options.get("include_usage") is True))
    message: dict[str, Any] = {"role": "assistant", "content": None if a.calls else a.answer}
    if a.reasoning:
        message["reasoning_content"] = REASONING_TEXT
    if a.calls:
        message["tool_calls"] = [_call(a, i, name, a.arguments(i)) for i, name in enumerate(a.calls)]
    choice = {"index": 0, "message": message, "finish_reason": _finish(a)}
    return Reply(json={**_head(a, "chat.completion"), "choices": [choice], "usage": _usage(a)})


def failure(status: int, retry_after: float | None) -> dict[str, Any]:
    return error_envelope(status, f"fake upstream failure {status}", openai_error_type(status))


def error_event(body: dict[str, Any], code: str | None, error: dict[str, Any] | None = None) -> list[bytes]:
    envelope = {"error": error} if error else error_envelope(500, "fake upstream error event", code or "server_error")
    return [b"data: " + orjson.dumps(envelope) + b"\n\n"]


def _frames(a: Ask, include_usage: bool) -> list[bytes]:
    head = _head(a, "chat.completion.chunk")
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if a.reasoning:
        deltas.extend({"reasoning_content": p} for p in pieces(REASONING_TEXT, 2))
    for i, name in enumerate(a.calls):
        deltas.append({"tool_calls": [{"index": i, **_call(a, i, name, "")}]})
        deltas.extend({"tool_calls": [{"index": i, "function": {"arguments": p}}]} for p in pieces(a.arguments(i), 2))
    if not a.calls:
        deltas.extend({"content": p} for p in pieces(a.answer))
    chunks = [{**head, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": _finish(a)}]})
    if include_usage:
        chunks.append({**head, "choices": [], "usage": _usage(a)})
    return [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks] + [DONE]


def _head(a: Ask, kind: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-fake{time.monotonic_ns()}", "object": kind, "created": int(time.time()), "model": a.model}


def _call(a: Ask, index: int, name: str, arguments: str) -> dict[str, Any]:
    return {"id": f"call_fake{index}", "type": "function", "function": {"name": name, "arguments": arguments}}


def _finish(a: Ask) -> str:
    return "tool_calls" if a.calls else "stop"


def _usage(a: Ask) -> dict[str, Any]:
    c = a.counts
    return {"prompt_tokens": c.input, "completion_tokens": c.output, "total_tokens": c.input + c.output,
            "prompt_tokens_details": {"cached_tokens": c.cached},
            "completion_tokens_details": {"reasoning_tokens": c.reasoning}}
