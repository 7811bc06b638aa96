"""IR -> Claude Messages body, for a Claude upstream (whatever dialect the client spoke).

Claude is strict where other dialects are loose: roles must alternate, tool results sit first in a user
turn, tool ids match ``^[a-zA-Z0-9_-]+$``, ``max_tokens`` is required, and thinking blocks must carry the
signature Claude issued. Reasoning from any other provider is dropped. Tool names Claude would refuse are
renamed (``names``) in declarations, ``tool_choice`` and history alike.
"""

from __future__ import annotations

import re
from typing import Any

from core import ir
from core.dialects import dataurl
from core.dialects.anthropic.names import wire_map
from core.dialects.parts import args_object

DEFAULT_MAX_TOKENS = 32000
MIN_BUDGET = 1024  # Claude rejects smaller thinking budgets
LEVEL_BUDGET = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768, "max": 128000}

_BAD_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_CHOICE = {"auto": "auto", "required": "any", "none": "none", "tool": "tool"}
_WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}
_SERVER_TOOL_TYPE = re.compile(r"^[a-z][a-z0-9_]*_\d{8}$")  # Anthropic's dated server-tool types


def render_request(req: ir.Request) -> dict[str, Any]:
    names = wire_map(req)
    system, turns = _turns(req.messages, names)
    max_tokens = req.max_tokens or DEFAULT_MAX_TOKENS
    body: dict[str, Any] = {"model": req.model, "max_tokens": max_tokens}
    if system:
        body["system"] = system
    body["messages"] = turns or [{"role": "user", "content": [{"type": "text", "text": ""}]}]
    tools = [t for t in (_tool(t, names) for t in req.tools) if t is not None]
    if tools:
        body["tools"] = tools
        choice = _tool_choice(req.tool_choice, req.parallel_tool_calls, names)
        if choice is not None:
            body["tool_choice"] = choice
    thinking = _thinking(req.thinking, max_tokens)
    if thinking is not None and thinking["type"] != "disabled" and _unsigned_tool_loop(turns):
        thinking = {"type": "disabled"}
    if thinking is not None:
        body["thinking"] = thinking
    _sampling(body, req, thinking_on=thinking is not None and thinking["type"] != "disabled")
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    if req.metadata_user_id:
        body["metadata"] = {"user_id": req.metadata_user_id}
    body["stream"] = req.stream
    return body


def tool_id(raw: str) -> str:
    """A call id Claude accepts; the same input always gives the same id, so calls and results still pair."""
    return _BAD_ID_CHARS.sub("_", raw) or "toolu_empty"


# --- messages ------------------------------------------------------------------------------------


def _turns(messages: tuple[ir.Message, ...],
           names: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "system":
            system.extend(b for b in map(_text, msg.parts) if b is not None)
            continue
        role = "assistant" if msg.role == "assistant" else "user"
        blocks = [b for b in (_block(p, names) for p in msg.parts) if b is not None]
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":  # stable: results first, each group in its own order
            turn["content"].sort(key=lambda b: b["type"] != "tool_result")
    return system, turns


def _unsigned_tool_loop(turns: list[dict[str, Any]]) -> bool:
    """True when the request continues a tool loop whose assistant turn has no leading thinking block.

    Claude then refuses thinking ("a final assistant message must start with a thinking block"), and
    calls made by another provider, or relayed by a client that drops thinking, can never have one.
    """
    if len(turns) < 2 or turns[-2]["role"] != "assistant":
        return False
    if not any(b["type"] == "tool_result" for b in turns[-1]["content"]):
        return False
    return turns[-2]["content"][0]["type"] not in ("thinking", "redacted_thinking")


def _block(part: ir.Part, names: dict[str, str]) -> dict[str, Any] | None:
    if isinstance(part, ir.Text):
        return _text(part)
    if isinstance(part, ir.ToolCall):
        name = names.get(part.name, part.name)
        return {"type": "tool_use", "id": tool_id(part.id), "name": name, "input": args_object(part.arguments)}
    if isinstance(part, ir.ToolResult):
        return _tool_result(part)
    if isinstance(part, ir.Reasoning):
        return _reasoning(part)
    if isinstance(part, ir.Image):
        return image_block(part)
    if isinstance(part, ir.File):
        return _document(part)
    return None


def _text(part: ir.Part) -> dict[str, Any] | None:
    if not isinstance(part, ir.Text) or not part.text:
        return None  # Claude rejects empty text blocks
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if part.cache_control is not None:
        block["cache_control"] = part.cache_control
    return block


def _reasoning(part: ir.Reasoning) -> dict[str, Any] | None:
    if part.origin != "anthropic" or not part.signature:
        return None
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.signature}
    return {"type": "thinking", "thinking": part.text, "signature": part.signature}


