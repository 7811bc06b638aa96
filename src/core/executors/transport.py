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
    """The request ``http.build_request`` would build, header for header in the same order: the defaults
    ours do not replace, then ours; the client's timeout."""
    import httpx

    ours = {name.lower() for name in ureq.headers}
    headers = {name: value for name, lower, value in lane.headers if lower not in ours}
    headers.update(ureq.headers)
    return httpx.Request(ureq.method, _url(ureq.url), headers=headers, content=ureq.body,
                         extensions={"timeout": lane.timeout})


@functools.lru_cache(maxsize=1024)
def _url(text: str) -> httpx.URL:
    """Parsed once per upstream address (a few per credential); ``httpx.URL`` is immutable."""
    import httpx

    return httpx.URL(text)
