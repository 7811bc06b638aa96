"""The proxy's error tree. Raised by the core, rendered once per dialect by ``render_error``.

    ProxyError
    ├── BadRequestError            400  bad client input (malformed JSON, wrong types, no model, too large)
    ├── ClientAuthError            401  missing or wrong client API key
    ├── ModelNotFoundError         404  no credential serves the model
    ├── PoolExhaustedError         429 / 503 + Retry-After  every credential is cooling down / none usable
    ├── UpstreamRejectedError      upstream's 4xx  the upstream refused the request itself (no cooldown)
    └── UpstreamError              502 when it reaches a client; cools the credential and retries
        ├── UpstreamRateLimitError     429
        ├── UpstreamAuthError          401 / 403
        ├── UpstreamTimeoutError       408 / connect or read timeout
        └── UpstreamServerError        5xx, connection drop, error event before any output

Only ``UpstreamError`` subclasses cool a credential down and move the request to the next one.
"""

from __future__ import annotations

import logging
import traceback


class ProxyError(Exception):
    status: int = 500
    cools_down: bool = False

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.retry_after = retry_after
        self.code = code
        self.param = param


class BadRequestError(ProxyError):
    status = 400


class ClientAuthError(ProxyError):
    status = 401


class ModelNotFoundError(ProxyError):
    status = 404


class PoolExhaustedError(ProxyError):
    """429 when every credential is cooling down (with Retry-After); 503 when none is usable at all."""

    status = 429


class UpstreamRejectedError(ProxyError):
    """The upstream judged the request itself invalid (400 invalid_request_error, 413, 422): no retry."""

    status = 400


class UpstreamError(ProxyError):
    status = 502
    cools_down = True


class UpstreamRateLimitError(UpstreamError):
    pass


class UpstreamAuthError(UpstreamError):
    pass


class UpstreamTimeoutError(UpstreamError):
    pass


class UpstreamServerError(UpstreamError):
    pass


def unexpected(exc: BaseException, log: logging.Logger, where: str) -> ProxyError:
    """A bug or an unmapped failure -> a plain 500 for the client, logged once. The log names the exception
    type and the innermost frame only: its message (and the traceback's locals) may carry request text or
    credentials."""
    if isinstance(exc, ProxyError):
        return exc
    frames = traceback.extract_tb(exc.__traceback__)
    at = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else "unknown place"
    log.error("unexpected %s %s (at %s)", type(exc).__name__, where, at)
    return ProxyError("internal proxy error", status=500, code="internal_error")
