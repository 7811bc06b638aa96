"""A very fast fake upstream on raw asyncio: OpenAI chat completions and the Codex Responses stream.

Answers are prebuilt bytes, so its own cost stays near the loopback round trip (~0.1-0.2 ms) and every
proxy in front of it is measured, not the fake. Stream events go out as separate chunked-encoding writes,
as a real upstream's do. A bearer key containing ``fail`` gets a 429 (used for the failover count).

    python -m bench.upstream PORT [TEXT_EVENTS]
"""

from __future__ import annotations

import asyncio
import re
import sys

import orjson

TEXT_EVENTS = 30  # text deltas per stream: the client sees 24+ events in every dialect
_STREAM = re.compile(rb'"stream"\s*:\s*true')
_WORDS = [f"tok{i} " for i in range(TEXT_EVENTS)]


def chat_json() -> bytes:
    return orjson.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench-chat",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hello from the bench upstream."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    })


def chat_events(n: int) -> list[bytes]:
    """role chunk, ``n`` text chunks, finish chunk, usage chunk, ``[DONE]``."""
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "bench-chat"}

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        body = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + orjson.dumps(body) + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": _word(i)}) for i in range(n)]
    events.append(chunk({}, "stop"))
    usage = {**head, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}}
    events.append(b"data: " + orjson.dumps(usage) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def codex_events(n: int) -> list[bytes]:
    """The Codex backend's event order for one text message of ``n`` deltas."""
    text = "".join(_word(i) for i in range(n))
    resp = {"id": "resp_bench", "object": "response", "created_at": 1700000000, "status": "in_progress",
            "model": "bench-codex", "output": [], "usage": None}
    at = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {"id": "msg_bench", "type": "message", "status": "completed", "role": "assistant", "content": [part]}
    usage = {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": n,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12 + n}
    steps: list[tuple[str, dict]] = [
        ("response.created", {"response": resp}),
        ("response.in_progress", {"response": resp}),
        ("response.output_item.added", {"output_index": 0, "item": {**item, "status": "in_progress", "content": []}}),
        ("response.content_part.added", {**at, "part": {**part, "text": ""}}),
        *(("response.output_text.delta", {**at, "delta": _word(i)}) for i in range(n)),
        ("response.output_text.done", {**at, "text": text}),
        ("response.content_part.done", {**at, "part": part}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": {**resp, "status": "completed", "output": [item], "usage": usage}}),
    ]
    return [b"event: " + kind.encode() + b"\ndata: "
            + orjson.dumps({"type": kind, "sequence_number": seq, **fields}) + b"\n\n"
            for seq, (kind, fields) in enumerate(steps)]


def _word(i: int) -> str:
    return _WORDS[i % len(_WORDS)]


def _whole(status: str, body: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"{extra}\r\n").encode() + body


def _chunked(events: list[bytes]) -> list[bytes]:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    return [head] + [b"%x\r\n%b\r\n" % (len(e), e) for e in events] + [b"0\r\n\r\n"]


class Answers:
    """Every answer the fake can give, as bytes ready to write."""

    def __init__(self, n: int) -> None:
        self.chat = _whole("200 OK", chat_json())
        self.chat_stream = _chunked(chat_events(n))
        self.codex_stream = _chunked(codex_events(n))
        self.limited = _whole("429 Too Many Requests", orjson.dumps(
            {"error": {"message": "bench: rate limited", "type": "rate_limit_error", "code": "rate_limit_exceeded"}}),
            "retry-after: 30\r\n")
        self.not_found = _whole("404 Not Found", b'{"error":{"message":"no such path"}}')


class _Server(asyncio.Protocol):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            stop = end + 4 + _content_length(head)
            if len(self.buf) < stop:
                return
            body, self.buf = self.buf[end + 4:stop], self.buf[stop:]
            for piece in self._answer(head, body):
                self.transport.write(piece)  # type: ignore[union-attr]

    def _answer(self, head: bytes, body: bytes) -> list[bytes]:
        path = head.split(b" ", 2)[1]
        if b"fail" in _header(head, b"authorization"):
            return [self.answers.limited]
        if path.endswith(b"/responses"):
            return self.answers.codex_stream
        if path.endswith(b"/chat/completions"):
            return self.answers.chat_stream if _STREAM.search(body) else [self.answers.chat]
        return [self.answers.not_found]


def _content_length(head: bytes) -> int:
    value = _header(head, b"content-length")
    return int(value) if value else 0


def _header(head: bytes, name: bytes) -> bytes:
    lower = head.lower()
    at = lower.find(b"\r\n" + name + b":")
    if at < 0:
        return b""
    start = at + len(name) + 3
    stop = lower.find(b"\r\n", start)
    return head[start:stop if stop >= 0 else len(head)].strip()


async def serve(port: int, n: int = TEXT_EVENTS) -> None:
    answers = Answers(n)
    server = await asyncio.get_running_loop().create_server(lambda: _Server(answers), "127.0.0.1", port,
                                                            backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else TEXT_EVENTS
    try:
        import uvloop

        uvloop.run(serve(port, n))
    except ImportError:
        asyncio.run(serve(port, n))


if __name__ == "__main__":
    main()
