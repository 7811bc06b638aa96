"""A streamed reply releases its upstream response however the client leaves: before the response headers
went out (the generator never ran, so its own ``finally`` cannot) or in the middle of the stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core import relay
from core.call import Reply
from handlers import api


def reply_over(upstream_chunks: list[bytes], released: list[str]) -> Reply:
    async def client_stream() -> AsyncIterator[bytes]:
        for chunk in upstream_chunks:
            yield chunk

    async def release() -> None:
        released.append("upstream")

    return Reply(200, stream=relay.Closing(client_stream(), release))


async def serve(reply: Reply, fail_on: int) -> list[dict[str, Any]]:
    """Run the ASGI response; the ``fail_on``-th send raises as uvicorn does once the client is gone."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        if len(sent) == fail_on:
            raise OSError("client disconnected")
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    scope = {"type": "http", "asgi": {"spec_version": "2.4"}}
    with pytest.raises(Exception):  # noqa: B017  # Starlette's ClientDisconnect
        await api.to_response(reply)(scope, receive, send)
    return sent


async def test_a_client_gone_before_the_headers_still_releases_the_upstream_response() -> None:
    released: list[str] = []
    reply = reply_over([b"data: 1\n\n"], released)
    sent = await serve(reply, fail_on=0)
    assert sent == []
    assert released == ["upstream"]


async def test_a_client_gone_mid_stream_releases_the_upstream_response_at_once() -> None:
    released: list[str] = []
    reply = reply_over([b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"], released)
    sent = await serve(reply, fail_on=2)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert released == ["upstream"]
