"""The OpenAI function-tool object ``{name, description?, parameters?, strict?}``, shared by chat (nested
under ``function``) and Responses (flat, beside ``type``)."""

from __future__ import annotations

from typing import Any

from core import ir
from core.errors import BadRequestError


def parse_function(spec: dict[str, Any], where: str) -> ir.Tool:
    """A function tool -> IR; ``where`` names the object in the error (``tools[0].function``)."""
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequestError(f"{where}.name: must be a non-empty string", param="tools")
    description, params, strict = spec.get("description"), spec.get("parameters"), spec.get("strict")
    return ir.Tool(
        name=name,
        description=description if isinstance(description, str) else None,
        parameters=params if isinstance(params, dict) else None,
        strict=strict if isinstance(strict, bool) else None,
    )


def render_function(t: ir.Tool, name: str) -> dict[str, Any]:
    """``name``, ``description`` when known and ``parameters`` (an empty object schema when unknown);
    ``strict`` is left to the caller, whose defaults differ."""
    fn: dict[str, Any] = {"name": name}
    if t.description is not None:
        fn["description"] = t.description
    fn["parameters"] = t.parameters if t.parameters is not None else {"type": "object", "properties": {}}
    return fn
