"""The Anthropic Messages wire format: ``POST /v1/messages`` (stream or not) and ``/v1/messages/count_tokens``."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.reply import REASONING_TEXT, Ask, Reply, event, pieces, text_of

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}


def ask(body: dict[str, Any]) -> Ask:
    text, tool_result = "", False
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"] \
            if isinstance(content, list) else []
        if results:
            inner = results[-1].get("content")
            text, tool_result = text_of(inner, "text"), True
        else:
            text = text_of(content, "text")
        break
    names = tuple(t["name"] for t in body.get("tools") or [] if isinstance(t, dict) and "name" in t)
    thinking = body.get("thinking")
    reasoning = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    return Ask(str(body.get("model", "")), text, names, tool_result, reasoning, stream=body.get("stream") is True)


def reply(body: dict[str, Any]) -> Reply:
    if "max_tokens" not in body:
        return Reply(400, failure(400, None, "max_tokens: Field required"))
    if not body.get("messages"):
        return Reply(400, failure(400, None, "messages: Field required"))
    a = ask(body)
    blocks = _blocks(a)
    if a.stream:
        return Reply(frames=_frames(a, blocks))
    return Reply(json={**_message(a), "content": blocks, "stop_reason": _stop(a), "usage": _usage(a, final=True)})


def count_tokens(body: dict[str, Any]) -> Reply:
    return Reply(json={"input_tokens": ask(body).counts.input})


def failure(status: int, retry_after: float | None, message: str | None = None) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or f"fake upstream failure {status}"}}


def error_event(body: dict[str, Any], code: str | None, error: dict[str, Any] | None = None) -> list[bytes]:
    error = error or {"type": code or "overloaded_error", "message": "fake upstream error event"}
    return [event("error", {"type": "error", "error": error})]


def _message(a: Ask) -> dict[str, Any]:
    return {"id": f"msg_fake{time.monotonic_ns()}", "type": "message", "role": "assistant", "model": a.model,
            "content": [], "stop_reason": None, "stop_sequence": None}


def _stop(a: Ask) -> str:
    return "tool_use" if a.calls else "end_turn"


def _usage(a: Ask, *, final: bool) -> dict[str, Any]:
    c = a.counts
    return {"input_tokens": c.input - c.cached, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": c.cached, "output_tokens": c.output if final else 1}


def _blocks(a: Ask) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if a.reasoning:
        blocks.append({"type": "thinking", "thinking": REASONING_TEXT, "signature": f"sig-fake-{a.model}"})
    calls = a.calls
    blocks.extend({"type": "tool_use", "id": f"toolu_fake{i}", "name": name, "input": {"index": i, "query": a.text}}
                  for i, name in enumerate(calls))
    if not calls:
        blocks.append({"type": "text", "text": a.answer})
    return blocks


def _frames(a: Ask, blocks: list[dict[str, Any]]) -> list[bytes]:
    frames = [event("message_start", {"type": "message_start", "message": {**_message(a), "usage": _usage(a, final=False)}})]
    for index, block in enumerate(blocks):
        frames.extend(_block_frames(a, index, block))
        if index == 0:
            frames.append(event("ping", {"type": "ping"}))
    frames.append(event("message_delta", {"type": "message_delta",
                                          "delta": {"stop_reason": _stop(a), "stop_sequence": None},
                                          "usage": _usage(a, final=True)}))
    frames.append(event("message_stop", {"type": "message_stop"}))
    return frames


def _block_frames(a: Ask, index: int, block: dict[str, Any]) -> list[bytes]:
    kind = block["type"]
    if kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(block["thinking"], 2)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "tool_use":
        start = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces(a.arguments(block["input"]["index"]), 2)]
    else:
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in pieces(block["text"])]
    frames = [event("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})]
    frames.extend(event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                  for d in deltas)
    frames.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return frames
