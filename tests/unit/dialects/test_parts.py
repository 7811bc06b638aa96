"""Helpers several dialects share (core.dialects.parts)."""

from __future__ import annotations

import pytest

from core import errors, ir, sse
from core.dialects import anthropic, gemini
from core.dialects.parts import frame_object

REQ = ir.Request(model="m", messages=(), dialect="anthropic")


@pytest.mark.parametrize("data", ["", "[DONE]", "[1, 2]", '"text"'])
def test_frames_without_an_object_give_nothing(data):
    assert frame_object(sse.Frame(None, data), "anthropic") == []


def test_an_object_frame_is_returned():
    assert frame_object(sse.Frame("x", '{"type": "ping"}'), "gemini") == {"type": "ping"}


@pytest.mark.parametrize("dialect", [anthropic, gemini])
def test_a_malformed_upstream_frame_is_an_upstream_server_error(dialect):
    (delta,) = dialect.StreamDecoder(REQ).feed(sse.Frame(None, '{"type": "content_block_delta", '))
    assert delta.kind == "error"
    assert isinstance(delta.error, errors.UpstreamServerError)
    assert "malformed stream event" in str(delta.error)
