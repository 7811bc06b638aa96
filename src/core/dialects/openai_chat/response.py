"""Non-stream chat completions: an upstream ``chat.completion`` -> IR, and IR -> the client's body."""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

from core import ir
from core.dialects.openai_errors import render_error, render_model, render_models

__all__ = ["FINISH_REASON", "STOP_REASON", "parse_response", "parse_usage", "render_count", "render_error",
           "render_model", "render_models", "render_response", "render_usage"]

NAME: ir.Dialect = "openai_chat"

STOP_REASON: dict[str, ir.StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
}
FINISH_REASON: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "error": "stop",
}


def parse_usage(raw: Any) -> ir.Usage:
    if not isinstance(raw, dict):
        return ir.Usage()
    prompt = raw.get("prompt_tokens_details")
    completion = raw.get("completion_tokens_details")
    return ir.Usage(
        input_tokens=raw.get("prompt_tokens") or 0,
        output_tokens=raw.get("completion_tokens") or 0,
        cached_tokens=(prompt.get("cached_tokens") or 0) if isinstance(prompt, dict) else 0,
        reasoning_tokens=(completion.get("reasoning_tokens") or 0) if isinstance(completion, dict) else 0,
    )


def render_usage(u: ir.Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }


def parse_response(body: dict[str, Any], *, req: ir.Request | None = None) -> ir.Response:
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    parts: list[ir.Part] = []
    thought = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(thought, str) and thought:
        parts.append(ir.Reasoning(thought, origin=NAME))
    content = message.get("content")
    if isinstance(content, str) and content:
        parts.append(ir.Text(content))
    for tc in message.get("tool_calls") or ():
        fn = tc.get("function") if isinstance(tc, dict) else None
        if isinstance(fn, dict):
            args = fn.get("arguments")
            parts.append(ir.ToolCall(id=str(tc.get("id") or ""), name=str(fn.get("name") or ""),
                                     arguments=args if isinstance(args, str) else orjson.dumps(args).decode(),
                                     origin=NAME))
    stop = STOP_REASON.get(str(choice.get("finish_reason")), "end_turn")
    if stop == "end_turn" and any(isinstance(p, ir.ToolCall) for p in parts):
        stop = "tool_use"
    return ir.Response(id=str(body.get("id") or ""), model=str(body.get("model") or ""), parts=tuple(parts),
                       stop_reason=stop, usage=parse_usage(body.get("usage")),
                       created=int(body.get("created") or 0))


def render_response(resp: ir.Response, req: ir.Request) -> dict[str, Any]:
    text = "".join(p.text for p in resp.parts if isinstance(p, ir.Text))
    calls = [{"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
             for p in resp.parts if isinstance(p, ir.ToolCall)]
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    thought = "".join(p.text for p in resp.parts if isinstance(p, ir.Reasoning))
    if thought:
        message["reasoning_content"] = thought
    if calls:
        message["tool_calls"] = calls
    return {
        "id": resp.id or "chatcmpl-" + _random_id(),
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": resp.model or req.model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(resp.stop_reason, bool(calls))}],
        "usage": render_usage(resp.usage),
    }


def finish_reason(stop: ir.StopReason | None, called_tools: bool) -> str:
    """Calls end a turn as ``tool_calls`` even when the upstream said plain stop (Gemini's STOP)."""
    if called_tools and stop in (None, "end_turn", "stop_sequence", "tool_use"):
        return "tool_calls"
    return FINISH_REASON.get(stop or "end_turn", "stop")


def render_count(tokens: int) -> dict[str, Any]:
    return {"object": "response.input_tokens", "input_tokens": tokens}


def _random_id() -> str:
    return os.urandom(12).hex()
