"""Gemini generateContent client requests -> IR (``POST /v1beta/models/{model}:generateContent``).

The model comes from the URL path. Gemini has no call ids: each functionCall gets ``call_<n>`` by
position (or its own ``id``), and each functionResponse takes the oldest open call of the same name.
Both camelCase and snake_case field names are read, as Google's API does.
"""

from __future__ import annotations

from typing import Any

import orjson

from core import ir
from core.dialects import fields
from core.dialects.parts import split_results
from core.errors import BadRequestError

_LEVELS = frozenset(("none", "auto", "minimal", "low", "medium", "high", "xhigh", "max"))
_TOOL_KEYS = ("functionDeclarations", "function_declarations")


def parse_request(body: dict[str, Any], *, model: str | None = None, count_tokens: bool = False) -> ir.Request:
    """``count_tokens`` is accepted as in the Anthropic dialect; a countTokens body needs nothing special here
    beyond the ``generateContentRequest`` wrapper, which is read either way."""
    if not isinstance(body, dict):
        raise BadRequestError("request body must be a JSON object")
    name = model or body.get("model")
    if not isinstance(name, str) or not name:
        raise BadRequestError("model: missing from the URL path")
    inner = body.get("generateContentRequest")  # countTokens may wrap the request
    gc = inner if "contents" not in body and isinstance(inner, dict) else body
    contents = gc.get("contents")
    if not isinstance(contents, list) or not contents:
        raise BadRequestError("contents: must be a non-empty array")
    messages = _system(_get(gc, "systemInstruction", "system_instruction"))
    messages.extend(_Contents().parse(contents))
    gen = _object(gc, "generationConfig", "generation_config") or {}
    return ir.Request(
        model=name.removeprefix("models/"),
        messages=tuple(messages),
        dialect="gemini",
        tools=_tools(gc.get("tools")),
        tool_choice=_tool_choice(_object(gc, "toolConfig", "tool_config")),
        max_tokens=_integer(gen, "maxOutputTokens", "max_output_tokens"),
        temperature=_number(gen, "temperature", "temperature"),
        top_p=_number(gen, "topP", "top_p"),
        top_k=_integer(gen, "topK", "top_k"),
        stop=_strings(gen, "stopSequences", "stop_sequences"),
        thinking=_thinking(_object(gen, "thinkingConfig", "thinking_config")),
        response_format=_response_format(gen),
        original=body,
    )


def _system(system: Any) -> list[ir.Message]:
    if system is None:
        return []
    if isinstance(system, str):
        return [ir.Message("system", (ir.Text(system),))] if system else []
    if not isinstance(system, dict) or not isinstance(system.get("parts", []), list):
        raise BadRequestError("systemInstruction: must be a Content object with parts")
    texts = tuple(ir.Text(p["text"]) for p in system.get("parts", ()) if isinstance(p, dict)
                  and isinstance(p.get("text"), str) and p["text"])
    return [ir.Message("system", texts)] if texts else []


