"""What every executor shares: the request value it builds, its protocol, and the one sender.

Contract (one module per kind exposes ``EXECUTOR``, an instance satisfying ``Executor``):

    kind, dialect                     the upstream kind and the wire dialect it speaks
    counts_tokens                     whether the upstream has a count-tokens endpoint
    upstream_stream(client_stream)    whether to ask the upstream for SSE (Codex: always)
    finalize(body, req, ctx)          forced fields and deletions, run after payload rules (mutates body)
    build(body, req, cred, ctx)       -> UpstreamRequest (URL, headers incl. auth, serialized body)
    classify(status, headers, body)   -> ProxyError | None for a non-2xx answer
    classify_event(payload)           -> ProxyError | None for an error event inside a 200 stream
    refresh(cred, http, token_url)    -> Credential with new tokens (OAuth kinds; else raises)

Shared here: ``make_client`` (the one ``httpx.AsyncClient``), ``send`` / ``read_body`` / ``iter_body`` (httpx
exceptions mapped to ours once, in ``map_exception``), and ``classify_status`` / ``classify_payload``.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import orjson

from core import errors
from core.executors import transport as upstream_transport

if TYPE_CHECKING:
    import httpx

    from core import ir
    from core.credentials import Credential
    from core.errors import ProxyError, UpstreamError


@dataclass(frozen=True, slots=True)
class CallContext:
    """Per-call facts an executor needs besides the body: continuity and what the client sent."""

    stream: bool  # upstream SSE or not (from upstream_stream)
    upstream_model: str  # the model name the upstream must see (alias, prefix and suffix removed)
    cache_key: str | None = None  # continuity key -> Codex prompt_cache_key body field + session_id header
    client_headers: dict[str, str] = field(default_factory=dict)  # lower-cased, forwarded where allowed
    count_tokens: bool = False  # a count_tokens call (Codex strips prompt_cache_retention then)
    passthrough: bool = False  # same dialect in and out
    compact: bool = False  # Codex: POST {base}/responses/compact (non-stream JSON)


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    stream: bool


class Executor(Protocol):
    kind: ClassVar[ir.UpstreamKind]
    counts_tokens: ClassVar[bool]  # the upstream counts prompt tokens itself (Claude, Gemini)
    dialect: ClassVar[ir.Dialect]

    def upstream_stream(self, client_stream: bool) -> bool: ...
    def finalize(self, body: dict[str, Any], req: ir.Request, ctx: CallContext) -> dict[str, Any]: ...
    def build(self, body: dict[str, Any], req: ir.Request, cred: Credential, ctx: CallContext) -> UpstreamRequest: ...
    def classify(self, status: int, headers: httpx.Headers, body: bytes) -> ProxyError | None: ...
    def classify_event(self, payload: Any) -> ProxyError | None: ...
    async def refresh(self, cred: Credential, http: httpx.AsyncClient, token_url: str | None) -> Credential: ...


# --- the one HTTP client and sender ----------------------------------------------------------------

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 600.0  # per read, not per request: a stream may run for many minutes
_ERROR_TEXT_LIMIT = 500


def make_client(*, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The shared upstream client. aiohttp behind the httpx API (several times faster than httpx's own)."""
    import httpx

    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=60.0)
    if transport is None:
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(limits=limits)
    timeout = httpx.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=60.0, pool=30.0)
    client = httpx.AsyncClient(transport=transport, timeout=timeout, limits=limits, follow_redirects=False)
    # ``send`` hands requests to the transport itself: the client's redirect, auth and cookie layers cost
    # ~0.1 ms a request and a proxy needs none of them (measured with `make bench`).
    upstream_transport.register(client, transport)
    return client


async def send(http: httpx.AsyncClient, ureq: UpstreamRequest) -> httpx.Response:
    """Send ``ureq`` with the body still unread (stream semantics); transport failures become our errors."""
    import httpx

    lane = upstream_transport.lane(http)
    try:
        if lane is None:
            request = http.build_request(ureq.method, ureq.url, headers=ureq.headers, content=ureq.body)
            return await http.send(request, stream=True)
        request = upstream_transport.request(lane, ureq)
        response = await lane.transport.handle_async_request(request)
    except httpx.HTTPError as exc:
        raise map_exception(exc) from exc
    response.request = request
    return response


