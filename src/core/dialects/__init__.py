"""Wire dialects. Each module exposes the same names, so the service never branches on a dialect.

Module surface (see ``Dialect``):

    parse_request(body, *, model=None, count_tokens=False) -> ir.Request
                                                             client body -> IR (raises BadRequestError);
                                                             count_tokens relaxes generation-only fields
    render_request(req) -> dict                              IR -> upstream body in this dialect
    parse_response(body, *, req=None) -> ir.Response         upstream non-stream body -> IR (req restores
                                                             tool names the renderer had to change)
    render_response(resp, req) -> dict                       IR -> client non-stream body
    StreamDecoder(req)          .feed(frame) -> [Delta]      upstream SSE frames -> Deltas
    StreamEncoder(req)          .feed(delta) -> [bytes]      Deltas -> client SSE bytes, in event order
                                .close() -> [bytes]          final events after a clean end
                                .fail(err) -> [bytes]        in-stream error after bytes went out
    render_error(err) -> (status, body)                      ProxyError -> this dialect's envelope
    render_model(model) -> dict                              one model in this dialect's shape
    render_models(models) -> dict                            model list in this dialect's shape
    render_count(tokens) -> dict                             count_tokens answer
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core import errors, ir, sse


class StreamDecoderProto(Protocol):
    def __init__(self, req: ir.Request) -> None: ...
    def feed(self, frame: sse.Frame) -> list[ir.Delta]: ...


class StreamEncoderProto(Protocol):
    def __init__(self, req: ir.Request) -> None: ...
    def feed(self, delta: ir.Delta) -> list[bytes]: ...
    def close(self) -> list[bytes]: ...
    def fail(self, err: errors.ProxyError) -> list[bytes]: ...


class Dialect(Protocol):
    NAME: ir.Dialect
    StreamDecoder: type[StreamDecoderProto]
    StreamEncoder: type[StreamEncoderProto]

    def parse_request(self, body: dict[str, Any], *, model: str | None = None,
                      count_tokens: bool = False) -> ir.Request: ...
    def render_request(self, req: ir.Request) -> dict[str, Any]: ...
    def parse_response(self, body: dict[str, Any], *, req: ir.Request | None = None) -> ir.Response: ...
    def render_response(self, resp: ir.Response, req: ir.Request) -> dict[str, Any]: ...
    def render_error(self, err: errors.ProxyError) -> tuple[int, dict[str, Any]]: ...
    def render_model(self, model: ModelInfo) -> dict[str, Any]: ...
    def render_models(self, models: Sequence[ModelInfo]) -> dict[str, Any]: ...
    def render_count(self, tokens: int) -> dict[str, Any]: ...


class ModelInfo(Protocol):  # read-only, as the frozen ``models.ListedModel`` is
    @property
    def id(self) -> str: ...
    @property
    def owned_by(self) -> str: ...
    @property
    def created(self) -> int: ...


_MODULES = {
    "openai_chat": "core.dialects.openai_chat",
    "openai_responses": "core.dialects.openai_responses",
    "anthropic": "core.dialects.anthropic",
    "gemini": "core.dialects.gemini",
}


@functools.cache  # called several times per request: a dict lookup instead of the import machinery
def get(name: str) -> Dialect:
    """The dialect module for ``name`` (imported on first use)."""
    return importlib.import_module(_MODULES[name])  # a module satisfies the protocol
