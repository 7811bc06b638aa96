"""Anthropic Messages client requests -> IR (``POST /v1/messages``).

Tool results arrive inside ``user`` turns; they are split out into ``tool`` messages so every renderer
sees one neutral shape (a run of ToolResult parts is a ``tool`` message, in place).
"""

from __future__ import annotations

from typing import Any

import orjson

from core import ir
from core.dialects import fields
from core.dialects.parts import split_results
from core.errors import BadRequestError

_TOOL_CHOICE: dict[Any, str] = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}
_LEVELS = frozenset(("none", "auto", "minimal", "low", "medium", "high", "xhigh", "max"))


def parse_request(body: dict[str, Any], *, model: str | None = None, count_tokens: bool = False) -> ir.Request:
    """``count_tokens``: the body of ``/v1/messages/count_tokens``, where ``max_tokens`` is not sent."""
    if not isinstance(body, dict):
        raise BadRequestError("request body must be a JSON object")
    name = body.get("model") or model
    if not isinstance(name, str) or not name:
        raise BadRequestError("model: a non-empty string is required")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise BadRequestError("messages: must be a non-empty array")
    max_tokens = _max_tokens(body.get("max_tokens"), optional=count_tokens)
    messages = _system(body.get("system"))
    for i, msg in enumerate(raw_messages):
        messages.extend(_message(msg, f"messages.{i}"))
    if all(m.get("role") == "system" for m in raw_messages):
        raise BadRequestError("messages: must contain a 'user' or 'assistant' turn")
    choice, parallel = _tool_choice(body.get("tool_choice"))
    return ir.Request(
        model=name,
        messages=tuple(messages),
        dialect="anthropic",
        stream=_flag(body, "stream") or False,
        tools=_tools(body.get("tools")),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        max_tokens=max_tokens,
        temperature=_number(body, "temperature"),
        top_p=_number(body, "top_p"),
        top_k=_integer(body, "top_k"),
        stop=_strings(body, "stop_sequences"),
        thinking=_thinking(body.get("thinking"), body.get("output_config")),
        response_format=_response_format(body),
        metadata_user_id=_user_id(body.get("metadata")),
        original=body,
    )


# --- system and messages -------------------------------------------------------------------------


def _system(system: Any, where: str = "system") -> list[ir.Message]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [ir.Message("system", (ir.Text(system),))]
    if not isinstance(system, list):
        raise BadRequestError(f"{where}: must be a string or an array of text blocks")
    parts = []
    for i, block in enumerate(system):
        if not isinstance(block, dict):
            raise BadRequestError(f"{where}.{i}: must be an object")
        if block.get("type") == "text":
            parts.append(_text(block, f"{where}.{i}"))
    return [ir.Message("system", tuple(parts))] if parts else []


def _message(msg: Any, where: str) -> list[ir.Message]:
    if not isinstance(msg, dict):
        raise BadRequestError(f"{where}: must be an object")
    role = msg.get("role")
    if role == "system":  # Claude Code's mid-conversation-system beta (sent for models it does not know)
        return _system(msg.get("content"), f"{where}.content")
    if role != "user" and role != "assistant":
        raise BadRequestError(f"{where}.role: must be 'user', 'assistant' or 'system'")
    content = msg.get("content")
    if isinstance(content, str):
        return [ir.Message(role, (ir.Text(content),))]
    if not isinstance(content, list):
        raise BadRequestError(f"{where}.content: must be a string or an array of blocks")
    parts = []
    for j, block in enumerate(content):
        part = _block(block, f"{where}.content.{j}")
        if part is not None:
            parts.append(part)
    return split_results(role, parts)


def _block(block: Any, where: str) -> ir.Part | None:
    if not isinstance(block, dict):
        raise BadRequestError(f"{where}: must be an object")
    kind = block.get("type")
    parse = _BLOCKS.get(kind) if isinstance(kind, str) else None
    return parse(block, where) if parse is not None else None  # server_tool_use etc.: passthrough only


def _text(block: dict[str, Any], where: str) -> ir.Text:
    return ir.Text(fields.string(block, "text", where), _cache(block))


def _image(block: dict[str, Any], where: str) -> ir.Image | None:
    source = _source(block, where)
    kind = source.get("type")
    if kind == "base64":
        return ir.Image(data=fields.string(source, "data", where + ".source"), media_type=source.get("media_type"))
    if kind == "url":
        return ir.Image(url=fields.string(source, "url", where + ".source"))
    return None  # Files API ids have no neutral form


def _document(block: dict[str, Any], where: str) -> ir.Part | None:
    source = _source(block, where)
    kind = source.get("type")
    title = block.get("title") if isinstance(block.get("title"), str) else None
    if kind == "base64":
        data = fields.string(source, "data", where + ".source")
        return ir.File(data=data, media_type=source.get("media_type"), filename=title)
    if kind == "url":
        return ir.File(url=fields.string(source, "url", where + ".source"), media_type="application/pdf", filename=title)
    if kind == "text":
        return ir.Text(fields.string(source, "data", where + ".source"))
    return None


def _tool_use(block: dict[str, Any], where: str) -> ir.ToolCall:
    args = block.get("input")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise BadRequestError(f"{where}.input: must be an object")
    return ir.ToolCall(
        id=fields.string(block, "id", where),
        name=fields.string(block, "name", where),
        arguments=orjson.dumps(args).decode(),
        origin="anthropic",
    )