async def read_body(resp: httpx.Response) -> bytes:
    """The whole (decoded) body; the response is closed afterwards."""
    import httpx

    try:
        return await resp.aread()
    except httpx.HTTPError as exc:
        raise map_exception(exc) from exc
    finally:
        await resp.aclose()


async def iter_body(resp: httpx.Response) -> AsyncIterator[bytes]:
    """The body as it arrives; a drop mid-way raises our error. Closes the response however it ends."""
    import httpx

    try:
        async for chunk in resp.aiter_bytes():
            yield chunk
    except httpx.HTTPError as exc:
        raise map_exception(exc) from exc
    finally:
        await resp.aclose()


def map_exception(exc: Exception) -> UpstreamError:
    """httpx's exception tree -> ours, in one place (as httpx's ``map_httpcore_exceptions`` does)."""
    import httpx

    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException) and not _disguised_disconnect(exc):
        return errors.UpstreamTimeoutError(f"upstream timed out ({name})")
    if isinstance(exc, httpx.RequestError):
        return errors.UpstreamServerError(f"upstream connection failed ({name})")
    return errors.UpstreamServerError(f"upstream request failed ({name})")


def _disguised_disconnect(exc: Exception) -> bool:
    # httpx-aiohttp maps every aiohttp ClientConnectionError (a server hang-up, a reset) to ConnectTimeout;
    # only an aiohttp error that is also a TimeoutError is a real timeout.
    cause = exc.__cause__
    return cause is not None and type(cause).__module__.startswith("aiohttp") and not isinstance(cause, TimeoutError)


# --- classifying an upstream's refusal ------------------------------------------------------------

