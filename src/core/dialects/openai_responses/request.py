"""Responses requests: a client body -> IR, and IR -> a Codex body (as CLIProxyAPI builds it, §2a/§2b/§2d)."""

from __future__ import annotations

from typing import Any, get_args

from core import compaction, ir
from core.dialects import dataurl, fields, openai_tools, toolnames
from core.errors import BadRequestError

NAME: ir.Dialect = "openai_responses"
_LEVELS = frozenset(get_args(ir.ThinkingLevel))
_ROLES: dict[str, ir.Role] = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_TEXT_PARTS = ("input_text", "output_text", "text")
_BILLING_HEADER = "x-anthropic-billing-header: "  # Claude Code's system line, meaningless to Codex (§2b)


def parse_request(body: dict[str, Any], *, model: str | None = None, count_tokens: bool = False) -> ir.Request:
    body = fields.body_object(body)
    name = fields.model(body, model)
    messages = _parse_input(body.get("input"))
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages = (ir.Message("system", (ir.Text(instructions),)), *messages)
    text = fields.opt_object(body, "text") or {}
    reasoning = fields.opt_object(body, "reasoning")
    return ir.Request(
        model=name,
        messages=messages,
        dialect=NAME,
        stream=fields.opt_bool(body, "stream") or False,
        tools=_parse_tools(fields.opt_list(body, "tools")),
        tool_choice=_parse_tool_choice(body.get("tool_choice")),
        parallel_tool_calls=fields.opt_bool(body, "parallel_tool_calls"),
        max_tokens=fields.opt_int(body, "max_output_tokens"),
        temperature=fields.opt_number(body, "temperature"),
        top_p=fields.opt_number(body, "top_p"),
        thinking=_parse_reasoning(reasoning),
        response_format=_parse_format(text.get("format")),
        user=fields.opt_str(body, "user"),
        prompt_cache_key=fields.opt_str(body, "prompt_cache_key"),
        prompt_cache_retention=fields.opt_str(body, "prompt_cache_retention"),
        verbosity=text.get("verbosity") if isinstance(text.get("verbosity"), str) else None,
        original=body,
    )


