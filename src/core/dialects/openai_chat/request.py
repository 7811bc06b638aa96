"""Chat Completions requests: a client body -> IR, and IR -> a body for an OpenAI-compatible upstream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, get_args

import orjson

from core import ir
from core.dialects import dataurl, fields, openai_tools
from core.errors import BadRequestError

if TYPE_CHECKING:
    from collections.abc import Sequence

NAME: ir.Dialect = "openai_chat"
_LEVELS = frozenset(get_args(ir.ThinkingLevel))
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def parse_request(body: dict[str, Any], *, model: str | None = None, count_tokens: bool = False) -> ir.Request:
    body = fields.body_object(body)
    name = fields.model(body, model)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequestError("messages: must be a non-empty array", param="messages")
    stream = fields.opt_bool(body, "stream") or False
    max_tokens = fields.opt_int(body, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = fields.opt_int(body, "max_tokens")
    text = fields.opt_object(body, "text") or {}
    return ir.Request(
        model=name,
        messages=_parse_messages(messages),
        dialect=NAME,
        stream=stream,
        tools=_parse_tools(fields.opt_list(body, "tools")),
        tool_choice=_parse_tool_choice(body.get("tool_choice")),
        parallel_tool_calls=fields.opt_bool(body, "parallel_tool_calls"),
        max_tokens=max_tokens,
        temperature=fields.opt_number(body, "temperature"),
        top_p=fields.opt_number(body, "top_p"),
        stop=_parse_stop(body.get("stop")),
        thinking=_parse_effort(fields.opt_str(body, "reasoning_effort")),
        response_format=_parse_response_format(fields.opt_object(body, "response_format")),
        include_usage=stream and _include_usage(body),
        user=fields.opt_str(body, "user"),
        prompt_cache_key=fields.opt_str(body, "prompt_cache_key"),
        prompt_cache_retention=fields.opt_str(body, "prompt_cache_retention"),
        verbosity=fields.opt_str(body, "verbosity") or _str_or_none(text.get("verbosity")),
        original=body,
    )


def _parse_messages(raw: list[Any]) -> tuple[ir.Message, ...]:
    out: list[ir.Message] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise BadRequestError(f"messages[{i}]: must be an object", param=f"messages[{i}]")
        role = m.get("role")
        if role in ("tool", "function"):
            result = _parse_tool_result(m)
            if out and out[-1].role == "tool":  # consecutive results answer one assistant turn
                out[-1] = ir.Message("tool", (*out[-1].parts, result))
            else:
                out.append(ir.Message("tool", (result,)))
        elif role in _ROLES:
            out.append(ir.Message(_ROLES[role], _parse_turn(m, role, i)))  # type: ignore[arg-type]  # _ROLES values are Roles
        else:
            raise BadRequestError(f"messages[{i}].role: unsupported role {role!r}", param=f"messages[{i}].role")
    return tuple(out)


def _parse_turn(m: dict[str, Any], role: str, i: int) -> tuple[ir.Part, ...]:
    parts: list[ir.Part] = []
    if role == "assistant":
        thought = m.get("reasoning_content")
        if isinstance(thought, str) and thought:
            parts.append(ir.Reasoning(thought, origin=NAME))
    parts.extend(_parse_content(m.get("content"), f"messages[{i}].content"))
    if role == "assistant":
        parts.extend(_parse_tool_calls(m.get("tool_calls"), i))
    return tuple(parts)


def _parse_content(content: Any, where: str) -> list[ir.Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [ir.Text(content)] if content else []
    if not isinstance(content, list):
        raise BadRequestError(f"{where}: must be a string or an array of parts", param=where)
    parts: list[ir.Part] = []
    for p in content:
        part = _parse_part(p)
        if part is not None:
            parts.append(part)
    return parts


def _parse_part(p: Any) -> ir.Part | None:
    if isinstance(p, str):
        return ir.Text(p)
    if not isinstance(p, dict):
        return None
    kind = p.get("type")
    if kind == "text" or kind == "refusal":
        text = p.get(kind)
        return ir.Text(text) if isinstance(text, str) else None
    if kind == "image_url":
        image = p.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return image_from_url(url) if isinstance(url, str) else None
    if kind == "file" and isinstance(p.get("file"), dict):
        return _parse_file(p["file"])
    return None  # input_audio and unknown parts have no neutral form


def image_from_url(url: str) -> ir.Image:
    inline = dataurl.parse(url)
    if inline is None:
        return ir.Image(url=url)
    return ir.Image(data=inline[1], media_type=inline[0])


def _parse_file(f: dict[str, Any]) -> ir.File | None:
    data, filename = f.get("file_data"), _str_or_none(f.get("filename"))
    if not isinstance(data, str):
        return None
    inline = dataurl.parse(data)
    if inline is None:
        return ir.File(data=data, filename=filename)
    return ir.File(data=inline[1], media_type=inline[0], filename=filename)


def _parse_tool_calls(raw: Any, i: int) -> list[ir.ToolCall]:
    if not isinstance(raw, list):
        return []
    calls: list[ir.ToolCall] = []
    for tc in raw:
        if not isinstance(tc, dict) or tc.get("type", "function") != "function":
            continue  # custom tool calls have no neutral form
        fn = tc.get("function")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise BadRequestError(f"messages[{i}].tool_calls: each call needs function.name")
        args = fn.get("arguments")
        if not isinstance(args, str):  # some clients send the arguments object itself
            args = orjson.dumps(args if args is not None else {}).decode()
        calls.append(ir.ToolCall(id=str(tc.get("id") or ""), name=fn["name"], arguments=args, origin=NAME))
    return calls


def _parse_tool_result(m: dict[str, Any]) -> ir.ToolResult:
    content = m.get("content")
    if isinstance(content, list):
        result: str | tuple[ir.Part, ...] = tuple(_parse_content(content, "tool content"))
    else:
        result = content if isinstance(content, str) else ("" if content is None else orjson.dumps(content).decode())
    call_id = m.get("tool_call_id") if m.get("role") == "tool" else m.get("name")
    return ir.ToolResult(call_id=str(call_id or ""), content=result, name=_str_or_none(m.get("name")))


def _parse_tools(raw: list[Any] | None) -> tuple[ir.Tool, ...]:
    tools: list[ir.Tool] = []
    for i, t in enumerate(raw or ()):
        if not isinstance(t, dict):
            raise BadRequestError(f"tools[{i}]: must be an object", param="tools")
        if t.get("type", "function") != "function":
            tools.append(ir.Tool(name=str(t.get("type")), raw=t))  # built-in (web_search, ...) kept verbatim
            continue
        fn = t.get("function")
        tools.append(openai_tools.parse_function(fn if isinstance(fn, dict) else {}, f"tools[{i}].function"))
    return tuple(tools)


def _parse_tool_choice(raw: Any) -> ir.ToolChoice | None:
    if raw is None:
        return None
    if raw in ("auto", "none", "required"):
        return ir.ToolChoice(raw)
    if isinstance(raw, dict):
        fn = raw.get("function")
        if raw.get("type") == "function" and isinstance(fn, dict) and isinstance(fn.get("name"), str):
            return ir.ToolChoice("tool", fn["name"])
        if isinstance(raw.get("type"), str) and raw["type"] != "function":
            return ir.ToolChoice("tool", raw["type"])  # a built-in tool, named by its type
    raise BadRequestError("tool_choice: must be auto, none, required or a function choice", param="tool_choice")


def _parse_stop(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return tuple(raw)
    raise BadRequestError("stop: must be a string or an array of strings", param="stop")


def _parse_effort(raw: str | None) -> ir.Thinking | None:
    if raw is None:
        return None
    level = raw.strip().lower()
    if level not in _LEVELS:
        raise BadRequestError(f"reasoning_effort: unsupported value {raw!r}", param="reasoning_effort")
    return ir.Thinking(level=level)  # type: ignore[arg-type]  # checked against ThinkingLevel above


def _parse_response_format(raw: dict[str, Any] | None) -> ir.ResponseFormat | None:
    if raw is None:
        return None
    kind = raw.get("type")
    if kind == "json_schema":
        spec = raw.get("json_schema")
        spec = spec if isinstance(spec, dict) else {}
        return ir.ResponseFormat("json_schema", name=_str_or_none(spec.get("name")),
                                 schema=spec.get("schema"), strict=spec.get("strict"))
    if kind in ("text", "json_object"):
        return ir.ResponseFormat(kind)
    raise BadRequestError("response_format.type: must be text, json_object or json_schema",
                          param="response_format")


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# ---- IR -> chat body for an OpenAI-compatible upstream ----

def render_request(req: ir.Request) -> dict[str, Any]:
    """A chat body; ``reasoning_effort`` is thinking's to write (``thinking.carried_intent``)."""
    body: dict[str, Any] = {"model": req.model, "messages": render_messages(req.messages)}
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}  # usage arrives only when asked for
    optional = {
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "stop": list(req.stop) or None,
        "parallel_tool_calls": req.parallel_tool_calls,
        "user": req.user,
        "prompt_cache_key": req.prompt_cache_key,
        "prompt_cache_retention": req.prompt_cache_retention,
        "verbosity": req.verbosity,
    }
    body.update((k, v) for k, v in optional.items() if v is not None)
    # Built-ins (Tool.raw) came from another dialect: their shapes mean nothing to a chat endpoint.
    functions = [t for t in req.tools if t.raw is None]
    if functions:
        body["tools"] = [_render_tool(t) for t in functions]
    choice = _render_tool_choice(req.tool_choice, functions) if req.tool_choice is not None else None
    if choice is not None:
        body["tool_choice"] = choice
    if req.response_format is not None:
        body["response_format"] = _render_response_format(req.response_format)
    return body


