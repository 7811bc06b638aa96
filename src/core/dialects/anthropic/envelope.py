"""Claude-shaped answers outside the message flow: the error envelope, the model list, the token count."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core import errors
    from core.dialects import ModelInfo

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    kind = _ERROR_TYPES.get(status)
    if kind is not None:
        return kind
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(err: errors.ProxyError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(err.status), "message": err.message}}


def render_error(err: errors.ProxyError) -> tuple[int, dict[str, Any]]:
    return err.status, error_body(err)


def render_model(m: ModelInfo) -> dict[str, Any]:
    return {"type": "model", "id": m.id, "display_name": m.id, "created_at": _rfc3339(m.created)}


def render_models(models: list[ModelInfo]) -> dict[str, Any]:
    data = [render_model(m) for m in models]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def render_count(tokens: int) -> dict[str, Any]:
    return {"input_tokens": tokens}


def _rfc3339(created: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created or 0))