# Documented error types / codes / google.rpc statuses -> the HTTP status they stand for.
_STATUS_OF_CODE: dict[str, int] = {
    "invalid_request_error": 400, "context_length_exceeded": 400, "invalid_prompt": 400,
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400,
    "authentication_error": 401, "invalid_api_key": 401, "UNAUTHENTICATED": 401,
    "API_KEY_INVALID": 401, "API_KEY_EXPIRED": 401,
    "permission_error": 403, "PERMISSION_DENIED": 403,
    "not_found_error": 404, "model_not_found": 404, "NOT_FOUND": 404,
    "rate_limit_error": 429, "rate_limit_exceeded": 429, "usage_limit_reached": 429,
    "insufficient_quota": 429, "RESOURCE_EXHAUSTED": 429,
    "api_error": 500, "server_error": 500, "INTERNAL": 500,
    "overloaded_error": 503, "server_is_overloaded": 503, "slow_down": 503, "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
# A 400 carrying one of these is about the credential or account, not the request.
_CREDENTIAL_400 = frozenset({"FAILED_PRECONDITION", "model_not_found"})


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """What an upstream error body says, whatever its envelope."""

    message: str = ""
    code: str | None = None  # the upstream's own most specific code (lifted to the client)
    kind: str | None = None  # the first code we know how to classify (see _STATUS_OF_CODE)
    param: str | None = None
    retry_after: float | None = None


def classify_status(status: int, headers: Mapping[str, str], body: bytes, *,
                    dialect: ir.Dialect) -> ProxyError | None:
    """An upstream's non-2xx answer -> our error (None for 2xx). ``dialect`` names the error envelope."""
    if status < 300:
        return None
    detail = parse_error_body(body, dialect=dialect)
    if status == 400:
        status = _status_of_400(detail)
    retry_after = detail.retry_after if detail.retry_after is not None else _retry_after_header(headers)
    return _error_for(status, detail, retry_after)


def classify_payload(payload: Any, *, dialect: ir.Dialect) -> ProxyError:
    """An error event inside a 200 stream (or a token endpoint's error) -> our error, by its documented code."""
    detail = parse_error_body(payload, dialect=dialect)
    status = _STATUS_OF_CODE.get(detail.kind or "", 500)
    return _error_for(_status_of_400(detail) if status == 400 else status, detail, detail.retry_after)


def _status_of_400(detail: ErrorDetail) -> int:
    mapped = _STATUS_OF_CODE.get(detail.kind or "", 400)
    if detail.kind in _CREDENTIAL_400:
        return 404  # treated like "this credential cannot serve the model"
    return mapped if mapped in (401, 403, 429) else 400


def _error_for(status: int, detail: ErrorDetail, retry_after: float | None) -> ProxyError:
    lifted = detail.message[:_ERROR_TEXT_LIMIT] or "no message"
    code = detail.code
    if status in (401, 403):  # upstream auth messages may echo parts of the key: never lift them
        return errors.UpstreamAuthError(f"upstream rejected the credential ({status})", code=code)
    if status == 408:
        return errors.UpstreamTimeoutError(f"upstream timed out (408): {lifted}", code=code)
    if status == 429:
        return errors.UpstreamRateLimitError(f"upstream rate limit (429): {lifted}", retry_after=retry_after,
                                             code=code)
    if status >= 500:
        return errors.UpstreamServerError(f"upstream server error ({status}): {lifted}", code=code)
    if status in (400, 413, 422):
        return errors.UpstreamRejectedError(lifted, status=status, code=code, param=detail.param)
    return errors.UpstreamError(f"upstream refused the model for this credential ({status}): {lifted}", code=code)


def parse_error_body(body: bytes | str | Any, *, dialect: ir.Dialect) -> ErrorDetail:
    """Message, code and retry hint from any upstream error envelope (OpenAI, Codex, Anthropic, Gemini)."""
    obj = _json_or_none(body) if isinstance(body, bytes | str) else body
    if isinstance(obj, list) and obj:  # Gemini wraps stream errors in an array
        obj = obj[0]
    if not isinstance(obj, dict):
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
        return ErrorDetail(message=text.strip())
    err = _error_object(obj)
    if not isinstance(err, dict):  # OAuth {"error": "invalid_grant"}, FastAPI {"detail": "..."}
        message = obj.get("error_description") or obj.get("detail") or obj.get("message") or ""
        code = err if isinstance(err, str) else None
        return ErrorDetail(message=str(message), code=code, kind=code)
    hint = _google_retry(err) if dialect == "gemini" else _resets_hint(err) if dialect == "openai_responses" else None
    codes = _codes(err)
    return ErrorDetail(message=str(err.get("message") or ""), code=codes[0] if codes else None,
                       kind=next((c for c in codes if c in _STATUS_OF_CODE), None), param=_str(err.get("param")),
                       retry_after=hint)


def _error_object(obj: dict[str, Any]) -> Any:
    if obj.get("type") == "response.failed":  # Codex: {"response": {"error": {...}}}
        return (obj.get("response") or {}).get("error") or {}
    if obj.get("type") == "error" and "error" not in obj:  # Codex flat error event
        return obj
    return obj.get("error")


def _codes(err: dict[str, Any]) -> list[str]:
    """Candidate codes, most specific first: a Gemini ErrorInfo reason, then code, type, status."""
    found = [str(d["reason"]) for d in _details(err)
             if d.get("@type", "").endswith("google.rpc.ErrorInfo") and isinstance(d.get("reason"), str)]
    found.extend(err[key] for key in ("code", "type", "status") if isinstance(err.get(key), str))
    return found


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


def _resets_hint(err: dict[str, Any]) -> float | None:
    """Codex usage_limit_reached: a future ``resets_at`` (unix s) wins over ``resets_in_seconds``."""
    resets_at, resets_in = err.get("resets_at"), err.get("resets_in_seconds")
    if isinstance(resets_at, int | float) and resets_at > time.time():
        return float(resets_at) - time.time()
    if isinstance(resets_in, int | float) and resets_in > 0:
        return float(resets_in)
    return None


def _retry_after_header(headers: Mapping[str, str]) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis and _number(millis) is not None:
        return _number(millis) / 1000  # type: ignore[operator]  # checked just above
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")


def _go_duration(value: Any) -> float | None:
    """'0.847s', '373.8ms', '1m30s' (google.protobuf.Duration / Go duration text) -> seconds."""
    parts = _GO_PART.findall(value) if isinstance(value, str) else []
    return sum(float(num) * _GO_UNITS[unit] for num, unit in parts) if parts else None


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
