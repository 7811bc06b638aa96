from __future__ import annotations

import email.utils
import time

import httpx
import orjson
import pytest

from core import errors
from core.executors import base

REQ = base.UpstreamRequest("POST", "http://up.test/x", {"authorization": "Bearer secret-1"}, b"{}", stream=True)


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self):
        for chunk in self.chunks:
            yield chunk


def _all_request_errors(cls: type = httpx.RequestError) -> list[type]:
    found = [cls]
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("httpx"):
            found.extend(_all_request_errors(sub))
    return found


@pytest.mark.parametrize("exc_type", _all_request_errors(), ids=lambda c: c.__name__)
def test_every_httpx_request_error_is_mapped(exc_type):
    err = base.map_exception(exc_type("boom"))
    expected = errors.UpstreamTimeoutError if issubclass(exc_type, httpx.TimeoutException) else errors.UpstreamServerError
    assert type(err) is expected
    assert err.cools_down


def test_aiohttp_hang_up_reported_as_connect_timeout_maps_to_server_error():
    import aiohttp

    exc = httpx.ConnectTimeout("Server disconnected")
    exc.__cause__ = aiohttp.ServerDisconnectedError()
    assert type(base.map_exception(exc)) is errors.UpstreamServerError
    real = httpx.ReadTimeout("timeout")
    real.__cause__ = aiohttp.SocketTimeoutError()
    assert type(base.map_exception(real)) is errors.UpstreamTimeoutError


async def test_send_builds_the_request_and_leaves_the_body_unread():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(method=request.method, url=str(request.url), auth=request.headers["authorization"],
                    body=request.content)
        return httpx.Response(200, stream=_Chunks([b"data: 1\n\n"]))

    async with base.make_client(transport=httpx.MockTransport(handler)) as http:
        resp = await base.send(http, REQ)
        assert not resp.is_closed
        assert await base.read_body(resp) == b"data: 1\n\n"
        assert resp.is_closed
    assert seen == {"method": "POST", "url": "http://up.test/x", "auth": "Bearer secret-1", "body": b"{}"}


@pytest.mark.parametrize(("raised", "expected"), [
    (httpx.ConnectError("refused"), errors.UpstreamServerError),
    (httpx.ConnectTimeout("slow"), errors.UpstreamTimeoutError),
    (httpx.RemoteProtocolError("bad"), errors.UpstreamServerError),
])
async def test_send_maps_transport_failures_without_leaking_the_secret(raised, expected):
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    async with base.make_client(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(expected) as info:
            await base.send(http, REQ)
    assert "secret-1" not in str(info.value)


async def test_iter_body_maps_a_drop_mid_stream():
    class Dropping(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b"data: 1\n\n"
            raise httpx.ReadError("connection reset")

    async with base.make_client(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Dropping()))) as http:
        resp = await base.send(http, REQ)
        chunks = []
        with pytest.raises(errors.UpstreamServerError):
            async for chunk in base.iter_body(resp):
                chunks.append(chunk)
    assert chunks == [b"data: 1\n\n"]
    assert resp.is_closed


def test_make_client_uses_aiohttp_with_no_overall_read_deadline():
    from httpx_aiohttp import AiohttpTransport

    http = base.make_client()
    assert isinstance(http._transport, AiohttpTransport)
    assert http.timeout.connect == base.CONNECT_TIMEOUT
    assert http.timeout.read == base.READ_TIMEOUT
    assert http.follow_redirects is False


def _json(obj) -> bytes:
    return orjson.dumps(obj)


OPENAI_INVALID = _json({"error": {"message": "Unknown parameter: 'foo'.", "type": "invalid_request_error",
                                  "param": "foo", "code": "unknown_parameter"}})


