"""One classifier for every upstream failure, HTTP or in-stream.

An upstream says "no" in two ways: a non-2xx answer (status, headers, body), or an error event inside a 200
stream (Codex ``error`` / ``response.failed``, Claude ``event: error``, a Gemini or OpenAI chunk carrying
``error``). Both come here and leave as one ``UpstreamError`` with

- ``upstream_status``: what the upstream answered (None for an in-stream event without a status);
- ``kind``: what the failure means for the credential, which decides its cooldown (``pool.cooldown``);
- ``retry_after``: the upstream's reset hint in seconds, if it gave one.

    kind          from (status / documented codes)                                    cooldown
    auth          401, authentication_error, invalid_api_key, UNAUTHENTICATED        30 min, every model
    forbidden     402, 403, permission_error, billing_error, PERMISSION_DENIED      30 min, every model
    not-found     404, not_found_error, model_not_found, NOT_FOUND                  12 h, that model
    quota         usage_limit_reached, insufficient_quota, RESOURCE_EXHAUSTED       hint, else backoff to 30 min
    rate-limit    429, rate_limit_error, rate_limit_exceeded                        hint, else backoff to 30 min
    overloaded    503, 529, overloaded_error, server_is_overloaded, UNAVAILABLE     backoff to 60 s
    server        other 5xx, api_error, server_error, INTERNAL                      backoff to 60 s
    network       408, timeouts, drops, a stream that ends before any output        backoff to 60 s
    bad-request   other 4xx, invalid_request_error, INVALID_ARGUMENT, ...           none; not retried

Reset hints, most specific first: Codex ``resets_at`` (when still ahead) / ``resets_in_seconds``; Gemini
``RetryInfo.retryDelay`` / ``ErrorInfo.metadata.quotaResetDelay``; the "try again in N s" of a Codex
``rate_limit_exceeded`` message (read as Codex CLI reads it); then the headers: ``retry-after-ms``,
``Retry-After`` (seconds or a date), Anthropic's ``anthropic-ratelimit-*-reset`` of an exhausted limit.
Codes are matched exactly; the message is read only for that one documented Codex hint.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from core import errors

if TYPE_CHECKING:
    from core import ir
    from core.errors import FailureKind, UpstreamError

_TEXT_LIMIT = 500

# Documented error types / codes / google.rpc statuses and ErrorInfo reasons -> kind.
_KIND_OF_CODE: dict[str, FailureKind] = {
    "invalid_request_error": "bad-request", "context_length_exceeded": "bad-request", "invalid_prompt": "bad-request",
    "string_above_max_length": "bad-request", "invalid_value": "bad-request", "request_too_large": "bad-request",
    "INVALID_ARGUMENT": "bad-request",
    "authentication_error": "auth", "invalid_api_key": "auth", "UNAUTHENTICATED": "auth",
    "API_KEY_INVALID": "auth", "API_KEY_EXPIRED": "auth",
    "permission_error": "forbidden", "billing_error": "forbidden", "PERMISSION_DENIED": "forbidden",
    "FAILED_PRECONDITION": "forbidden",  # Gemini: the account cannot use the API (region, billing)
    "not_found_error": "not-found", "model_not_found": "not-found", "NOT_FOUND": "not-found",
    "usage_limit_reached": "quota", "insufficient_quota": "quota", "usage_not_included": "quota",
    "RESOURCE_EXHAUSTED": "quota",
    "rate_limit_error": "rate-limit", "rate_limit_exceeded": "rate-limit", "too_many_requests": "rate-limit",
    "RATE_LIMIT_EXCEEDED": "rate-limit",
    "overloaded_error": "overloaded", "server_is_overloaded": "overloaded", "slow_down": "overloaded",
    "UNAVAILABLE": "overloaded",
    "api_error": "server", "server_error": "server", "timeout_error": "server", "INTERNAL": "server",
    "DEADLINE_EXCEEDED": "server",
}
# Which code kinds may refine the kind an HTTP status gives (a 400 may be about the credential, a 429 may be
# a quota, a 5xx an overload); other statuses say enough by themselves.
_REFINES: dict[FailureKind, frozenset[str]] = {
    "bad-request": frozenset({"auth", "forbidden", "not-found", "quota", "rate-limit", "bad-request"}),
    "rate-limit": frozenset({"quota", "rate-limit"}),
    "server": frozenset({"overloaded", "server"}),
    "overloaded": frozenset({"overloaded"}),
}
_TRY_AGAIN = re.compile(r"(?i)try again in\s*(\d+(?:\.\d+)?)\s*(s|ms|seconds?)")
_ANTHROPIC_LIMITS = ("requests", "tokens", "input-tokens", "output-tokens")


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """What an upstream error body says, whatever its envelope."""

    message: str = ""
    code: str | None = None  # the upstream's own most specific code (lifted to the client)
    kind: FailureKind | None = None  # from the first code we know
    status: int | None = None  # a status the payload itself carries (Gemini ``code``, Codex ``status``)
    param: str | None = None
    retry_after: float | None = None


def kind_of_status(status: int) -> FailureKind:
    if status == 401:
        return "auth"
    if status in (402, 403):
        return "forbidden"
    if status == 404:
        return "not-found"
    if status == 408:
        return "network"
    if status == 429:
        return "rate-limit"
    if status in (503, 529):
        return "overloaded"
    return "server" if status >= 500 else "bad-request"


def status(code: int, headers: Mapping[str, str], body: bytes, *, dialect: ir.Dialect) -> UpstreamError | None:
    """A non-2xx answer -> our error (None for 2xx). ``dialect`` names the upstream's error envelope."""
    if code < 300:
        return None
    detail = error_detail(body, dialect=dialect)
    kind = kind_of_status(code)
    if detail.kind is not None and detail.kind in _REFINES.get(kind, ()):
        kind = detail.kind
    return build(kind, code, detail, _hint(kind, detail, headers))