def _parse_input(raw: Any) -> tuple[ir.Message, ...]:
    if isinstance(raw, str):
        return (ir.Message("user", (ir.Text(raw),)),)
    if not isinstance(raw, list):
        raise BadRequestError("input: must be a string or an array of items", param="input")
    if not raw:
        raise BadRequestError("input: must not be empty", param="input")
    turns: list[tuple[ir.Role, list[ir.Part]]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BadRequestError(f"input[{i}]: must be an object", param="input")
        parsed = _parse_item(item, i)
        if parsed is None:
            continue
        role, part_list = parsed
        # Assistant-side items (reasoning, text, calls) form one turn; so do consecutive call outputs.
        if turns and turns[-1][0] == role and role in ("assistant", "tool"):
            turns[-1][1].extend(part_list)
        else:
            turns.append((role, list(part_list)))
    return tuple(ir.Message(role, tuple(parts)) for role, parts in turns)


def _parse_item(item: dict[str, Any], i: int) -> tuple[ir.Role, list[ir.Part]] | None:
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind == "message":
        role = _ROLES.get(item.get("role"))  # type: ignore[arg-type]  # any value: a miss is an error below
        if role is None:
            raise BadRequestError(f"input[{i}].role: unsupported role {item.get('role')!r}", param="input")
        return role, _parse_content(item.get("content"), f"input[{i}].content")
    if kind in ("function_call", "function_call_output") and not _nonempty_str(item.get("call_id")):
        raise BadRequestError(f"input[{i}].call_id: must be a non-empty string", param="input")
    if kind == "function_call":
        args = item.get("arguments")
        return "assistant", [ir.ToolCall(id=str(item.get("call_id") or ""), name=str(item.get("name") or ""),
                                         arguments=args if isinstance(args, str) else "{}", origin=NAME)]
    if kind == "function_call_output":
        output = item.get("output")
        content = output if isinstance(output, str) else tuple(_parse_content(output, f"input[{i}].output"))
        return "tool", [ir.ToolResult(call_id=str(item.get("call_id") or ""), content=content)]
    if kind == "reasoning":
        return "assistant", [_parse_reasoning_item(item)]
    if kind == compaction.ITEM and (summary := compaction.unwrap(item.get("encrypted_content"))) is not None:
        return "user", [ir.Text(compaction.PREAMBLE + summary)]  # our summary, as text for any upstream
    return None  # item_reference, Codex's own compaction, built-in tool calls, ...: nothing neutral to carry


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _parse_reasoning_item(item: dict[str, Any]) -> ir.Reasoning:
    summary = item.get("summary")
    texts = [s.get("text") for s in summary if isinstance(s, dict)] if isinstance(summary, list) else []
    encrypted = item.get("encrypted_content")
    return ir.Reasoning(
        text="\n\n".join(t for t in texts if isinstance(t, str)),
        signature=encrypted if isinstance(encrypted, str) else None,
        origin=NAME,
        item_id=item.get("id") if isinstance(item.get("id"), str) else None,
    )


def _parse_content(content: Any, where: str) -> list[ir.Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [ir.Text(content)] if content else []
    if not isinstance(content, list):
        raise BadRequestError(f"{where}: must be a string or an array of parts", param="input")
    parts: list[ir.Part] = []
    for p in content:
        part = _parse_part(p) if isinstance(p, dict) else None
        if part is not None:
            parts.append(part)
    return parts


def _parse_part(p: dict[str, Any]) -> ir.Part | None:
    kind = p.get("type")
    if kind in _TEXT_PARTS:
        return ir.Text(p["text"]) if isinstance(p.get("text"), str) else None
    if kind == "refusal" and isinstance(p.get("refusal"), str):
        return ir.Text(p["refusal"])
    if kind == "input_image" and isinstance(p.get("image_url"), str):
        inline = dataurl.parse(p["image_url"])
        return ir.Image(url=p["image_url"]) if inline is None else ir.Image(data=inline[1], media_type=inline[0])
    if kind == "input_file":
        return _parse_file(p)
    return None


def _parse_file(p: dict[str, Any]) -> ir.File | None:
    filename = p.get("filename") if isinstance(p.get("filename"), str) else None
    data = p.get("file_data")
    if isinstance(data, str):
        inline = dataurl.parse(data)
        if inline is None:
            return ir.File(data=data, filename=filename)
        return ir.File(data=inline[1], media_type=inline[0], filename=filename)
    if isinstance(p.get("file_url"), str):
        return ir.File(url=p["file_url"], filename=filename)
    return None


def _parse_tools(raw: list[Any] | None) -> tuple[ir.Tool, ...]:
    tools: list[ir.Tool] = []
    for i, t in enumerate(raw or ()):
        if not isinstance(t, dict):
            raise BadRequestError(f"tools[{i}]: must be an object", param="tools")
        if t.get("type") != "function":
            tools.append(ir.Tool(name=str(t.get("name") or t.get("type")), raw=t))  # built-ins kept verbatim
            continue
        tools.append(openai_tools.parse_function(t, f"tools[{i}]"))
    return tuple(tools)


def _parse_tool_choice(raw: Any) -> ir.ToolChoice | None:
    if raw is None:
        return None
    if raw in ("auto", "none", "required"):
        return ir.ToolChoice(raw)
    if not isinstance(raw, dict):
        raise BadRequestError("tool_choice: must be auto, none, required or an object", param="tool_choice")
    kind = raw.get("type")
    if kind == "function" and isinstance(raw.get("name"), str):
        return ir.ToolChoice("tool", raw["name"])
    if isinstance(kind, str) and kind not in ("function", "allowed_tools", "mcp", "custom"):
        return ir.ToolChoice("tool", kind)  # a built-in tool, named by its type
    return None  # shapes with no neutral form fall back to the default (auto)


def _parse_reasoning(raw: dict[str, Any] | None) -> ir.Thinking | None:
    if not raw:
        return None
    level = raw.get("effort")
    if level is not None and (not isinstance(level, str) or level.lower() not in _LEVELS):
        raise BadRequestError(f"reasoning.effort: unsupported value {level!r}", param="reasoning.effort")
    summary = raw.get("summary")
    return ir.Thinking(level=level.lower() if level else None,  # type: ignore[arg-type]  # checked above
                       summary=summary if isinstance(summary, str) else None)


def _parse_format(raw: Any) -> ir.ResponseFormat | None:
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    if kind == "json_schema":
        return ir.ResponseFormat("json_schema", name=raw.get("name"), schema=raw.get("schema"),
                                 strict=raw.get("strict"))
    if kind in ("text", "json_object"):
        return ir.ResponseFormat(kind)
    raise BadRequestError("text.format.type: must be text, json_object or json_schema", param="text.format")


# ---- IR -> Codex body ----

def render_request(req: ir.Request) -> dict[str, Any]:
    """A Codex body: no token limits or sampling (Codex rejects them). The fields Codex forces on every body
    (``stream``, ``store``, ``instructions``, encrypted reasoning) are the executor's (``executors.codex``);
    the effort is thinking's (``thinking.carried_intent``): each is written once, there."""
    names = toolnames.shorten_all(t.name for t in req.tools if t.raw is None)
    summary = req.thinking.summary if req.thinking is not None else None
    body: dict[str, Any] = {
        "model": req.model,
        "input": _render_input(req.messages, names),
        "parallel_tool_calls": req.parallel_tool_calls if req.parallel_tool_calls is not None else True,
        "reasoning": {"summary": summary or "auto"},
    }
    tools = [t for t in (_render_tool(t, names) for t in req.tools) if t is not None]
    if tools:
        body["tools"] = tools
    if req.tool_choice is not None:
        body["tool_choice"] = _render_tool_choice(req.tool_choice, req.tools, names)
    text = _render_text(req)
    if text:
        body["text"] = text
    if req.prompt_cache_key is not None:
        body["prompt_cache_key"] = req.prompt_cache_key
    if req.prompt_cache_retention is not None:
        body["prompt_cache_retention"] = req.prompt_cache_retention
    return body


def _render_input(messages: tuple[ir.Message, ...], names: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "assistant":
            _render_assistant(m.parts, names, items)
        else:
            _render_turn(m, items)
    return items


def _render_turn(m: ir.Message, items: list[dict[str, Any]]) -> None:
    """System -> a developer message (Codex refuses system); tool results -> function_call_output items."""
    role = "developer" if m.role == "system" else "user"
    content: list[dict[str, Any]] = []
    emitted = False
    for p in m.parts:
        if isinstance(p, ir.ToolResult):
            if content:
                items.append({"type": "message", "role": role, "content": content})
                content = []
            items.append({"type": "function_call_output", "call_id": p.call_id, "output": _render_output(p.content)})
            emitted = True
        elif not (role == "developer" and isinstance(p, ir.Text) and p.text.startswith(_BILLING_HEADER)):
            part = _render_part(p, role)
            if part is not None:
                content.append(part)
    if content or (m.role == "user" and not emitted):  # an empty user turn still counts as a turn
        items.append({"type": "message", "role": role, "content": content})


def _render_assistant(parts: tuple[ir.Part, ...], names: dict[str, str], items: list[dict[str, Any]]) -> None:
    """Text, reasoning and calls in their order; a message item only when it has text (empty ones break
    call_id matching upstream)."""
    content: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, ir.Text):
            if p.text:
                content.append({"type": "output_text", "text": p.text})
            continue
        item = _assistant_item(p, names)
        if item is None:
            continue
        if content:
            items.append({"type": "message", "role": "assistant", "content": content})
            content = []
        items.append(item)
    if content:
        items.append({"type": "message", "role": "assistant", "content": content})


def _assistant_item(p: ir.Part, names: dict[str, str]) -> dict[str, Any] | None:
    if isinstance(p, ir.ToolCall):
        name = names.get(p.name) or toolnames.shorten(p.name)
        return {"type": "function_call", "call_id": p.id, "name": name, "arguments": p.arguments}
    if isinstance(p, ir.Reasoning) and p.origin == NAME and p.signature:
        # No item id: with store=false Codex cannot look ids up; the encrypted content carries the state.
        summary = [{"type": "summary_text", "text": p.text}] if p.text else []
        return {"type": "reasoning", "summary": summary, "encrypted_content": p.signature}
    return None  # reasoning from another provider cannot be verified by Codex


def _render_part(p: ir.Part, role: str) -> dict[str, Any] | None:
    if isinstance(p, ir.Text):
        return {"type": "input_text", "text": p.text}
    if role != "user":
        return None
    if isinstance(p, ir.Image):
        url = p.url if p.data is None else dataurl.build(p.media_type, p.data)
        return {"type": "input_image", "image_url": url} if url else None
    if isinstance(p, ir.File):
        if p.data is None:
            return {"type": "input_file", "file_url": p.url} if p.url else None
        part: dict[str, Any] = {"type": "input_file", "file_data": dataurl.build(p.media_type, p.data)}
        if p.filename:
            part["filename"] = p.filename
        return part
    return None


def _render_output(content: str | tuple[ir.Part, ...]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if all(isinstance(p, ir.Text) for p in content):
        return "\n\n".join(p.text for p in content if isinstance(p, ir.Text))
    return [part for part in (_render_part(p, "user") for p in content) if part is not None]


def _render_tool(t: ir.Tool, names: dict[str, str]) -> dict[str, Any] | None:
    if t.raw is not None:
        return _render_builtin(t.raw)
    tool = {"type": "function", **openai_tools.render_function(t, names.get(t.name, t.name))}
    tool["strict"] = t.strict if t.strict is not None else False  # Responses defaults strict to true
    return tool


def _render_builtin(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Responses built-ins pass verbatim; web-search aliases become ``web_search``; versioned built-ins of
    other providers (``bash_20250124``) and type-less ones (Gemini ``googleSearch``) cannot go to Codex."""
    kind = raw.get("type")
    if not isinstance(kind, str):
        return None
    if kind.startswith("web_search_preview"):
        return {**raw, "type": "web_search"}
    if kind.startswith("web_search_20"):  # Anthropic's server tool
        return {"type": "web_search"}
    if kind[-8:].isdigit() and kind[-9:-8] == "_":
        return None
    return raw


def _render_tool_choice(choice: ir.ToolChoice, tools: tuple[ir.Tool, ...], names: dict[str, str]) -> Any:
    if choice.mode != "tool":
        return choice.mode
    name = choice.name or ""
    if any(t.raw is None and t.name == name for t in tools):
        return {"type": "function", "name": names.get(name, name)}
    if name.startswith("web_search"):
        return {"type": "web_search"}
    if any(t.raw is not None and t.raw.get("type") == name for t in tools):
        return {"type": name}
    return {"type": "function", "name": toolnames.shorten(name)}


def _render_text(req: ir.Request) -> dict[str, Any]:
    text: dict[str, Any] = {}
    rf = req.response_format
    if rf is not None and rf.type == "json_schema":
        fmt: dict[str, Any] = {"type": "json_schema", "name": rf.name or "response", "schema": rf.schema or {}}
        if rf.strict is not None:
            fmt["strict"] = rf.strict
        text["format"] = fmt
    elif rf is not None:
        text["format"] = {"type": rf.type}
    if req.verbosity is not None:
        text["verbosity"] = req.verbosity
    return text
