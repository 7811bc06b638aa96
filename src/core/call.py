"""The values one request is made of: what the client sent, what the service needs, what it answers and
what it did. Handlers build a ``ClientCall`` and ``Deps``; ``service.handle`` returns a ``Reply`` and reports
an ``Outcome``; relay and upstream read the call; an attempt on one credential answers ``Whole`` or
``Streaming`` (from relay, or compaction's emulated turn). Kept apart so none of them imports the service.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from core import ir
    from core.config import ClientKey, Config
    from core.state import PoolState


@dataclass(frozen=True, slots=True)
class ClientCall:
    dialect: ir.Dialect
    raw: bytes
    headers: Mapping[str, str]  # lower-cased names
    principal: str | None = None  # the client API key that authenticated the call
    client_name: str | None = None  # how usage and metrics name that key (never the key itself)
    client: ClientKey | None = None  # that key's models and limits (None: every model, no limits)
    path_model: str | None = None  # Gemini: the model in the URL
    stream: bool | None = None  # Gemini: the URL action decides
    count_tokens: bool = False
    compact: bool = False  # POST /v1/responses/compact
    execution_session: str | None = None  # one id per Responses WebSocket: continuity and stickiness


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request did, for metrics (telemetry.observe)."""

    provider: str
    model: str
    status: int
    added_ms: float
    retries: int
    cooldowns: int
    cached_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Deps:
    config: Config
    http: httpx.AsyncClient
    state: PoolState
    clock: Callable[[], float] = time.time
    observe: Callable[[Outcome], None] = lambda outcome: None


@dataclass(frozen=True, slots=True)
class Whole:
    """A whole answer body for the client."""

    body: bytes
    usage: ir.Usage | None
    upstream_s: float = 0.0  # waiting on the upstream for its whole body


@dataclass(frozen=True, slots=True)
class Streaming:
    """A stream whose first output is already buffered: the client's chunks; ``ir.Usage`` items among them
    carry the usage so far (each replaces the one before; the last is final)."""

    chunks: AsyncGenerator[bytes | ir.Usage, None]
    release: Callable[[], Awaitable[None]]  # closes the upstream response
    upstream_s: float = 0.0  # waiting on the upstream for its first output event


Answer = Whole | Streaming