def event(payload: Any, *, dialect: ir.Dialect, headers: Mapping[str, str] | None = None) -> UpstreamError | None:
    """An error event inside a 200 stream, or a 200 body that is an error -> our error (None: not an error)."""
    error = _event_error(payload, dialect)
    if error is None:
        return None
    detail = error_detail(error, dialect=dialect)
    kind = detail.kind or (kind_of_status(detail.status) if detail.status else "server")
    return build(kind, detail.status, detail, _hint(kind, detail, headers or {}))


def build(kind: FailureKind, upstream_status: int | None, detail: ErrorDetail,
          retry_after: float | None) -> UpstreamError:
    """The error class for ``kind``; the message says what happened without echoing credentials."""
    lifted = detail.message[:_TEXT_LIMIT] or "no message"
    shown = upstream_status or "in-stream"
    common: dict[str, Any] = {"kind": kind, "upstream_status": upstream_status, "code": detail.code}
    if kind == "bad-request":
        return errors.UpstreamRejectedError(lifted, status=upstream_status or 400, param=detail.param, **common)
    if kind in ("auth", "forbidden"):  # upstream auth messages may echo parts of the key: never lift them
        return errors.UpstreamAuthError(f"upstream rejected the credential ({kind}, {shown})", **common)
    message = f"upstream {kind} ({shown}): {lifted}"
    if kind in ("quota", "rate-limit"):
        return errors.UpstreamRateLimitError(message, retry_after=retry_after, **common)
    if kind == "network":
        return errors.UpstreamTimeoutError(message, retry_after=retry_after, **common)
    return errors.UpstreamServerError(message, retry_after=retry_after, **common)


def error_detail(body: bytes | str | Any, *, dialect: ir.Dialect) -> ErrorDetail:
    """Message, code, kind and body hint from any upstream error envelope (OpenAI, Codex, Anthropic, Gemini)."""
    obj = _json_or_none(body) if isinstance(body, bytes | str) else body
    if isinstance(obj, list) and obj:  # Gemini wraps stream errors in an array
        obj = obj[0]
    if not isinstance(obj, dict):
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
        return ErrorDetail(message=text.strip())
    err = obj.get("error") if "error" in obj else obj
    if not isinstance(err, dict):  # OAuth {"error": "invalid_grant"}, FastAPI {"detail": "..."}
        message = obj.get("error_description") or obj.get("detail") or obj.get("message") or ""
        code = err if isinstance(err, str) else None
        return ErrorDetail(message=str(message), code=code, kind=_KIND_OF_CODE.get(code or ""))
    codes = _codes(err)
    number = err.get("code") if isinstance(err.get("code"), int) else obj.get("status") or obj.get("status_code")
    return ErrorDetail(message=str(err.get("message") or ""), code=codes[0] if codes else None,
                       kind=next((_KIND_OF_CODE[c] for c in codes if c in _KIND_OF_CODE), None),
                       status=number if isinstance(number, int) and number >= 400 else None,
                       param=_str(err.get("param")), retry_after=_body_hint(err, codes))


