"""Claude non-stream message bodies <-> IR, plus the usage and stop-reason mappings the stream shares.

Claude counts ``input_tokens`` without cache reads and writes; the IR counts every prompt token::

    IR input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from core import errors, ir
from core.dialects.anthropic.names import restore_map
from core.dialects.anthropic.upstream import image_block, tool_id
from core.dialects.parts import args_object

_STOP_IN: dict[Any, ir.StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "tool_use": "tool_use",
    "stop_sequence": "stop_sequence",
    "pause_turn": "end_turn",
    "refusal": "content_filter",
    "model_context_window_exceeded": "max_tokens",
}
_STOP_OUT = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "tool_use": "tool_use",
    "stop_sequence": "stop_sequence",
    "content_filter": "refusal",
    "error": "end_turn",
}


def usage_from_wire(usage: Any) -> ir.Usage:
    if not isinstance(usage, dict):
        return ir.Usage()
    read = _count(usage, "cache_read_input_tokens")
    write = _count(usage, "cache_creation_input_tokens")
    return ir.Usage(
        input_tokens=_count(usage, "input_tokens") + read + write,
        output_tokens=_count(usage, "output_tokens"),
        cached_tokens=read,
        cache_creation_tokens=write,
    )


def usage_to_wire(usage: ir.Usage, output_tokens: int | None = None) -> dict[str, int]:
    fresh = usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens
    return {
        "input_tokens": fresh if fresh > 0 else 0,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.output_tokens if output_tokens is None else output_tokens,
    }


def stop_from_wire(reason: Any) -> ir.StopReason:
    return _STOP_IN.get(reason, "end_turn")


def stop_to_wire(reason: ir.StopReason | None, saw_tool_call: bool) -> str:
    if saw_tool_call and (reason is None or reason == "end_turn"):
        return "tool_use"  # some upstreams say "stop" even when the turn ends in tool calls
    return _STOP_OUT.get(reason or "end_turn", "end_turn")


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


# --- upstream body -> IR -------------------------------------------------------------------------


def parse_response(body: dict[str, Any], *, req: ir.Request | None = None) -> ir.Response:
    """``req`` (the request sent) lets tool names renamed for Claude come back as declared."""
    if not isinstance(body, dict):
        raise errors.UpstreamServerError("anthropic: response body is not a JSON object")
    if body.get("type") == "error":
        raise errors.UpstreamServerError("anthropic: the body is an error (the executor classifies those)")
    content = body.get("content")
    names = restore_map(req)
    parts = [p for p in (_part(b, names) for b in (content if isinstance(content, list) else ())) if p is not None]
    return ir.Response(
        id=_str(body.get("id")),
        model=_str(body.get("model")) or (req.model if req is not None else ""),
        parts=tuple(parts),
        stop_reason=stop_from_wire(body.get("stop_reason")),
        usage=usage_from_wire(body.get("usage")),
    )


def _part(block: Any, names: dict[str, str]) -> ir.Part | None:
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if kind == "text":
        return ir.Text(_str(block.get("text")))
    if kind == "thinking":
        return ir.Reasoning(_str(block.get("thinking")), _str(block.get("signature")) or None, origin="anthropic")
    if kind == "redacted_thinking":
        return ir.Reasoning(signature=_str(block.get("data")), origin="anthropic", redacted=True)
    if kind == "tool_use":
        args = block.get("input")
        arguments = orjson.dumps(args).decode() if isinstance(args, dict) else "{}"
        name = _str(block.get("name"))
        return ir.ToolCall(_str(block.get("id")), names.get(name, name), arguments, origin="anthropic")
    return None


# --- IR -> client body ---------------------------------------------------------------------------


def render_response(resp: ir.Response, req: ir.Request) -> dict[str, Any]:
    content = [b for b in map(_block, resp.parts) if b is not None]
    saw_tool_call = any(isinstance(p, ir.ToolCall) for p in resp.parts)
    return {
        "id": resp.id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": resp.model or req.model,
        "content": content,
        "stop_reason": stop_to_wire(resp.stop_reason, saw_tool_call),
        "stop_sequence": None,
        "usage": usage_to_wire(resp.usage),
    }


def _block(part: ir.Part) -> dict[str, Any] | None:
    if isinstance(part, ir.Text):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ir.ToolCall):
        return {"type": "tool_use", "id": tool_id(part.id), "name": part.name, "input": args_object(part.arguments)}
    if isinstance(part, ir.Reasoning):
        return _reasoning(part)
    if isinstance(part, ir.Image):
        return image_block(part)
    return None


def _reasoning(part: ir.Reasoning) -> dict[str, Any] | None:
    """Thinking is shown whatever its source; only a Claude-issued signature is echoed, so a foreign one
    never comes back to Claude as if it were valid."""
    own = part.origin == "anthropic" and part.signature
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.signature} if own else None
    if not part.text and not own:
        return None
    return {"type": "thinking", "thinking": part.text, "signature": part.signature if own else ""}


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and value > 0 else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
