"""A raw asyncio HTTP/1.1 load client: keep-alive connections, prebuilt requests, per-request timings.

httpx would add ~0.5 ms of its own per request; this client costs a few microseconds, the same for every
target. It understands just what the targets send back: content-length or chunked bodies.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class Call:
    """One prebuilt request and how to recognise a good answer."""

    raw: bytes
    expect: bytes  # a byte string a correct answer contains

    @classmethod
    def post(cls, port: int, path: str, body: dict, headers: dict[str, str], expect: bytes) -> Call:
        data = orjson.dumps(body)
        lines = [f"POST {path} HTTP/1.1", f"host: 127.0.0.1:{port}", "content-type: application/json",
                 f"content-length: {len(data)}", *(f"{k}: {v}" for k, v in headers.items())]
        return cls(("\r\n".join(lines) + "\r\n\r\n").encode() + data, expect)


@dataclass(frozen=True, slots=True)
class Sample:
    status: int
    first: float  # seconds from send to the first body byte
    total: float  # seconds from send to the last body byte
    body: bytes


class BadAnswer(Exception):
    pass


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``send`` one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._done: asyncio.Future[Sample] | None = None
        self.closed = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(cls, port: int) -> Connection:
        _, conn = await asyncio.get_running_loop().create_connection(cls, "127.0.0.1", port)
        return conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(ConnectionError("connection closed mid-answer"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def send(self, call: Call) -> Sample:
        self._done = asyncio.get_running_loop().create_future()
        self._parser = _Parser()
        self._sent = time.perf_counter()
        self.transport.write(call.raw)  # type: ignore[union-attr]
        sample = await self._done
        if sample.status != 200 or call.expect not in sample.body:
            raise BadAnswer(f"status {sample.status}: {sample.body[:300]!r}")
        return sample

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        p = self._parser
        if p.feed(data) and p.first_at is None:
            p.first_at = now
        if p.complete and self._done is not None and not self._done.done():
            first = (p.first_at or now) - self._sent
            self._done.set_result(Sample(p.status, first, now - self._sent, bytes(p.body)))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Parser:
    """Incremental response parser; ``feed`` says whether body bytes arrived in this piece."""

    def __init__(self) -> None:
        self.buf = b""
        self.status = 0
        self.body = bytearray()
        self.first_at: float | None = None
        self.complete = False
        self._length: int | None = None  # content-length, or None for chunked
        self._in_body = False
        self._chunk_left = 0

    def feed(self, data: bytes) -> bool:
        self.buf += data
        if not self._in_body and not self._head():
            return False
        before = len(self.body)
        if self._length is not None:
            self.body += self.buf
            self.buf = b""
            self.complete = len(self.body) >= self._length
        else:
            self._chunks()
        return len(self.body) > before or (self.complete and self._length == 0)

    def _head(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4:]
        lines = head.split("\r\n")
        self.status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._length = None if chunked else int(headers.get("content-length", "0"))
        self._in_body = True
        return True

    def _chunks(self) -> None:
        buf, pos = self.buf, 0
        while not self.complete:
            if self._chunk_left:
                take = min(self._chunk_left, len(buf) - pos)
                if take <= 0:
                    break
                self.body += buf[pos:pos + take]
                pos += take
                self._chunk_left -= take
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            line = buf[pos:eol]
            if not line:  # the CRLF after a chunk's data
                pos = eol + 2
                continue
            size = int(line.split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                self.complete = True
            self._chunk_left = size
        self.buf = buf[pos:]


async def open_pool(port: int, n: int) -> list[Connection]:
    return list(await asyncio.gather(*(Connection.open(port) for _ in range(n))))


async def throughput(port: int, call: Call, *, concurrency: int, seconds: float, warmup: float = 0.3) -> float:
    """Completed requests per second with ``concurrency`` connections busy for ``seconds``."""
    conns = await open_pool(port, concurrency)
    counting = False
    count = 0
    stop_at = time.perf_counter() + warmup + seconds

    async def worker(conn: Connection) -> None:
        nonlocal count
        while time.perf_counter() < stop_at:
            await conn.send(call)
            if counting:
                count += 1

    tasks = [asyncio.create_task(worker(c)) for c in conns]
    await asyncio.sleep(warmup)
    counting, started = True, time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return count / elapsed


async def blast(port: int, calls: list[Call], *, concurrency: int) -> None:
    """Send every call in ``calls`` (in order, ``concurrency`` at a time); for the memory phase."""
    conns = await open_pool(port, concurrency)
    queue = iter(calls)

    async def worker(conn: Connection) -> None:
        for call in queue:
            await conn.send(call)

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.close()
