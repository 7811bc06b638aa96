"""Server-sent events: incremental bytes -> frames, and frames -> bytes. Shared by every dialect."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Frame:
    event: str | None
    data: str
    raw: bytes = b""  # the frame's bytes as received (for same-dialect passthrough), separator excluded


class Decoder:
    """Splits a byte stream into SSE frames. Feed chunks as they arrive; call ``close`` at the end."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[Frame]:
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        frames: list[Frame] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            frame = _parse(buf[start:end])
            if frame is not None:
                frames.append(frame)
            start = end + 2
        self._buf = buf[start:]
        return frames

    def close(self) -> list[Frame]:
        rest, self._buf = self._buf.strip(b"\n"), b""
        frame = _parse(rest) if rest else None
        return [frame] if frame is not None else []


def _parse(block: bytes) -> Frame | None:
    event: str | None = None
    data: list[str] = []
    for line in block.split(b"\n"):
        if not line or line[0] == 0x3A:  # blank or ":" comment (keep-alive)
            continue
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            data.append(value.decode())
        elif name == b"event":
            event = value.decode()
    if event is None and not data:
        return None
    return Frame(event, "\n".join(data), block)


def encode(data: bytes | str, event: str | None = None) -> bytes:
    """One SSE frame: ``event: <event>\\ndata: <data>\\n\\n``."""
    body = data.encode() if isinstance(data, str) else data
    if event is None:
        return b"data: " + body + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + body + b"\n\n"