class _Contents:
    """Parses ``contents`` in order, pairing functionResponses with the calls before them."""

    __slots__ = ("_count", "_open")

    def __init__(self) -> None:
        self._count = 0
        self._open: list[tuple[str, str]] = []  # (call id, name) not yet answered, oldest first

    def parse(self, contents: list[Any]) -> list[ir.Message]:
        out: list[ir.Message] = []
        role: ir.Role = "assistant"  # so that a first content without a role counts as user
        for i, content in enumerate(contents):
            where = f"contents.{i}"
            if not isinstance(content, dict):
                raise BadRequestError(f"{where}: must be an object")
            role = _role(content.get("role"), role, where)
            raw_parts = content.get("parts", [])
            if not isinstance(raw_parts, list):
                raise BadRequestError(f"{where}.parts: must be an array")
            parts: list[ir.Part] = []
            for j, part in enumerate(raw_parts):
                parts.extend(self._part(part, f"{where}.parts.{j}"))
            out.extend(split_results(role, parts))
        return out

    def _part(self, part: Any, where: str) -> list[ir.Part]:
        if not isinstance(part, dict):
            raise BadRequestError(f"{where}: must be an object")
        signature = _get(part, "thoughtSignature", "thought_signature")
        signature = signature if isinstance(signature, str) and signature else None
        if "text" in part:
            text = fields.string(part, "text", where)
            if part.get("thought") is True:
                return [ir.Reasoning(text, signature, origin="gemini")]
            if signature:  # a signature on a plain part: keep it just before the part it rode on
                return [ir.Reasoning("", signature, origin="gemini"), ir.Text(text)]
            return [ir.Text(text)]
        call = _get(part, "functionCall", "function_call")
        if call is not None:
            return [self._call(call, signature, where)]
        result = _get(part, "functionResponse", "function_response")
        if result is not None:
            return [self._result(result, where)]
        media = _media(part, signature, where)
        return [media] if media is not None else []  # executableCode etc. have no neutral form

    def _call(self, call: Any, signature: str | None, where: str) -> ir.ToolCall:
        if not isinstance(call, dict):
            raise BadRequestError(f"{where}.functionCall: must be an object")
        name = fields.string(call, "name", where + ".functionCall")
        args = call.get("args")
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise BadRequestError(f"{where}.functionCall.args: must be an object")
        given = call.get("id")
        call_id = given if isinstance(given, str) and given else self._next_id()
        self._open.append((call_id, name))
        return ir.ToolCall(call_id, name, orjson.dumps(args).decode(), signature=signature, origin="gemini")

    def _result(self, result: Any, where: str) -> ir.ToolResult:
        if not isinstance(result, dict):
            raise BadRequestError(f"{where}.functionResponse: must be an object")
        name = result.get("name")
        name = name if isinstance(name, str) else ""
        response = result.get("response")
        if response is not None and not isinstance(response, dict):
            raise BadRequestError(f"{where}.functionResponse.response: must be an object")
        text, is_error = _response_text(response or {})
        images = tuple(p for p in map(_inline, result.get("parts") or ()) if p is not None)
        content: str | tuple[ir.Part, ...] = (ir.Text(text), *images) if images else text
        return ir.ToolResult(self._match(name, result.get("id")), content, name=name or None, is_error=is_error)

    def _match(self, name: str, given: Any) -> str:
        """The call this response answers: by id, else the oldest open call of that name (any, if unnamed)."""
        given = given if isinstance(given, str) and given else None
        for k, (call_id, call_name) in enumerate(self._open):
            if call_id == given or (given is None and (call_name == name or not name)):
                del self._open[k]
                return call_id
        return given or self._next_id()

    def _next_id(self) -> str:
        self._count += 1
        return f"call_{self._count - 1}"


def _role(role: Any, previous: ir.Role, where: str) -> ir.Role:
    if role == "model":
        return "assistant"
    if role == "user" or role == "function":
        return "user"
    if role is None or isinstance(role, str):  # missing or unknown: alternate, as Google's clients do
        return "user" if previous == "assistant" else "assistant"
    raise BadRequestError(f"{where}.role: must be 'user' or 'model'")


def _response_text(response: dict[str, Any]) -> tuple[str, bool]:
    """The text of a functionResponse: its ``output``/``result`` string, or the whole object as JSON."""
    for key in ("output", "result", "content"):
        value = response.get(key)
        if isinstance(value, str) and len(response) == 1:
            return value, False
    error = response.get("error")
    if error is not None and len(response) == 1:
        return (error if isinstance(error, str) else orjson.dumps(error).decode()), True
    return orjson.dumps(response).decode(), False


def _media(part: dict[str, Any], signature: str | None, where: str) -> ir.Part | None:
    inline = _get(part, "inlineData", "inline_data")
    if inline is not None:
        if not isinstance(inline, dict) or not isinstance(inline.get("data"), str):
            raise BadRequestError(f"{where}.inlineData: must carry base64 data")
        return _inline(part, signature)
    file = _get(part, "fileData", "file_data")
    if file is None:
        return None
    if not isinstance(file, dict):
        raise BadRequestError(f"{where}.fileData: must be an object")
    uri = _get(file, "fileUri", "file_uri")
    if not isinstance(uri, str):
        raise BadRequestError(f"{where}.fileData.fileUri: must be a string")
    mime = _get(file, "mimeType", "mime_type")
    mime = mime if isinstance(mime, str) else None
    if mime is None or mime.startswith("image/"):
        return ir.Image(url=uri, media_type=mime, signature=signature)
    return ir.File(url=uri, media_type=mime)


def _inline(part: Any, signature: str | None = None) -> ir.Image | ir.File | None:
    inline = _get(part, "inlineData", "inline_data") if isinstance(part, dict) else None
    if not isinstance(inline, dict) or not isinstance(inline.get("data"), str):
        return None
    mime = _get(inline, "mimeType", "mime_type")
    mime = mime if isinstance(mime, str) else "application/octet-stream"
    if mime.startswith("image/"):
        return ir.Image(data=inline["data"], media_type=mime, signature=signature)
    return ir.File(data=inline["data"], media_type=mime)


# --- tools and generation config -----------------------------------------------------------------


