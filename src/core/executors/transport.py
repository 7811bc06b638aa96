"""Building upstream requests for the shared client without httpx's per-call work.

httpx stays the interface (``httpx.AsyncClient``, ``httpx.Request`` / ``Response``; tests plug in
``httpx.MockTransport``), but ``AsyncClient.build_request`` re-parses the URL, re-merges the client's default
headers and rebuilds its timeout on every call -- about a third of a request's CPU in the proxy at
concurrency 32 (measured with `make bench`). ``register`` records those once per client; ``request`` then
builds the same ``httpx.Request`` from them, with the URL parsed once per upstream address.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from core.executors.base import UpstreamRequest


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
    """The registered lane of a client made by ``base.make_client``; None for any other client."""
    return _LANES.get(http)


def request(lane: Lane, ureq: UpstreamRequest) -> httpx.Request:
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
