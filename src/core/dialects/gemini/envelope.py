"""Gemini-shaped answers outside the content flow: the error envelope, the model list, the token count."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core import errors
    from core.dialects import ModelInfo

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_METHODS = ("generateContent", "streamGenerateContent", "countTokens")


def status_name(status: int) -> str:
    name = _STATUS_NAMES.get(status)
    if name is not None:
        return name
    return "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"


def error_body(err: errors.ProxyError) -> dict[str, Any]:
    return {"error": {"code": err.status, "message": err.message, "status": status_name(err.status)}}


def render_error(err: errors.ProxyError) -> tuple[int, dict[str, Any]]:
    return err.status, error_body(err)


def render_model(m: ModelInfo) -> dict[str, Any]:
    return {
        "name": m.id if m.id.startswith("models/") else "models/" + m.id,
        "displayName": m.id,
        "description": m.id,
        "supportedGenerationMethods": list(_METHODS),
    }


def render_models(models: list[ModelInfo]) -> dict[str, Any]:
    return {"models": [render_model(m) for m in models]}


def render_count(tokens: int) -> dict[str, Any]:
    return {"totalTokens": tokens}
