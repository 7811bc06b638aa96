"""OpenAI Responses: the client dialect of ``POST /v1/responses`` and the upstream dialect of Codex.
The same names as every dialect module (see ``core.dialects``)."""

from __future__ import annotations

from core.dialects.openai_responses.request import NAME, parse_request, render_request
from core.dialects.openai_responses.response import (
    parse_response,
    render_count,
    render_error,
    render_model,
    render_models,
    render_response,
)
from core.dialects.openai_responses.stream import StreamDecoder, StreamEncoder

__all__ = ["NAME", "StreamDecoder", "StreamEncoder", "parse_request", "parse_response", "render_count",
           "render_error", "render_model", "render_models", "render_request", "render_response"]
