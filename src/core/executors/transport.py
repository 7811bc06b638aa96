"""The one upstream HTTP client and its sender: ``UpstreamRequest`` in, ``httpx.Response`` out, httpx's
exceptions mapped to ours once (``map_exception``, as httpx's ``map_httpcore_exceptions`` does).

httpx stays the interface (``httpx.AsyncClient``, ``httpx.Request`` / ``Response``; tests plug in
``httpx.MockTransport``), but ``AsyncClient.build_request`` re-parses the URL, re-merges the client's default
headers and rebuilds its timeout on every call -- about a third of a request's CPU in the proxy at
concurrency 32 (measured with `make bench`). ``register`` records those once per client; ``build`` then
builds the same ``httpx.Request`` from them, with the URL parsed once per upstream address.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core import errors

if TYPE_CHECKING:
    import ssl

    import httpx

    from core.errors import UpstreamError


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """What an executor's ``build`` returns: exactly what goes on the wire."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    stream: bool


CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 600.0  # per read, not per request: a stream may run for many minutes


def make_client(*, transport: httpx.AsyncBaseTransport | None = None, concurrent: bool = True,
                verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The shared upstream client. aiohttp behind the httpx API (several times faster than httpx's own under
    concurrency). ``concurrent=False``, for a process that serves one request at a time (a Lambda instance):
    httpx's own transport, which loads ~120 ms faster on a cold start than aiohttp (measured with `make bench`).
    ``verify``: a TLS context made beforehand (``tls_context``), else httpx's default one is made here."""
    import httpx

    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=60.0)
    if transport is None and not concurrent:
        transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
    elif transport is None:
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(verify=verify, limits=limits)
    timeout = httpx.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=60.0, pool=30.0)
    client = httpx.AsyncClient(transport=transport, timeout=timeout, limits=limits, follow_redirects=False)
    # ``send`` hands requests to the transport itself: the client's redirect, auth and cookie layers cost
    # ~0.1 ms a request and a proxy needs none of them (measured with `make bench`).
    register(client, transport)
    return client


def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context. Most of its cost is loading the CA bundle (~35 ms), which runs
    outside the GIL, so a thread can make it while the process loads the rest (``handlers.runtime``)."""
    import httpx

    return httpx.create_ssl_context()


async def send(http: httpx.AsyncClient, ureq: UpstreamRequest) -> httpx.Response:
    """Send ``ureq`` with the body still unread (stream semantics); transport failures become our errors."""
    import httpx

    found = lane(http)
    try:
        if found is None:
            request = http.build_request(ureq.method, ureq.url, headers=ureq.headers, content=ureq.body)
            return await http.send(request, stream=True)
        request = build(found, ureq)
        response = await found.transport.handle_async_request(request)
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
        return errors.UpstreamTimeoutError(f"upstream timed out ({name})", kind="network")
    if isinstance(exc, httpx.RequestError):
        return errors.UpstreamServerError(f"upstream connection failed ({name})", kind="network")
    return errors.UpstreamServerError(f"upstream request failed ({name})", kind="network")


def _disguised_disconnect(exc: Exception) -> bool:
    # httpx-aiohttp maps every aiohttp ClientConnectionError (a server hang-up, a reset) to ConnectTimeout;
    # only an aiohttp error that is also a TimeoutError is a real timeout.
    cause = exc.__cause__
    return cause is not None and type(cause).__module__.startswith("aiohttp") and not isinstance(cause, TimeoutError)



# --- the per-client lane ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Lane:
    """What every request through one client shares."""

    transport: httpx.AsyncBaseTransport
    headers: tuple[tuple[str, str, str], ...]  # the client's default headers: (name, lower-cased name, value)
    timeout: dict[str, Any]  # the ``timeout`` request extension the transport reads


_LANES: weakref.WeakKeyDictionary[httpx.AsyncClient, Lane] = weakref.WeakKeyDictionary()


def register(http: httpx.AsyncClient, transport: httpx.AsyncBaseTransport) -> None:
    """Record ``http``'s defaults, so ``lane`` and ``request`` can skip the client's own layers."""
    enc = http.headers.encoding
    headers = tuple((name.decode(enc), name.decode(enc).lower(), value.decode(enc)) for name, value in http.headers.raw)
    _LANES[http] = Lane(transport, headers, http.timeout.as_dict())


def lane(http: httpx.AsyncClient) -> Lane | None:
    """The registered lane of a client made by ``make_client``; None for any other client."""
    return _LANES.get(http)


def build(lane: Lane, ureq: UpstreamRequest) -> httpx.Request:
    """The request ``http.build_request`` would build, header for header in the same order: Host, the
    defaults ours do not replace, ours, Content-Length; the client's timeout.

    Giving httpx the body as a ready stream with those headers skips its content encoding and the header
    re-merging of ``Request._prepare`` (~10 us a request); anything unusual takes httpx's own path.
    """
    import httpx

    url, netloc = _url(ureq.url)
    ours = {name.lower() for name in ureq.headers}
    headers = {name: value for name, lower, value in lane.headers if lower not in ours}
    headers.update(ureq.headers)
    extensions = {"timeout": lane.timeout}
    if not ureq.body or "host" in ours or "content-length" in ours:
        return httpx.Request(ureq.method, url, headers=headers, content=ureq.body, extensions=extensions)
    headers = {"Host": netloc, **headers, "Content-Length": str(len(ureq.body))}
    built = httpx.Request(ureq.method, url, headers=headers, stream=httpx.ByteStream(ureq.body),
                          extensions=extensions)
    built.read()  # ``request.content`` is readable, as for a request built from content
    return built


@functools.lru_cache(maxsize=1024)
def _url(text: str) -> tuple[httpx.URL, str]:
    """Parsed once per upstream address (a few per credential); ``httpx.URL`` is immutable. With the
    Host header httpx derives from it."""
    import httpx

    url = httpx.URL(text)
    return url, url.netloc.decode("ascii")