def _tool_result(block: dict[str, Any], where: str) -> ir.ToolResult:
    call_id = fields.string(block, "tool_use_id", where)
    content = block.get("content")
    if content is None:
        content = ""
    elif isinstance(content, list):
        content = _result_parts(content, where + ".content")
    elif not isinstance(content, str):
        raise BadRequestError(f"{where}.content: must be a string or an array of blocks")
    return ir.ToolResult(call_id, content, is_error=block.get("is_error") is True)


def _result_parts(blocks: list[Any], where: str) -> tuple[ir.Part, ...]:
    parts: list[ir.Part] = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise BadRequestError(f"{where}.{i}: must be an object")
        kind = block.get("type")
        part: ir.Part | None = None
        if kind == "text":
            part = _text(block, f"{where}.{i}")
        elif kind == "image":
            part = _image(block, f"{where}.{i}")
        if part is not None:
            parts.append(part)
    return tuple(parts)


def _thinking_block(block: dict[str, Any], where: str) -> ir.Reasoning:
    signature = block.get("signature")
    return ir.Reasoning(fields.string(block, "thinking", where), signature if isinstance(signature, str) and signature else None,
                        origin="anthropic")


def _redacted(block: dict[str, Any], where: str) -> ir.Reasoning:
    return ir.Reasoning(signature=fields.string(block, "data", where), origin="anthropic", redacted=True)


_BLOCKS = {
    "text": _text,
    "image": _image,
    "document": _document,
    "tool_use": _tool_use,
    "tool_result": _tool_result,
    "thinking": _thinking_block,
    "redacted_thinking": _redacted,
}


# --- tools and options ---------------------------------------------------------------------------


def _tools(tools: Any) -> tuple[ir.Tool, ...]:
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise BadRequestError("tools: must be an array")
    return tuple(_tool(tool, f"tools.{i}") for i, tool in enumerate(tools))


def _tool(tool: Any, where: str) -> ir.Tool:
    if not isinstance(tool, dict):
        raise BadRequestError(f"{where}: must be an object")
    kind = tool.get("type")
    if kind is not None and kind != "custom":  # server tool (web_search_20250305, bash_...): kept verbatim
        return ir.Tool(name=str(tool.get("name") or kind), raw=tool)
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise BadRequestError(f"{where}.input_schema: must be an object")
    description = tool.get("description")
    strict = tool.get("strict")
    return ir.Tool(
        name=fields.string(tool, "name", where),
        description=description if isinstance(description, str) else None,
        parameters=schema,
        strict=strict if isinstance(strict, bool) else None,
        cache_control=_cache(tool),
    )


def _tool_choice(choice: Any) -> tuple[ir.ToolChoice | None, bool | None]:
    if choice is None:
        return None, None
    if not isinstance(choice, dict) or choice.get("type") not in _TOOL_CHOICE:
        raise BadRequestError("tool_choice: must be {type: auto|any|tool|none}")
    mode = _TOOL_CHOICE[choice["type"]]
    name = fields.string(choice, "name", "tool_choice") if mode == "tool" else None
    disable = choice.get("disable_parallel_tool_use")
    parallel = (not disable) if isinstance(disable, bool) else None
    return ir.ToolChoice(mode, name), parallel  # type: ignore[arg-type]  # mode comes from _TOOL_CHOICE


def _thinking(cfg: Any, output_config: Any) -> ir.Thinking | None:
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise BadRequestError("thinking: must be an object")
    kind = cfg.get("type")
    if kind == "enabled":
        budget = cfg.get("budget_tokens")
        if budget is None:
            return ir.Thinking(level="auto")
        if not _is_int(budget):
            raise BadRequestError("thinking.budget_tokens: must be an integer")
        return ir.Thinking(budget=budget)
    if kind == "disabled":
        return ir.Thinking(level="none")
    if kind == "adaptive" or kind == "auto":
        effort = output_config.get("effort") if isinstance(output_config, dict) else None
        if effort is None:
            return ir.Thinking(level="auto")
        level = effort.lower() if isinstance(effort, str) else None
        if level not in _LEVELS:
            raise BadRequestError("output_config.effort: unknown effort level")
        return ir.Thinking(level=level)  # type: ignore[arg-type]  # checked against _LEVELS
    raise BadRequestError("thinking.type: must be 'enabled', 'disabled' or 'adaptive'")


def _response_format(body: dict[str, Any]) -> ir.ResponseFormat | None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is None:
        fmt = body.get("output_format")  # the beta spelling
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return ir.ResponseFormat("json_schema", schema=fmt["schema"])
    return None


def _user_id(metadata: Any) -> str | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise BadRequestError("metadata: must be an object")
    user_id = metadata.get("user_id")
    return user_id if isinstance(user_id, str) and user_id else None


# --- typed field readers -------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _max_tokens(value: Any, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequestError("max_tokens: must be a positive integer")  # Anthropic requires it
    return value


def _source(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, dict):
        raise BadRequestError(f"{where}.source: must be an object")
    return source


def _cache(block: dict[str, Any]) -> dict[str, Any] | None:
    marker = block.get("cache_control")
    return marker if isinstance(marker, dict) else None


def _flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise BadRequestError(f"{key}: must be a boolean")
    return value


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise BadRequestError(f"{key}: must be a number")
    return value


def _integer(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and not _is_int(value):
        raise BadRequestError(f"{key}: must be an integer")
    return value


def _strings(body: dict[str, Any], key: str) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise BadRequestError(f"{key}: must be an array of strings")
    return tuple(value)
