"""Gemini generateContent (``POST /v1beta/models/{model}:generateContent|streamGenerateContent``): client
dialect of Gemini CLI and the google-genai SDK, and the wire format of Gemini API-key upstreams. Same
surface as every dialect (see ``core.dialects``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.dialects.gemini.envelope import render_count, render_error, render_model, render_models
from core.dialects.gemini.request import parse_request
from core.dialects.gemini.response import parse_response, render_response
from core.dialects.gemini.stream import StreamDecoder, StreamEncoder
from core.dialects.gemini.upstream import render_request

if TYPE_CHECKING:
    from core import ir

NAME: ir.Dialect = "gemini"

__all__ = [
    "NAME",
    "StreamDecoder",
    "StreamEncoder",
    "parse_request",
    "parse_response",
    "render_count",
    "render_error",
    "render_model",
    "render_models",
    "render_request",
    "render_response",
]
