"""Non-stream Responses objects: a Codex ``response`` -> IR, and IR -> the object a Responses client expects."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

from core import errors, ir
from core.dialects import toolnames
from core.dialects.openai_errors import render_error, render_model, render_models

__all__ = ["call_item", "final_status", "message_item", "parse_response", "parse_usage", "reasoning_item", "render_count",
           "render_error", "render_model", "render_models", "render_response", "render_usage", "response_object", "stop_reason"]

NAME: ir.Dialect = "openai_responses"

# Request fields a response object echoes, with the value a client sees when the request left them out.
_ECHOED: tuple[tuple[str, Any], ...] = (
    ("instructions", None), ("max_output_tokens", None), ("parallel_tool_calls", True),
    ("previous_response_id", None), ("prompt_cache_key", None), ("reasoning", {"effort": None, "summary": None}),
    ("service_tier", "auto"), ("store", False), ("temperature", None), ("text", {"format": {"type": "text"}}),
    ("tool_choice", "auto"), ("tools", []), ("top_p", None), ("truncation", "disabled"), ("user", None),
    ("metadata", {}),
)
_INCOMPLETE: dict[str, ir.StopReason] = {"max_output_tokens": "max_tokens", "content_filter": "content_filter"}
_INCOMPLETE_REASON = {v: k for k, v in _INCOMPLETE.items()}


def parse_usage(raw: Any) -> ir.Usage:
    if not isinstance(raw, dict):
        return ir.Usage()
    inp, out = raw.get("input_tokens_details"), raw.get("output_tokens_details")
    inp = inp if isinstance(inp, dict) else {}
    return ir.Usage(
        input_tokens=raw.get("input_tokens") or 0,
        output_tokens=raw.get("output_tokens") or 0,
        cached_tokens=inp.get("cached_tokens") or 0,
        cache_creation_tokens=inp.get("cache_write_tokens") or 0,
        reasoning_tokens=(out.get("reasoning_tokens") or 0) if isinstance(out, dict) else 0,
    )


def render_usage(u: ir.Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens, "cache_write_tokens": u.cache_creation_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.total_tokens,
    }


def stop_reason(response: dict[str, Any], called_tools: bool) -> ir.StopReason:
    """Incomplete answers say why; otherwise a turn with calls ends for tool use."""
    details = response.get("incomplete_details")
    if response.get("status") == "incomplete" and isinstance(details, dict):
        return _INCOMPLETE.get(str(details.get("reason")), "max_tokens")
    return "tool_use" if called_tools else "end_turn"


def parse_response(body: dict[str, Any], *, req: ir.Request | None = None) -> ir.Response:
    """The ``response`` object (or a whole ``response.completed`` event); a failed one raises its error.

    With the request, tool names shortened for Codex's 64-character limit are restored."""
    if body.get("object") != "response" and isinstance(body.get("response"), dict):
        body = body["response"]
    if body.get("status") == "failed":
        raise errors.UpstreamServerError("openai_responses: the response failed (the executor classifies that)")
    parts: list[ir.Part] = []
    for item in body.get("output") or ():
        if isinstance(item, dict):
            parts.extend(_parse_output_item(item))
    if req is not None and req.tools:
        names = toolnames.restore_map(t.name for t in req.tools if t.raw is None)
        parts = [replace(p, name=names.get(p.name, p.name)) if isinstance(p, ir.ToolCall) else p for p in parts]
    called = any(isinstance(p, ir.ToolCall) for p in parts)
    return ir.Response(id=str(body.get("id") or ""), model=str(body.get("model") or ""), parts=tuple(parts),
                       stop_reason=stop_reason(body, called), usage=parse_usage(body.get("usage")),
                       created=int(body.get("created_at") or 0))


def _parse_output_item(item: dict[str, Any]) -> list[ir.Part]:
    kind = item.get("type")
    if kind == "message":
        content = item.get("content") or ()
        return [ir.Text(c["text"]) for c in content
                if isinstance(c, dict) and c.get("type") == "output_text" and isinstance(c.get("text"), str)]
    if kind == "reasoning":
        summary = item.get("summary") or ()
        texts = [s["text"] for s in summary if isinstance(s, dict) and isinstance(s.get("text"), str)]
        signature = item.get("encrypted_content")
        return [ir.Reasoning("\n\n".join(texts), signature=signature if isinstance(signature, str) else None,
                             origin=NAME, item_id=item.get("id"))]
    if kind == "function_call":
        args = item.get("arguments")
        return [ir.ToolCall(id=str(item.get("call_id") or ""), name=str(item.get("name") or ""),
                            arguments=args if isinstance(args, str) else "{}", origin=NAME)]
    return []


# ---- output items, shared with the stream encoder ----

def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": [part]}


def reasoning_item(item_id: str, texts: list[str], signature: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": "reasoning",
                            "summary": [{"type": "summary_text", "text": t} for t in texts]}
    if signature:
        item["encrypted_content"] = signature
    return item


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "status": status, "arguments": arguments,
            "call_id": call_id, "name": name}


def response_object(req: ir.Request, *, rid: str, created: int, model: str, status: str,
                    output: list[dict[str, Any]], usage: ir.Usage | None = None,
                    stop: ir.StopReason | None = None) -> dict[str, Any]:
    """A ``response`` object echoing the client's request fields (as OpenAI does)."""
    original = req.original
    obj: dict[str, Any] = {"id": rid, "object": "response", "created_at": created, "status": status,
                           "error": None, "incomplete_details": None}
    if status == "incomplete":
        obj["incomplete_details"] = {"reason": _INCOMPLETE_REASON.get(stop or "max_tokens", "max_output_tokens")}
    for key, default in _ECHOED:
        obj[key] = original.get(key, default)
    obj["model"] = model
    obj["output"] = output
    obj["usage"] = render_usage(usage) if usage is not None else None
    return obj


def final_status(stop: ir.StopReason | None) -> str:
    return "incomplete" if stop in _INCOMPLETE_REASON else "completed"


def render_response(resp: ir.Response, req: ir.Request) -> dict[str, Any]:
    rid = resp.id or "resp_" + os.urandom(12).hex()
    base = rid.removeprefix("resp_")
    output: list[dict[str, Any]] = []
    texts: list[str] = []
    for p in resp.parts:
        if isinstance(p, ir.Text):
            texts.append(p.text)
            continue
        if texts:
            output.append(message_item(f"msg_{base}_{len(output)}", "".join(texts)))
            texts = []
        if isinstance(p, ir.Reasoning):
            item_id = p.item_id or f"rs_{base}_{len(output)}"
            output.append(reasoning_item(item_id, [p.text] if p.text else [], p.signature))
        elif isinstance(p, ir.ToolCall):
            output.append(call_item(f"fc_{base}_{len(output)}", p.id, p.name, p.arguments))
    if texts:
        output.append(message_item(f"msg_{base}_{len(output)}", "".join(texts)))
    return response_object(req, rid=rid, created=resp.created or int(time.time()), model=resp.model or req.model,
                           status=final_status(resp.stop_reason), output=output, usage=resp.usage,
                           stop=resp.stop_reason)


def render_count(tokens: int) -> dict[str, Any]:
    """``POST /v1/responses/input_tokens``'s answer."""
    return {"object": "response.input_tokens", "input_tokens": tokens}
