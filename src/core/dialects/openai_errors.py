"""The OpenAI error envelope ``{"error":{"message","type","code"?,"param"?}}``, shared by chat and Responses."""

from __future__ import annotations

from typing import Any

from core import errors


def error_type(err: errors.ProxyError) -> tuple[str, str | None]:
    """(type, default code) by class (STYLE.md §7); the error's own ``code`` overrides the default."""
    if isinstance(err, errors.ClientAuthError):
        return "authentication_error", "invalid_api_key"
    if isinstance(err, errors.ModelNotFoundError):
        return "invalid_request_error", "model_not_found"
    if isinstance(err, errors.PoolExhaustedError):
        return ("server_error", None) if err.status >= 500 else ("rate_limit_error", None)
    if isinstance(err, errors.UpstreamRejectedError):
        return "invalid_request_error", None
    if isinstance(err, errors.UpstreamError) or err.status >= 500:
        return "server_error", None
    return "invalid_request_error", None


def envelope(err: errors.ProxyError) -> dict[str, Any]:
    kind, code = error_type(err)
    body: dict[str, Any] = {"message": err.message, "type": kind}
    code = err.code or code
    if code:
        body["code"] = code
    if err.param:
        body["param"] = err.param
    return {"error": body}


def render_error(err: errors.ProxyError) -> tuple[int, dict[str, Any]]:
    return err.status, envelope(err)


def render_model(m: Any) -> dict[str, Any]:
    """One model in OpenAI's shape (``GET /v1/models/{id}``, and each entry of the list)."""
    return {"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by}


def render_models(models: list[Any]) -> dict[str, Any]:
    """``GET /v1/models`` in OpenAI's shape."""
    return {"object": "list", "data": [render_model(m) for m in models]}
