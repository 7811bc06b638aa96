"""Anthropic Messages (``POST /v1/messages``): client dialect of Claude Code and the Anthropic SDK, and the
wire format of Claude upstreams. Same surface as every dialect (see ``core.dialects``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.dialects.anthropic.envelope import render_count, render_error, render_model, render_models
from core.dialects.anthropic.request import parse_request
from core.dialects.anthropic.response import parse_response, render_response
from core.dialects.anthropic.stream import StreamDecoder, StreamEncoder
from core.dialects.anthropic.upstream import render_request

if TYPE_CHECKING:
    from core import ir

NAME: ir.Dialect = "anthropic"

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
