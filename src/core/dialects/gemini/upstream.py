"""IR -> Gemini GenerateContentRequest, for a Gemini API-key upstream. The model goes in the URL.

Gemini pairs a functionResponse with its call by function name, so each result is sent under the name
of the call it answers. Every functionCall in history needs a thoughtSignature: Gemini's own when the
call came from Gemini, else the documented sentinel that skips validation.
"""

from __future__ import annotations

from typing import Any

from core import ir
from core.dialects import dataurl
from core.dialects.gemini.names import sanitize
from core.dialects.parts import args_object, result_text

SKIP_SIGNATURE = "skip_thought_signature_validator"

_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE", "tool": "ANY"}
_BUILTIN_KEYS = frozenset(("googleSearch", "google_search", "googleSearchRetrieval", "google_search_retrieval",
                           "codeExecution", "code_execution", "urlContext", "url_context", "googleMaps"))


def render_request(req: ir.Request) -> dict[str, Any]:
    call_names = {p.id: p.name for m in req.messages for p in m.parts if isinstance(p, ir.ToolCall)}
    system, contents = _contents(req.messages, call_names)
    body: dict[str, Any] = {"contents": contents or [{"role": "user", "parts": [{"text": ""}]}]}
    if system:
        body["systemInstruction"] = {"parts": system}
    tools = _tools(req.tools)
    if tools:
        body["tools"] = tools
        if req.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": _calling_config(req.tool_choice)}
    config = _generation_config(req)
    if config:
        body["generationConfig"] = config
    return body


def _contents(messages: tuple[ir.Message, ...], call_names: dict[str, str]) -> tuple[list[Any], list[Any]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "system":
            system.extend({"text": p.text} for p in msg.parts if isinstance(p, ir.Text) and p.text)
            continue
        role = "model" if msg.role == "assistant" else "user"
        parts = _parts(msg.parts, call_names)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _parts(parts: tuple[ir.Part, ...], call_names: dict[str, str]) -> list[dict[str, Any]]:
    """Wire parts of one message. A bare Gemini signature (empty Reasoning) rides on the next part."""
    out: list[dict[str, Any]] = []
    pending: str | None = None
    for part in parts:
        if isinstance(part, ir.Reasoning):
            if part.origin != "gemini" or not part.signature:
                continue  # unsigned or another provider's thinking means nothing to Gemini
            if not part.text:
                pending = part.signature
                continue
            out.append({"text": part.text, "thought": True, "thoughtSignature": part.signature})
            continue
        wire = _part(part, call_names)
        if not wire:
            continue
        if pending is not None and wire[0].get("thoughtSignature", SKIP_SIGNATURE) == SKIP_SIGNATURE:
            wire[0]["thoughtSignature"] = pending
            pending = None
        out.extend(wire)
    if pending is not None:
        out.append({"text": "", "thoughtSignature": pending})
    return out


def _part(part: ir.Part, call_names: dict[str, str]) -> list[dict[str, Any]]:
    if isinstance(part, ir.Text):
        return [{"text": part.text}] if part.text else []
    if isinstance(part, ir.ToolCall):
        own = part.signature if part.origin == "gemini" and part.signature else SKIP_SIGNATURE
        call = {"name": sanitize(part.name), "args": args_object(part.arguments)}
        return [{"functionCall": call, "thoughtSignature": own}]
    if isinstance(part, ir.ToolResult):
        return _result(part, call_names)
    if isinstance(part, ir.Image | ir.File):
        media = _media(part)
        return [media] if media is not None else []
    return []


def _result(part: ir.ToolResult, call_names: dict[str, str]) -> list[dict[str, Any]]:
    name = call_names.get(part.call_id) or part.name or part.call_id
    response = {"error" if part.is_error else "result": result_text(part.content)}
    out: list[dict[str, Any]] = [{"functionResponse": {"name": sanitize(name), "response": response}}]
    if not isinstance(part.content, str):  # images returned by a tool follow as their own parts
        out.extend(m for m in map(_media, part.content) if m is not None)
    return out


def _media(part: ir.Part) -> dict[str, Any] | None:
    if not isinstance(part, ir.Image | ir.File):
        return None
    default = "image/png" if isinstance(part, ir.Image) else "application/pdf"
    inline = dataurl.parse(part.url, default_type=dataurl.UNTYPED) if part.url else None
    if part.data:
        wire: dict[str, Any] = {"inlineData": {"mimeType": part.media_type or default, "data": part.data}}
    elif inline is not None:
        wire = {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
    elif part.url:
        wire = {"fileData": {"mimeType": part.media_type or default, "fileUri": part.url}}
    else:
        return None
    if isinstance(part, ir.Image) and part.signature:
        wire["thoughtSignature"] = part.signature
    return wire


# --- tools and generation config -----------------------------------------------------------------


def _tools(tools: tuple[ir.Tool, ...]) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    builtins: list[dict[str, Any]] = []
    for tool in tools:
        if tool.raw is not None:
            builtin = _builtin(tool.raw)
            if builtin is not None:
                builtins.append(builtin)
            continue
        decl: dict[str, Any] = {"name": sanitize(tool.name)}
        if tool.description:
            decl["description"] = tool.description
        decl["parametersJsonSchema"] = tool.parameters or {"type": "object", "properties": {}}
        declarations.append(decl)
    return ([{"functionDeclarations": declarations}] if declarations else []) + builtins


def _builtin(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Gemini built-ins pass as they are; other providers' web search becomes googleSearch."""
    if not _BUILTIN_KEYS.isdisjoint(raw):
        return raw
    kind = raw.get("type")
    return {"googleSearch": {}} if isinstance(kind, str) and kind.startswith("web_search") else None


def _calling_config(choice: ir.ToolChoice) -> dict[str, Any]:
    config: dict[str, Any] = {"mode": _MODES[choice.mode]}
    if choice.mode == "tool" and choice.name:
        config["allowedFunctionNames"] = [sanitize(choice.name)]
    return config


def _generation_config(req: ir.Request) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if req.max_tokens is not None:
        config["maxOutputTokens"] = req.max_tokens
    if req.temperature is not None:
        config["temperature"] = req.temperature
    if req.top_p is not None:
        config["topP"] = req.top_p
    if req.top_k is not None:
        config["topK"] = req.top_k
    if req.stop:
        config["stopSequences"] = list(req.stop)
    fmt = req.response_format
    if fmt is not None and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.schema is not None:
            config["responseJsonSchema"] = fmt.schema
    thinking = _thinking_config(req.thinking)
    if thinking:
        config["thinkingConfig"] = thinking
    return config


def _thinking_config(thinking: ir.Thinking | None) -> dict[str, Any]:
    """A level wins over a budget (as Gemini reads them); ``auto`` has no level form, so it is budget -1."""
    if thinking is None:
        return {}
    config: dict[str, Any] = {}
    level, budget = thinking.level, thinking.budget
    if level == "auto":
        config["thinkingBudget"] = -1
    elif level is not None:
        config["thinkingLevel"] = level
    elif budget is not None:
        config["thinkingBudget"] = budget
    off = level == "none" or (level is None and budget == 0)
    if config or thinking.include_thoughts is not None:
        config["includeThoughts"] = thinking.include_thoughts if thinking.include_thoughts is not None else not off
    return config
