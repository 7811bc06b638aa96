"""Chat completion chunks: upstream SSE -> Deltas, and Deltas -> the client's ``data: {chunk}`` stream."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import orjson

from core import ir
from core.dialects import openai_errors
from core.dialects.openai_chat.response import STOP_REASON, finish_reason, parse_usage, render_usage

if TYPE_CHECKING:
    from core import errors, sse

_DONE = b"data: [DONE]\n\n"


class StreamDecoder:
    """An OpenAI-compatible upstream's chunks -> Deltas. Tool-call Deltas keep the upstream's call index."""

    __slots__ = ("_started", "_calls")

    def __init__(self, req: ir.Request) -> None:
        self._started = False
        self._calls: set[int] = set()

    def feed(self, frame: sse.Frame) -> list[ir.Delta]:
        data = frame.data
        if not data or data == "[DONE]":
            return []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(chunk, dict):
            return []
        if chunk.get("error") is not None and not chunk.get("choices"):
            return [ir.Delta("error", error=chunk)]  # the executor classifies it
        out: list[ir.Delta] = []
        if not self._started:
            self._started = True
            out.append(ir.Delta("start", id=chunk.get("id"), model=chunk.get("model")))
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        if choice is not None and isinstance(choice.get("delta"), dict):
            self._content(choice["delta"], out)
        if isinstance(chunk.get("usage"), dict):
            out.append(ir.Delta("usage", usage=parse_usage(chunk["usage"])))
        if choice is not None and choice.get("finish_reason"):
            out.append(ir.Delta("stop", stop_reason=STOP_REASON.get(choice["finish_reason"], "end_turn")))
        return out

    def _content(self, delta: dict[str, Any], out: list[ir.Delta]) -> None:
        thought = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thought, str) and thought:
            out.append(ir.Delta("reasoning", text=thought))
        text = delta.get("content")
        if isinstance(text, str) and text:
            out.append(ir.Delta("text", text=text))
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for position, tc in enumerate(calls):
                if isinstance(tc, dict):
                    self._tool_call(tc, position, out)

    def _tool_call(self, tc: dict[str, Any], position: int, out: list[ir.Delta]) -> None:
        index = tc.get("index")
        index = index if isinstance(index, int) else position  # some servers omit it for whole calls
        fn = tc.get("function")
        fn = fn if isinstance(fn, dict) else {}
        if index not in self._calls:
            self._calls.add(index)
            call_id = tc.get("id") or "call_" + os.urandom(12).hex()
            out.append(ir.Delta("tool_call_start", index=index, id=call_id, name=fn.get("name") or ""))
        args = fn.get("arguments")
        if isinstance(args, str) and args:
            out.append(ir.Delta("tool_args", index=index, text=args))


class StreamEncoder:
    """Deltas -> ``data: {chat.completion.chunk}`` frames, a finish chunk, an optional usage chunk, [DONE]."""

    __slots__ = ("_req", "_id", "_model", "_created", "_head", "_role_sent", "_calls", "_usage", "_finished",
                 "_closed")

    def __init__(self, req: ir.Request) -> None:
        self._req = req
        self._id = "chatcmpl-" + os.urandom(12).hex()
        self._model = req.model
        self._created = int(time.time())
        self._head: bytes | None = None  # the chunk's bytes up to its delta, fixed at the first chunk
        self._role_sent = False
        self._calls: dict[int, int] = {}  # Delta index -> 0-based client index
        self._usage = ir.Usage()
        self._finished = False
        self._closed = False

    def feed(self, delta: ir.Delta) -> list[bytes]:
        kind = delta.kind
        if self._closed:
            return []
        if kind == "text":
            return [self._chunk({"content": delta.text})] if delta.text else []
        if kind == "reasoning":
            return [self._chunk({"reasoning_content": delta.text})] if delta.text else []
        if kind == "tool_call_start":
            return self._tool_call_start(delta)
        if kind == "tool_args":
            n = self._calls.get(delta.index)
            if n is None or not delta.text:
                return []
            return [self._chunk({"tool_calls": [{"index": n, "function": {"arguments": delta.text}}]})]
        if kind == "usage" and delta.usage is not None:
            self._usage = self._usage.merge(delta.usage)
        elif kind == "stop":
            if delta.usage is not None:
                self._usage = self._usage.merge(delta.usage)
            return self._finish(delta.stop_reason)
        elif kind == "start":
            return self._start(delta)
        elif kind == "error":
            return self.fail(delta.error)
        return []

    def close(self) -> list[bytes]:
        if self._closed:
            return []
        out = self._finish(None)
        if self._req.include_usage:
            chunk = {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                     "model": self._model, "choices": [], "usage": render_usage(self._usage)}
            out.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
        out.append(_DONE)
        self._closed = True
        return out

    def fail(self, err: errors.ProxyError) -> list[bytes]:
        """An in-stream error; the stream then ends without [DONE] so clients see a failure."""
        if self._closed:
            return []
        self._closed = True
        return [b"data: " + orjson.dumps(openai_errors.envelope(err)) + b"\n\n"]

    def _start(self, delta: ir.Delta) -> list[bytes]:
        if self._head is not None:
            return []
        self._id = delta.id or self._id
        self._model = delta.model or self._model
        return [self._chunk({"content": ""})]  # the role chunk, sent early for time-to-first-byte

    def _tool_call_start(self, delta: ir.Delta) -> list[bytes]:
        if delta.index in self._calls:
            return []
        n = self._calls[delta.index] = len(self._calls)
        call = {"index": n, "id": delta.id, "type": "function", "function": {"name": delta.name, "arguments": ""}}
        return [self._chunk({"tool_calls": [call]})]

    def _finish(self, stop: ir.StopReason | None) -> list[bytes]:
        if self._finished:
            return []
        self._finished = True
        reason = finish_reason(stop, bool(self._calls))
        return [self._chunk({}, b',"finish_reason":"' + reason.encode() + b'"}]}')]

    def _chunk(self, delta: dict[str, Any], tail: bytes = b',"finish_reason":null}]}') -> bytes:
        if not self._role_sent:
            self._role_sent = True
            delta = {"role": "assistant", **delta}
        if self._head is None:
            head = {"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model}
            self._head = orjson.dumps(head)[:-1] + b',"choices":[{"index":0,"delta":'
        return b"data: " + self._head + orjson.dumps(delta) + tail + b"\n\n"
