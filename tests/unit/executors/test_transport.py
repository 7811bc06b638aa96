from __future__ import annotations

import httpx
import pytest

from core import errors
from core.executors import transport

REQ = transport.UpstreamRequest("POST", "http://up.test/x", {"authorization": "Bearer secret-1"}, b"{}", stream=True)


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
    err = transport.map_exception(exc_type("boom"))
    expected = errors.UpstreamTimeoutError if issubclass(exc_type, httpx.TimeoutException) else errors.UpstreamServerError
    assert type(err) is expected
    assert err.cools_down and err.kind == "network" and err.upstream_status is None


def test_aiohttp_hang_up_reported_as_connect_timeout_maps_to_server_error():
    import aiohttp

    exc = httpx.ConnectTimeout("Server disconnected")
    exc.__cause__ = aiohttp.ServerDisconnectedError()
    assert type(transport.map_exception(exc)) is errors.UpstreamServerError
    real = httpx.ReadTimeout("timeout")
    real.__cause__ = aiohttp.SocketTimeoutError()
    assert type(transport.map_exception(real)) is errors.UpstreamTimeoutError


async def test_send_builds_the_request_and_leaves_the_body_unread():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(method=request.method, url=str(request.url), auth=request.headers["authorization"],
                    body=request.content)
        return httpx.Response(200, stream=_Chunks([b"data: 1\n\n"]))

    async with transport.make_client(transport=httpx.MockTransport(handler)) as http:
        resp = await transport.send(http, REQ)
        assert not resp.is_closed
        assert await transport.read_body(resp) == b"data: 1\n\n"
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

    async with transport.make_client(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(expected) as info:
            await transport.send(http, REQ)
    assert "secret-1" not in str(info.value)


async def test_iter_body_maps_a_drop_mid_stream():
    class Dropping(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b"data: 1\n\n"
            raise httpx.ReadError("connection reset")

    async with transport.make_client(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Dropping()))) as http:
        resp = await transport.send(http, REQ)
        chunks = []
        with pytest.raises(errors.UpstreamServerError):
            async for chunk in transport.iter_body(resp):
                chunks.append(chunk)
    assert chunks == [b"data: 1\n\n"]
    assert resp.is_closed


def test_make_client_for_one_request_at_a_time_uses_httpx_own_transport():
    """A Lambda instance (one request at a time) does not load aiohttp: same timeouts, same lane."""
    http = transport.make_client(concurrent=False)
    assert isinstance(http._transport, httpx.AsyncHTTPTransport)
    assert http.timeout.read == transport.READ_TIMEOUT
    assert http.follow_redirects is False
    assert transport.lane(http) is not None


def test_tls_context_verifies_against_a_loaded_ca_bundle():
    import ssl

    ctx = transport.tls_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 0


def test_make_client_uses_a_tls_context_made_beforehand():
    ctx = transport.tls_context()
    http = transport.make_client(concurrent=False, verify=ctx)
    assert http._transport._pool._ssl_context is ctx


async def test_lambda_deps_use_the_preloaded_tls_context(monkeypatch):
    """handlers.lambda_server begins the TLS context at process start; the deps' upstream client takes it."""
    from core.config import Config, StoreConfig
    from handlers import runtime

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cliproxy-test")
    monkeypatch.setattr(runtime, "_tls", None)
    runtime.preload_tls()
    ctx = runtime._tls.result(timeout=30)
    deps = await runtime._build(Config(store=StoreConfig(backend="memory")), lambda: 0.0)
    try:
        assert deps.http._transport._pool._ssl_context is ctx
    finally:
        await deps.http.aclose()


def test_make_client_uses_aiohttp_with_no_overall_read_deadline():
    from httpx_aiohttp import AiohttpTransport

    http = transport.make_client()
    assert isinstance(http._transport, AiohttpTransport)
    assert http.timeout.connect == transport.CONNECT_TIMEOUT
    assert http.timeout.read == transport.READ_TIMEOUT
    assert http.follow_redirects is False