def _tool_result(part: ir.ToolResult) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(part.call_id)}
    if isinstance(part.content, str):
        block["content"] = part.content
    else:
        inner = (_text(p) if isinstance(p, ir.Text) else image_block(p) if isinstance(p, ir.Image) else None
                 for p in part.content)
        block["content"] = [b for b in inner if b is not None]
    if part.is_error:
        block["is_error"] = True
    return block


def image_block(part: ir.Image) -> dict[str, Any] | None:
    if part.data:
        media = part.media_type or "image/png"
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": part.data}}
    if not part.url:
        return None
    inline = dataurl.parse(part.url, default_type=dataurl.UNTYPED)
    if inline is not None:
        return {"type": "image", "source": {"type": "base64", "media_type": inline[0], "data": inline[1]}}
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def _document(part: ir.File) -> dict[str, Any] | None:
    inline = dataurl.parse(part.url, default_type=dataurl.UNTYPED) if part.url else None
    if part.data or inline is not None:
        media, data = inline or (part.media_type or "application/pdf", part.data)
        block: dict[str, Any] = {"type": "document", "source": {"type": "base64", "media_type": media, "data": data}}
    elif part.url:
        block = {"type": "document", "source": {"type": "url", "url": part.url}}
    else:
        return None
    if part.filename:
        block["title"] = part.filename
    return block


# --- tools and options ---------------------------------------------------------------------------


def _tool(tool: ir.Tool, names: dict[str, str]) -> dict[str, Any] | None:
    if tool.raw is not None:
        return _server_tool(tool.raw)
    schema = tool.parameters if isinstance(tool.parameters, dict) else {}
    if "type" not in schema:
        schema = {"type": "object", "properties": {}, **schema}
    out: dict[str, Any] = {"name": names.get(tool.name, tool.name)}
    if tool.description:
        out["description"] = tool.description
    out["input_schema"] = schema
    if tool.cache_control is not None:
        out["cache_control"] = tool.cache_control
    return out


def _server_tool(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Claude server tools (versioned types such as ``bash_20250124``) pass as they are; other providers'
    web search becomes Claude's; the rest (Codex ``namespace`` groups, ``custom`` tools...) is dropped,
    since Claude refuses a tool type it does not know."""
    kind = raw.get("type")
    if not isinstance(kind, str):
        return dict(_WEB_SEARCH) if "googleSearch" in raw or "google_search" in raw else None
    if "name" in raw and _SERVER_TOOL_TYPE.search(kind):
        return raw
    return dict(_WEB_SEARCH) if kind.startswith("web_search") else None


def _tool_choice(choice: ir.ToolChoice | None, parallel: bool | None,
                 names: dict[str, str]) -> dict[str, Any] | None:
    out: dict[str, Any] | None = None
    if choice is not None:
        out = {"type": _CHOICE[choice.mode]}
        if choice.mode == "tool":
            out["name"] = names.get(choice.name or "", choice.name or "")
    if parallel is False and (out is None or out["type"] != "none"):
        out = out or {"type": "auto"}
        out["disable_parallel_tool_use"] = True
    return out


def _thinking(thinking: ir.Thinking | None, max_tokens: int) -> dict[str, Any] | None:
    if thinking is None:
        return None
    budget = thinking.budget
    if budget is None:
        level = thinking.level
        if level is None:
            return None
        budget = 0 if level == "none" else -1 if level == "auto" else LEVEL_BUDGET[level]
    if budget == 0:
        return {"type": "disabled"}
    if budget < 0:
        return {"type": "adaptive"}  # "enabled" needs a fixed budget; adaptive lets Claude choose
    if budget >= max_tokens and max_tokens - 1 >= MIN_BUDGET:
        budget = max_tokens - 1  # Claude requires budget_tokens < max_tokens
    return {"type": "enabled", "budget_tokens": budget}


def _sampling(body: dict[str, Any], req: ir.Request, *, thinking_on: bool) -> None:
    """With thinking on, Claude accepts neither temperature nor top_k, and top_p only from 0.95."""
    if thinking_on:
        if req.top_p is not None and req.top_p >= 0.95:
            body["top_p"] = req.top_p
        return
    if req.temperature is not None:
        body["temperature"] = req.temperature
    elif req.top_p is not None:  # recent Claude models refuse temperature and top_p together
        body["top_p"] = req.top_p
    if req.top_k is not None:
        body["top_k"] = req.top_k
