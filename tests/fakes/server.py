"""A tiny HTTP/1.1 server on asyncio, run on its own loop in a background thread.

Just enough for the fake upstream, and much cheaper per request than uvicorn + ASGI (the benchmark
measures the proxy, not the fake): keep-alive, Content-Length or chunked request bodies, JSON answers,
chunked SSE answers with optional gaps between frames, and abrupt connection drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str  # percent-decoded
    query: dict[str, str]
    headers: dict[str, str]  # names lower-case
    body: bytes


class Responder:
    """Writes the one response to a request. ``closed`` tells the connection loop to stop."""

    def __init__(self, writer: asyncio.StreamWriter, on_abort: Callable[[], None]) -> None:
        self._writer = writer
        self._on_abort = on_abort
        self.closed = False

    async def send(self, status: int, body: bytes, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> None:
        head = _head(status, {"content-type": content_type, "content-length": str(len(body)), **(headers or {})})
        self._writer.write(head + body)
        await self._writer.drain()

    async def json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        await self.send(status, orjson.dumps(obj), "application/json", headers)

    async def sse(self, frames: list[bytes], *, gap: float = 0.0, headers: dict[str, str] | None = None) -> None:
        """200 ``text/event-stream`` in chunked encoding; all frames in one write unless ``gap`` > 0."""
        head = _head(200, {"content-type": "text/event-stream", "cache-control": "no-cache",
                           "transfer-encoding": "chunked", **(headers or {})})
        if gap <= 0:
            self._writer.write(head + b"".join(_chunk(frame) for frame in frames) + b"0\r\n\r\n")
            await self._writer.drain()
            return
        self._writer.write(head)
        for frame in frames:
            await asyncio.sleep(gap)
            if self._writer.transport.is_closing():
                self._abort()
                return
            self._writer.write(_chunk(frame))
            try:
                await self._writer.drain()
            except ConnectionError:
                self._abort()
                return
        self._writer.write(b"0\r\n\r\n")
        await self._writer.drain()

    def drop(self) -> None:
        """Close the connection before any byte of a response."""
        self.closed = True
        self._writer.transport.abort()

    def _abort(self) -> None:
        self.closed = True
        self._on_abort()


Handler = Callable[[HttpRequest, Responder], Awaitable[None]]


class ThreadedServer:
    """Serves ``handler`` on 127.0.0.1 from a daemon thread with its own event loop (uvloop if present)."""

    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0,
                 on_abort: Callable[[], None] = lambda: None) -> None:
        self._handler = handler
        self._host, self._port = host, port
        self._on_abort = on_abort
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> None:
        self._loop = _new_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-upstream", daemon=True)
        self._thread.start()
        start = asyncio.start_server(self._connection, self._host, self._port, backlog=1024)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(timeout=10)
        self._port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        out = Responder(writer, self._on_abort)
        try:
            while not out.closed:
                request = await _read_request(reader)
                if request is None:
                    break
                await self._answer(request, out)
                if request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # shutdown: this task is the connection's top level, end it quietly
            pass
        finally:
            self._writers.discard(writer)
            if out.closed:
                writer.transport.abort()
            else:
                writer.close()

    async def _answer(self, request: HttpRequest, out: Responder) -> None:
        try:
            await self._handler(request, out)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:  # a bug in the fake: say so loudly, answer 500
            traceback.print_exc(file=sys.stderr)
            await out.send(500, b'{"error": {"message": "fake upstream crashed", "type": "server_error"}}')


async def _read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = b""
    parts = urlsplit(target)
    return HttpRequest(method, unquote(parts.path), dict(parse_qsl(parts.query)), headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _reason(status: int) -> str:
    with contextlib.suppress(ValueError):
        return http.HTTPStatus(status).phrase
    return "Unknown"


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
