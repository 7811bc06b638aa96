"""Gemini GenerateContentResponse <-> IR (non-stream), plus the usage, finish-reason and error mappings the
stream codecs share.

Gemini's ``promptTokenCount`` already includes cached tokens; ``thoughtsTokenCount`` is reported beside
``candidatesTokenCount``, so IR output = candidates + thoughts.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from core import errors, ir
from core.dialects.gemini.names import restore_map
from core.dialects.parts import args_object

_FILTERED = frozenset(("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                       "LANGUAGE", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"))
_FAILED = frozenset(("MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"))
_FINISH_OUT = {"max_tokens": "MAX_TOKENS", "content_filter": "SAFETY", "error": "OTHER"}


def usage_from_wire(meta: Any) -> ir.Usage:
    if not isinstance(meta, dict):
        return ir.Usage()
    thoughts = _count(meta, "thoughtsTokenCount")
    return ir.Usage(
        input_tokens=_count(meta, "promptTokenCount") + _count(meta, "toolUsePromptTokenCount"),
        output_tokens=_count(meta, "candidatesTokenCount") + thoughts,
        cached_tokens=_count(meta, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


def usage_to_wire(usage: ir.Usage) -> dict[str, int]:
    meta = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": max(usage.output_tokens - usage.reasoning_tokens, 0),
        "totalTokenCount": usage.total_tokens,
    }
    if usage.cached_tokens:
        meta["cachedContentTokenCount"] = usage.cached_tokens
    if usage.reasoning_tokens:
        meta["thoughtsTokenCount"] = usage.reasoning_tokens
    return meta


def stop_from_wire(reason: Any, saw_tool_call: bool) -> ir.StopReason:
    if reason == "MAX_TOKENS":
        return "max_tokens"
    if reason in _FILTERED:
        return "content_filter"
    if reason in _FAILED:
        return "error"
    return "tool_use" if saw_tool_call else "end_turn"  # Gemini says STOP after function calls too


def stop_to_wire(reason: ir.StopReason | None) -> str:
    return _FINISH_OUT.get(reason or "end_turn", "STOP")


def unwrap(chunk: dict[str, Any]) -> dict[str, Any]:
    """Code Assist wraps each response as ``{"response": {...}, "traceId": ...}``."""
    inner = chunk.get("response")
    return inner if isinstance(inner, dict) and "candidates" not in chunk else chunk


def first_candidate(chunk: dict[str, Any]) -> dict[str, Any]:
    candidates = chunk.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return candidates[0]
    return {}


def candidate_parts(candidate: dict[str, Any]) -> list[Any]:
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    return parts if isinstance(parts, list) else []


def new_call_id() -> str:
    """Gemini calls carry no id; a random one stays unique across the turns of a conversation."""
    return "call_" + secrets.token_hex(12)


# --- upstream body -> IR -------------------------------------------------------------------------


def parse_response(body: dict[str, Any], *, req: ir.Request | None = None) -> ir.Response:
    """``req`` (the request sent) lets function names sanitised for Gemini come back as declared."""
    if not isinstance(body, dict):
        raise errors.UpstreamServerError("gemini: response body is not a JSON object")
    if "error" in body:
        raise errors.UpstreamServerError("gemini: the body is an error (the executor classifies those)")
    body = unwrap(body)
    names = restore_map(req)
    candidate = first_candidate(body)
    parts: list[ir.Part] = []
    for part in candidate_parts(candidate):
        parts.extend(_part(part, names))
    saw_call = any(isinstance(p, ir.ToolCall) for p in parts)
    reason = candidate.get("finishReason")
    feedback = body.get("promptFeedback")
    if not candidate and isinstance(feedback, dict) and feedback.get("blockReason"):
        reason = "SAFETY"
    return ir.Response(
        id=_str(body.get("responseId")),
        model=_str(body.get("modelVersion")) or (req.model if req is not None else ""),
        parts=tuple(parts),
        stop_reason=stop_from_wire(reason, saw_call),
        usage=usage_from_wire(body.get("usageMetadata")),
    )


def _part(part: Any, names: dict[str, str]) -> list[ir.Part]:
    if not isinstance(part, dict):
        return []
    signature = _str(part.get("thoughtSignature")) or None
    call = part.get("functionCall")
    if isinstance(call, dict):
        name = _str(call.get("name"))
        args = call.get("args")
        arguments = orjson.dumps(args).decode() if isinstance(args, dict) else "{}"
        call_id = _str(call.get("id")) or new_call_id()
        return [ir.ToolCall(call_id, names.get(name, name), arguments, signature=signature, origin="gemini")]
    if "text" in part:
        text = _str(part["text"])
        if part.get("thought") is True:
            return [ir.Reasoning(text, signature, origin="gemini")]
        lead: list[ir.Part] = [ir.Reasoning("", signature, origin="gemini")] if signature else []
        return [*lead, ir.Text(text)] if text else lead
    inline = part.get("inlineData")
    if isinstance(inline, dict) and isinstance(inline.get("data"), str):
        return [ir.Image(data=inline["data"], media_type=_str(inline.get("mimeType")) or None, signature=signature)]
    return []


# --- IR -> client body ---------------------------------------------------------------------------


def render_response(resp: ir.Response, req: ir.Request) -> dict[str, Any]:
    parts = [w for w in map(_wire_part, resp.parts) if w is not None]
    saw_call = any(isinstance(p, ir.ToolCall) for p in resp.parts)
    reason = "tool_use" if saw_call and resp.stop_reason == "end_turn" else resp.stop_reason
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": stop_to_wire(reason),
                        "index": 0}],
        "usageMetadata": usage_to_wire(resp.usage),
        "modelVersion": resp.model or req.model,
        "responseId": resp.id or secrets.token_hex(12),
    }


def _wire_part(part: ir.Part) -> dict[str, Any] | None:
    if isinstance(part, ir.Text):
        return {"text": part.text} if part.text else None
    if isinstance(part, ir.Reasoning):
        own = part.signature if part.origin == "gemini" and part.signature else None
        if part.redacted or not (part.text or own):
            return None
        wire: dict[str, Any] = {"text": part.text, "thought": True}
    elif isinstance(part, ir.ToolCall):
        own = part.signature if part.origin == "gemini" and part.signature else None
        wire = {"functionCall": {"id": part.id, "name": part.name, "args": args_object(part.arguments)}}
    elif isinstance(part, ir.Image) and part.data:
        own = part.signature
        wire = {"inlineData": {"mimeType": part.media_type or "image/png", "data": part.data}}
    else:
        return None
    if own:
        wire["thoughtSignature"] = own
    return wire


def _count(meta: dict[str, Any], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) and value > 0 else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
