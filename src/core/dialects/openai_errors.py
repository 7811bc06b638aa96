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


def render_models(models: list[Any]) -> dict[str, Any]:
    """``GET /v1/models`` in OpenAI's shape."""
    data = [{"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by} for m in models]
    return {"object": "list", "data": data}


# Error codes that mean "this credential is out of quota for now": cool it down like a 429.
_RATE_LIMIT_CODES = frozenset({"rate_limit_exceeded", "rate_limit_error", "usage_limit_reached", "too_many_requests",
                               "insufficient_quota"})
# Codes that blame the request itself: another credential would fail the same way.
_REJECTED_CODES = frozenset({"context_length_exceeded", "invalid_prompt", "invalid_request_error",
                             "string_above_max_length", "invalid_value"})


def from_event(error: Any) -> errors.ProxyError:
    """An ``{"code","type","message"}`` error object met inside a 200 stream -> our error class."""
    if not isinstance(error, dict):
        return errors.UpstreamServerError("upstream stream failed")
    code = error.get("code") or error.get("type")
    code = code if isinstance(code, str) else None
    message = error.get("message") if isinstance(error.get("message"), str) else "upstream stream failed"
    if code in _RATE_LIMIT_CODES or error.get("type") in _RATE_LIMIT_CODES:
        return errors.UpstreamRateLimitError(message, code=code)
    if code in _REJECTED_CODES:
        return errors.UpstreamRejectedError(message, code=code)
    return errors.UpstreamServerError(message, code=code)