def render_messages(messages: tuple[ir.Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        # Tool results come first: Anthropic puts them in the user turn that also carries new text.
        for p in m.parts:
            if isinstance(p, ir.ToolResult):
                out.append({"role": "tool", "tool_call_id": p.call_id, "content": _render_result(p.content)})
        if m.role == "assistant":
            out.append(_render_assistant(m.parts))
        elif m.role != "tool":
            content = [p for p in m.parts if isinstance(p, ir.Text | ir.Image | ir.File)]
            if content or not any(isinstance(p, ir.ToolResult) for p in m.parts):
                out.append({"role": m.role, "content": _render_content(content)})
    return out


def _render_assistant(parts: tuple[ir.Part, ...]) -> dict[str, Any]:
    text = "".join(p.text for p in parts if isinstance(p, ir.Text))
    calls = [{"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
             for p in parts if isinstance(p, ir.ToolCall)]
    msg: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    thoughts = [p.text for p in parts if isinstance(p, ir.Reasoning) and p.origin == NAME and p.text]
    if thoughts:
        msg["reasoning_content"] = "\n\n".join(thoughts)
    if calls:
        msg["tool_calls"] = calls
    return msg


def _render_content(parts: Sequence[ir.Part]) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], ir.Text):
        return parts[0].text
    if not parts:
        return ""
    return [_render_part(p) for p in parts]


def _render_part(p: ir.Part) -> dict[str, Any]:
    if isinstance(p, ir.Image):
        url = p.url if p.data is None else dataurl.build(p.media_type, p.data)
        return {"type": "image_url", "image_url": {"url": url}}
    if isinstance(p, ir.File):
        data = p.url if p.data is None else dataurl.build(p.media_type, p.data)
        file: dict[str, Any] = {"file_data": data}
        if p.filename:
            file["filename"] = p.filename
        return {"type": "file", "file": file}
    return {"type": "text", "text": p.text if isinstance(p, ir.Text) else ""}


def _render_result(content: str | tuple[ir.Part, ...]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if all(isinstance(p, ir.Text) for p in content):
        return "\n\n".join(p.text for p in content if isinstance(p, ir.Text))
    return [_render_part(p) for p in content]


def _render_tool(t: ir.Tool) -> dict[str, Any]:
    fn = openai_tools.render_function(t, t.name)
    if t.strict is not None:
        fn["strict"] = t.strict
    return {"type": "function", "function": fn}


def _render_tool_choice(choice: ir.ToolChoice, functions: list[ir.Tool]) -> Any:
    if choice.mode != "tool":
        return choice.mode
    if any(t.name == choice.name for t in functions):
        return {"type": "function", "function": {"name": choice.name}}
    return None  # a forced built-in that was dropped: leave the choice to the model


def _render_response_format(rf: ir.ResponseFormat) -> dict[str, Any]:
    if rf.type != "json_schema":
        return {"type": rf.type}
    spec: dict[str, Any] = {"name": rf.name or "response", "schema": rf.schema or {}}
    if rf.strict is not None:
        spec["strict"] = rf.strict
    return {"type": "json_schema", "json_schema": spec}
