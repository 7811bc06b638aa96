"""What every executor shares: the request value it builds, its protocol, and the one sender.

Contract (one module per kind exposes ``EXECUTOR``, an instance satisfying ``Executor``):

    kind, dialect                     the upstream kind and the wire dialect it speaks
    upstream_stream(client_stream)    whether to ask the upstream for SSE (Codex: always)
    finalize(body, req, ctx)          forced fields and deletions, run after payload rules (mutates body)
    build(body, req, cred, ctx)       -> UpstreamRequest (URL, headers incl. auth, serialized body)
    classify(status, headers, body)   -> ProxyError | None for a non-2xx answer
    refresh(cred, http, token_url)    -> Credential with new tokens (OAuth kinds; else raises)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import httpx

    from core import ir
    from core.credentials import Credential
    from core.errors import ProxyError


@dataclass(frozen=True, slots=True)
class CallContext:
    """Per-call facts an executor needs besides the body: continuity and what the client sent."""

    stream: bool  # upstream SSE or not (from upstream_stream)
    upstream_model: str  # the model name the upstream must see (alias, prefix and suffix removed)
    cache_key: str | None = None  # continuity key -> Codex prompt_cache_key body field + session_id header
    client_headers: dict[str, str] = field(default_factory=dict)  # lower-cased, forwarded where allowed
    count_tokens: bool = False  # a count_tokens call (Codex strips prompt_cache_retention then)
    passthrough: bool = False  # same dialect in and out


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    stream: bool


class Executor(Protocol):
    kind: ClassVar[ir.UpstreamKind]
    dialect: ClassVar[ir.Dialect]

    def upstream_stream(self, client_stream: bool) -> bool: ...
    def finalize(self, body: dict[str, Any], req: ir.Request, ctx: CallContext) -> dict[str, Any]: ...
    def build(self, body: dict[str, Any], req: ir.Request, cred: Credential, ctx: CallContext) -> UpstreamRequest: ...
    def classify(self, status: int, headers: httpx.Headers, body: bytes) -> ProxyError | None: ...
    async def refresh(self, cred: Credential, http: httpx.AsyncClient, token_url: str | None) -> Credential: ...