def _event_error(payload: Any, dialect: ir.Dialect) -> Any:
    """The error object inside an upstream event, per wire dialect; None when the event is no error."""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if not isinstance(payload, dict):
        return None
    if dialect == "openai_responses":
        if payload.get("type") == "response.failed" or payload.get("status") == "failed":
            response = payload.get("response")
            response = response if isinstance(response, dict) else payload
            return {"error": response.get("error") or {}}
        return payload if payload.get("type") == "error" else None
    if dialect == "anthropic":
        return payload if payload.get("type") == "error" else None
    if payload.get("error") is None or payload.get("choices") or payload.get("candidates"):
        return None
    return payload


def _codes(err: dict[str, Any]) -> list[str]:
    """Candidate codes, most specific first: a Gemini ErrorInfo reason, then code, type, status."""
    found = [str(d["reason"]) for d in _details(err)
             if d.get("@type", "").endswith("google.rpc.ErrorInfo") and isinstance(d.get("reason"), str)]
    found.extend(err[key] for key in ("code", "type", "status") if isinstance(err.get(key), str))
    return found


def _hint(kind: FailureKind, detail: ErrorDetail, headers: Mapping[str, str]) -> float | None:
    if kind == "bad-request":
        return None
    return detail.retry_after if detail.retry_after is not None else header_hint(headers)


def _body_hint(err: dict[str, Any], codes: list[str]) -> float | None:
    """Codex resets, Gemini RetryInfo / quotaResetDelay, Codex's "try again in N s"."""
    hint = _resets(err)
    if hint is None:
        hint = _google_retry(err)
    if hint is None and "rate_limit_exceeded" in codes and isinstance(err.get("message"), str):
        found = _TRY_AGAIN.search(err["message"])
        if found:
            value = float(found.group(1))
            hint = value / 1000 if found.group(2).lower() == "ms" else value
    return hint


def _resets(err: dict[str, Any]) -> float | None:
    """Codex usage_limit_reached: a future ``resets_at`` (unix s) wins over ``resets_in_seconds``."""
    resets_at, resets_in = err.get("resets_at"), err.get("resets_in_seconds")
    if isinstance(resets_at, int | float) and resets_at > time.time():
        return float(resets_at) - time.time()
    if isinstance(resets_in, int | float) and resets_in > 0:
        return float(resets_in)
    return None


def _google_retry(err: dict[str, Any]) -> float | None:
    """Gemini: RetryInfo.retryDelay, else ErrorInfo.metadata.quotaResetDelay."""
    for item in _details(err):
        kind = item.get("@type", "")
        if kind.endswith("google.rpc.RetryInfo"):
            return _go_duration(item.get("retryDelay"))
        if kind.endswith("google.rpc.ErrorInfo"):
            delay = _go_duration((item.get("metadata") or {}).get("quotaResetDelay"))
            if delay is not None:
                return delay
    return None


def header_hint(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms``, ``Retry-After`` (seconds or an HTTP date), then Anthropic's rate-limit resets."""
    millis = _number(headers.get("retry-after-ms") or "")
    if millis is not None:
        return max(millis / 1000, 0.0)
    value = headers.get("retry-after")
    if value:
        seconds = _number(value)
        if seconds is not None:
            return max(seconds, 0.0)
        try:
            return max(email.utils.parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            pass
    return _anthropic_reset(headers)


def _anthropic_reset(headers: Mapping[str, str]) -> float | None:
    """The latest reset among the limits the answer says are used up: the unified (subscription) limit when
    ``anthropic-ratelimit-unified-status`` is ``rejected`` (reset in unix seconds), and each API limit whose
    ``-remaining`` is 0 (reset as RFC 3339)."""
    now = time.time()
    resets: list[float] = []
    if headers.get("anthropic-ratelimit-unified-status") == "rejected":
        at = _number(headers.get("anthropic-ratelimit-unified-reset") or "")
        if at is not None:
            resets.append(at - now)
    for name in _ANTHROPIC_LIMITS:
        if headers.get(f"anthropic-ratelimit-{name}-remaining") == "0":
            at = _rfc3339(headers.get(f"anthropic-ratelimit-{name}-reset"))
            if at is not None:
                resets.append(at - now)
    return max(max(resets), 0.0) if resets else None


_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")


def _go_duration(value: Any) -> float | None:
    """'0.847s', '373.8ms', '1m30s' (google.protobuf.Duration / Go duration text) -> seconds."""
    parts = _GO_PART.findall(value) if isinstance(value, str) else []
    return sum(float(num) * _GO_UNITS[unit] for num, unit in parts) if parts else None


def _rfc3339(value: str | None) -> float | None:
    try:
        return datetime.fromisoformat(value).timestamp() if value else None
    except ValueError:
        return None


def _details(err: dict[str, Any]) -> list[dict[str, Any]]:
    details = err.get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _json_or_none(body: bytes | str) -> Any:
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
