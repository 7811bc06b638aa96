"""OpenAI Chat Completions: the client dialect of ``POST /v1/chat/completions`` and the upstream dialect of
OpenAI-compatible endpoints. The same names as every dialect module (see ``core.dialects``)."""

from __future__ import annotations

from core.dialects.openai_chat.request import NAME, parse_request, render_request
from core.dialects.openai_chat.response import (
    parse_response,
    render_count,
    render_error,
    render_model,
    render_models,
    render_response,
)
from core.dialects.openai_chat.stream import StreamDecoder, StreamEncoder

__all__ = ["NAME", "StreamDecoder", "StreamEncoder", "parse_request", "parse_response", "render_count",
           "render_error", "render_model", "render_models", "render_request", "render_response"]