@pytest.mark.parametrize(("status", "body", "dialect", "expected"), [
    (200, b"", "openai_chat", None),
    (401, _json({"error": {"message": "Incorrect API key provided: sk-abc***xyz"}}), "openai_chat", errors.UpstreamAuthError),
    (403, b"forbidden", "anthropic", errors.UpstreamAuthError),
    (408, b"", "openai_responses", errors.UpstreamTimeoutError),
    (429, b"", "anthropic", errors.UpstreamRateLimitError),
    (500, b"", "openai_chat", errors.UpstreamServerError),
    (529, _json({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}), "anthropic",
     errors.UpstreamServerError),
    (400, OPENAI_INVALID, "openai_chat", errors.UpstreamRejectedError),
    (400, _json({"detail": "Unsupported parameter: foo"}), "openai_responses", errors.UpstreamRejectedError),
    (400, _json({"error": {"code": 400, "status": "FAILED_PRECONDITION", "message": "location"}}), "gemini",
     errors.UpstreamError),
    (400, _json({"error": {"type": "rate_limit_exceeded", "message": "x"}}), "openai_chat", errors.UpstreamRateLimitError),
    (413, _json({"type": "error", "error": {"type": "request_too_large", "message": "too big"}}), "anthropic",
     errors.UpstreamRejectedError),
    (422, b"unprocessable", "openai_chat", errors.UpstreamRejectedError),
    (404, _json({"error": {"type": "not_found_error", "message": "model: x"}}), "anthropic", errors.UpstreamError),
    (402, b"", "openai_chat", errors.UpstreamError),
], ids=lambda v: str(v)[:20])
def test_classify_status_table(status, body, dialect, expected):
    err = base.classify_status(status, {}, body, dialect=dialect)
    if expected is None:
        assert err is None
    else:
        assert type(err) is expected


def test_rejected_keeps_status_and_lifts_message_code_and_param():
    err = base.classify_status(400, {}, OPENAI_INVALID, dialect="openai_chat")
    assert (err.status, err.message, err.code, err.param) == (400, "Unknown parameter: 'foo'.", "unknown_parameter", "foo")
    assert not err.cools_down
    assert base.classify_status(422, {}, b"x", dialect="openai_chat").status == 422


def test_auth_errors_never_lift_the_upstream_message():
    body = _json({"error": {"message": "Incorrect API key provided: sk-abc***xyz"}})
    err = base.classify_status(401, {}, body, dialect="openai_chat")
    assert "sk-abc" not in err.message and "401" in err.message


def test_retry_after_from_seconds_http_date_and_milliseconds():
    assert base.classify_status(429, {"retry-after": "7"}, b"", dialect="anthropic").retry_after == 7
    assert base.classify_status(429, {"retry-after-ms": "1500"}, b"", dialect="openai_chat").retry_after == 1.5
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    after = base.classify_status(429, {"retry-after": date}, b"", dialect="anthropic").retry_after
    assert 27 <= after <= 31
    assert base.classify_status(429, {"retry-after": "soon"}, b"", dialect="anthropic").retry_after is None


def test_codex_future_resets_at_wins_over_resets_in_seconds_and_header():
    body = _json({"error": {"type": "usage_limit_reached", "resets_at": time.time() + 100, "resets_in_seconds": 5}})
    after = base.classify_status(429, {"retry-after": "1"}, body, dialect="openai_responses").retry_after
    assert 98 <= after <= 100
    past = _json({"error": {"type": "usage_limit_reached", "resets_at": time.time() - 100, "resets_in_seconds": 5}})
    assert base.classify_status(429, {}, past, dialect="openai_responses").retry_after == 5


def test_gemini_quota_reset_delay_in_error_info():
    body = _json({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
         "metadata": {"quotaResetDelay": "1m30.5s"}}]}})
    assert base.classify_status(429, {}, body, dialect="gemini").retry_after == 90.5
    ms = _json({"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "373.8ms"}]}})
    assert base.classify_status(429, {}, ms, dialect="gemini").retry_after == pytest.approx(0.3738)


def test_long_upstream_messages_are_truncated():
    body = _json({"error": {"type": "invalid_request_error", "message": "x" * 5000}})
    assert len(base.classify_status(400, {}, body, dialect="openai_chat").message) == 500
