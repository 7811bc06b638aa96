"""What every executor shares: the request value it builds, its protocol, and the one sender.

Contract (one module per kind exposes ``EXECUTOR``, an instance satisfying ``Executor``):

    kind, dialect                     the upstream kind and the wire dialect it speaks
    counts_tokens                     whether the upstream has a count-tokens endpoint
    keys_sessions                     whether requests carry a continuity key (Codex prompt cache / session)
    upstream_stream(client_stream)    whether to ask the upstream for SSE (Codex: always)
    finalize(body, req, ctx)          forced fields and deletions, run after payload rules (mutates body)
    build(body, req, cred, ctx)       -> transport.UpstreamRequest (URL, headers incl. auth, serialized body)
    classify(status, headers, body)   -> UpstreamError | None for a non-2xx answer
    classify_event(payload, headers)  -> UpstreamError | None for an error event inside a 200 stream
    refresh(cred, http, token_url)    -> Credential with new tokens (OAuth kinds; else raises)

Elsewhere: the one client and sender in ``executors.transport``; the one failure classifier, which every
``classify`` delegates to with its wire dialect, in ``executors.classify``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from core import errors
from core.executors import classify

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from core import ir
    from core.credentials import Credential
    from core.errors import UpstreamError
    from core.executors.transport import UpstreamRequest


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


class Executor(Protocol):
    kind: ClassVar[ir.UpstreamKind]
    counts_tokens: ClassVar[bool]  # the upstream counts prompt tokens itself (Claude, Gemini)
    keys_sessions: ClassVar[bool]  # requests carry a continuity key: prompt_cache_key and session_id (Codex)
    compacts: ClassVar[bool]  # the upstream compacts a conversation itself (Codex /responses/compact)
    dialect: ClassVar[ir.Dialect]

    def upstream_stream(self, client_stream: bool) -> bool: ...
    def finalize(self, body: dict[str, Any], req: ir.Request, ctx: CallContext) -> dict[str, Any]: ...
    def build(self, body: dict[str, Any], req: ir.Request, cred: Credential, ctx: CallContext) -> UpstreamRequest: ...
    def classify(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError | None: ...
    def classify_event(self, payload: Any, headers: Mapping[str, str] | None = None) -> UpstreamError | None: ...
    async def refresh(self, cred: Credential, http: httpx.AsyncClient, token_url: str | None) -> Credential: ...


class Defaults:
    """What most executors answer alike: the client's stream choice, failures through the one classifier
    with the executor's wire dialect, no compaction of their own (the service emulates it) and no refresh
    (API keys). OAuth kinds override ``refresh``."""

    dialect: ClassVar[ir.Dialect]
    compacts: ClassVar[bool] = False

    def upstream_stream(self, client_stream: bool) -> bool:
        return client_stream

    def classify(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError | None:
        return classify.status(status, headers, body, dialect=self.dialect)

    def classify_event(self, payload: Any, headers: Mapping[str, str] | None = None) -> UpstreamError | None:
        return classify.event(payload, dialect=self.dialect, headers=headers)

    async def refresh(self, cred: Credential, http: httpx.AsyncClient, token_url: str | None) -> Credential:
        raise errors.UpstreamAuthError("credential cannot be refreshed")
