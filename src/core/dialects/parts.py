"""Operations on IR parts that several dialects need in exactly the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from core import errors, ir

if TYPE_CHECKING:
    from core import sse


def split_results(role: ir.Role, parts: list[ir.Part]) -> list[ir.Message]:
    """One wire turn -> IR messages: each run of ToolResult parts becomes a ``tool`` message in place.

    Anthropic and Gemini put tool results inside user turns; the IR keeps them in ``tool`` messages so a
    renderer meets one shape whatever the client spoke. ``[result, result, text]`` from a user turn gives
    ``tool(result, result), user(text)``.
    """
    out: list[ir.Message] = []
    run: list[ir.Part] = []
    run_role: ir.Role = role
    for part in parts:
        part_role: ir.Role = "tool" if isinstance(part, ir.ToolResult) else role
        if run and part_role != run_role:
            out.append(ir.Message(run_role, tuple(run)))
            run = []
        run_role = part_role
        run.append(part)
    if run:
        out.append(ir.Message(run_role, tuple(run)))
    return out


def args_object(arguments: str) -> dict[str, Any]:
    """Tool-call arguments (JSON text) as an object; empty, invalid or non-object text gives ``{}``."""
    if not arguments:
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def result_text(content: str | tuple[ir.Part, ...]) -> str:
    """A tool result's text: the string itself, or its Text parts joined by newlines."""
    if isinstance(content, str):
        return content
    return "\n".join(p.text for p in content if isinstance(p, ir.Text))


def frame_object(frame: sse.Frame, upstream: str) -> dict[str, Any] | list[ir.Delta]:
    """A Claude or Gemini stream frame's JSON object, else the Deltas it gives: none for an empty frame,
    ``[DONE]`` or a non-object, an error for malformed JSON (a truncated or corrupted upstream stream)."""
    if not frame.data or frame.data == "[DONE]":
        return []
    try:
        value = orjson.loads(frame.data)
    except orjson.JSONDecodeError:
        return [ir.Delta("error", error=errors.UpstreamServerError(f"{upstream}: malformed stream event"))]
    return value if isinstance(value, dict) else []
