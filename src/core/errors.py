"""The proxy's error tree. Raised by the core, rendered once per dialect by ``render_error``.

    ProxyError
    ├── BadRequestError            400  bad client input (malformed JSON, wrong types, no model, too large)
    ├── ClientAuthError            401  missing or wrong client API key
    ├── ModelNotFoundError         404  no credential serves the model
    ├── PoolExhaustedError         429 / 503 + Retry-After  every credential is cooling down / none usable
    │   └── ClientLimitError       429 + Retry-After  the client key is over one of its own limits
    ├── StreamTimeoutError         504  the answer ran past ``max-stream-seconds``
    └── UpstreamError              502 when it reaches a client; carries the upstream's status, a kind, a hint
        ├── UpstreamRejectedError      upstream's 4xx  kind bad-request: the request itself (no cooldown, no retry)
        ├── UpstreamRateLimitError     kinds quota, rate-limit
        ├── UpstreamAuthError          kinds auth, forbidden
        ├── UpstreamTimeoutError       kind network (a timeout)
        └── UpstreamServerError        kinds overloaded, server, network (a drop), not-found (base class)

``core.executors.classify`` builds every ``UpstreamError`` from what the upstream said; ``pool.cooldown`` turns
its kind into how long the credential rests. Every kind but ``bad-request`` cools down and moves the request
to the next credential.
"""

from __future__ import annotations

import logging
import traceback
from typing import Literal

FailureKind = Literal["auth", "forbidden", "not-found", "quota", "rate-limit", "overloaded", "server",
                      "bad-request", "network"]


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


class ClientLimitError(PoolExhaustedError):
    """The client key is over its requests-per-minute, tokens-per-day or max-concurrent (``core.limits``)."""


class StreamTimeoutError(ProxyError):
    """The answer took longer than ``max-stream-seconds``: a 504, or the stream's closing error event."""

    status = 504


class UpstreamError(ProxyError):
    """An upstream failure. ``status`` is what a client would see (502); ``upstream_status`` what the upstream
    answered (None: no answer, or an error event inside a 200); ``retry_after`` its reset hint in seconds."""

    status = 502
    cools_down = True
    default_kind: FailureKind = "server"

    def __init__(self, message: str, *, kind: FailureKind | None = None, upstream_status: int | None = None,
                 status: int | None = None, retry_after: float | None = None, code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message, status=status, retry_after=retry_after, code=code, param=param)
        self.kind: FailureKind = kind or self.default_kind
        self.upstream_status = upstream_status
        self.cools_down = self.kind != "bad-request"


class UpstreamRejectedError(UpstreamError):
    """The upstream judged the request itself invalid (400 invalid_request_error, 413, 422): no retry, and
    the client gets the upstream's status and message."""

    status = 400
    default_kind: FailureKind = "bad-request"


class UpstreamRateLimitError(UpstreamError):
    default_kind: FailureKind = "rate-limit"


class UpstreamAuthError(UpstreamError):
    default_kind: FailureKind = "auth"


class UpstreamTimeoutError(UpstreamError):
    default_kind: FailureKind = "network"


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