def _tools(tools: Any) -> tuple[ir.Tool, ...]:
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise BadRequestError("tools: must be an array")
    out: list[ir.Tool] = []
    for i, entry in enumerate(tools):
        if not isinstance(entry, dict):
            raise BadRequestError(f"tools.{i}: must be an object")
        declarations = _get(entry, *_TOOL_KEYS) or []
        if not isinstance(declarations, list):
            raise BadRequestError(f"tools.{i}.functionDeclarations: must be an array")
        out.extend(_declaration(d, f"tools.{i}.functionDeclarations.{j}") for j, d in enumerate(declarations))
        builtin = {k: v for k, v in entry.items() if k not in _TOOL_KEYS}
        if builtin:  # googleSearch, codeExecution, urlContext ...: kept verbatim
            out.append(ir.Tool(name=next(iter(builtin)), raw=builtin))
    return tuple(out)


def _declaration(decl: Any, where: str) -> ir.Tool:
    if not isinstance(decl, dict):
        raise BadRequestError(f"{where}: must be an object")
    schema = _get(decl, "parametersJsonSchema", "parameters_json_schema")
    if schema is None and decl.get("parameters") is not None:
        schema = _lower_types(decl["parameters"])  # OpenAPI subset with OBJECT/STRING -> JSON Schema
    if schema is not None and not isinstance(schema, dict):
        raise BadRequestError(f"{where}.parameters: must be an object")
    description = decl.get("description")
    return ir.Tool(fields.string(decl, "name", where), description if isinstance(description, str) else None, schema)


def _lower_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_lower_types(v) for v in schema]
    return schema


def _tool_choice(config: dict[str, Any] | None) -> ir.ToolChoice | None:
    calling = _object(config, "functionCallingConfig", "function_calling_config") if config else None
    if calling is None:
        return None
    mode = calling.get("mode", "AUTO")
    mode = mode.upper() if isinstance(mode, str) else mode
    allowed = _strings(calling, "allowedFunctionNames", "allowed_function_names")
    if mode == "NONE":
        return ir.ToolChoice("none")
    if mode == "ANY":
        return ir.ToolChoice("tool", allowed[0]) if len(allowed) == 1 else ir.ToolChoice("required")
    if mode in ("AUTO", "VALIDATED", "MODE_UNSPECIFIED"):
        return ir.ToolChoice("auto")
    raise BadRequestError("toolConfig.functionCallingConfig.mode: must be AUTO, ANY or NONE")


def _thinking(config: dict[str, Any] | None) -> ir.Thinking | None:
    if config is None:
        return None
    level = _get(config, "thinkingLevel", "thinking_level")
    if level is not None:
        level = level.lower() if isinstance(level, str) else None
        if level not in _LEVELS:
            raise BadRequestError("thinkingConfig.thinkingLevel: unknown level")
    budget = _integer(config, "thinkingBudget", "thinking_budget")
    include = _get(config, "includeThoughts", "include_thoughts")
    if include is not None and not isinstance(include, bool):
        raise BadRequestError("thinkingConfig.includeThoughts: must be a boolean")
    if level is None and budget is None and include is None:
        return None
    return ir.Thinking(level=level, budget=budget, include_thoughts=include)


def _response_format(gen: dict[str, Any]) -> ir.ResponseFormat | None:
    if _get(gen, "responseMimeType", "response_mime_type") != "application/json":
        return None
    schema = _get(gen, "responseJsonSchema", "response_json_schema")
    if schema is None and _get(gen, "responseSchema", "response_schema") is not None:
        schema = _lower_types(_get(gen, "responseSchema", "response_schema"))
    if isinstance(schema, dict):
        return ir.ResponseFormat("json_schema", schema=schema)
    return ir.ResponseFormat("json_object")


# --- typed field readers -------------------------------------------------------------------------


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _object(obj: dict[str, Any], camel: str, snake: str) -> dict[str, Any] | None:
    value = _get(obj, camel, snake)
    if value is not None and not isinstance(value, dict):
        raise BadRequestError(f"{camel}: must be an object")
    return value


def _number(obj: dict[str, Any], camel: str, snake: str) -> float | None:
    value = _get(obj, camel, snake)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise BadRequestError(f"{camel}: must be a number")
    return value


def _integer(obj: dict[str, Any], camel: str, snake: str) -> int | None:
    value = _number(obj, camel, snake)
    if isinstance(value, float) and not value.is_integer():
        raise BadRequestError(f"{camel}: must be an integer")
    return None if value is None else int(value)


def _strings(obj: dict[str, Any], camel: str, snake: str) -> tuple[str, ...]:
    value = _get(obj, camel, snake)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise BadRequestError(f"{camel}: must be an array of strings")
    return tuple(value)
