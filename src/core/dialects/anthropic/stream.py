"""Claude Messages SSE <-> Deltas.

The encoder writes ``event: <type>\\ndata: <json>\\n\\n`` frames in Claude's order::

    message_start
    (content_block_start, content_block_delta*, content_block_stop)*   blocks indexed 0, 1, ...
    message_delta   (stop_reason, usage)
    message_stop

``message_start`` waits for the first content so it can carry the prompt usage an upstream reports at
the start of its own stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from core import errors, ir, sse
from core.dialects.anthropic.envelope import error_body
from core.dialects.anthropic.names import restore_map
from core.dialects.anthropic.response import (
    new_message_id,
    stop_from_wire,
    stop_to_wire,
    usage_from_wire,
    usage_to_wire,
)
from core.dialects.anthropic.upstream import tool_id
from core.dialects.parts import frame_object
from core.dialects.streamfacts import StreamFacts

if TYPE_CHECKING:
    from collections.abc import Callable

_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


class StreamDecoder:
    """Claude upstream SSE frames -> Deltas. Text and reasoning deltas carry Claude's block index; tool
    names renamed for Claude come back as the client declared them."""

    __slots__ = ("_names", "_tool_of_block", "_usage")

    def __init__(self, req: ir.Request) -> None:
        self._names = restore_map(req)
        self._tool_of_block: dict[int, int] = {}  # Claude block index -> 0-based tool call index
        self._usage: dict[str, int] = {}  # latest wire counts; message_delta refines message_start

    def feed(self, frame: sse.Frame) -> list[ir.Delta]:
        event = frame_object(frame, "anthropic")
        if isinstance(event, list):
            return event
        handle = _DECODE.get(event.get("type"))
        return handle(self, event) if handle is not None else []  # ping, message_stop, unknown

    def _message_start(self, event: dict[str, Any]) -> list[ir.Delta]:
        message = event.get("message")
        if not isinstance(message, dict):
            message = {}
        start = ir.Delta("start", id=_str(message.get("id")) or None, model=_str(message.get("model")) or None)
        return [start, *self._usage_delta(message.get("usage"))]

    def _block_start(self, event: dict[str, Any]) -> list[ir.Delta]:
        block, index = event.get("content_block"), _int(event.get("index"))
        if not isinstance(block, dict):
            return []
        kind = block.get("type")
        if kind == "tool_use":
            call = self._tool_of_block[index] = len(self._tool_of_block)
            name = _str(block.get("name"))
            out = [ir.Delta("tool_call_start", index=call, id=_str(block.get("id")), name=self._names.get(name, name))]
            if isinstance(block.get("input"), dict) and block["input"]:
                out.append(ir.Delta("tool_args", text=orjson.dumps(block["input"]).decode(), index=call))
            return out
        if kind == "text" and block.get("text"):
            return [ir.Delta("text", text=_str(block["text"]), index=index)]
        if kind == "thinking" and (block.get("thinking") or block.get("signature")):
            return [ir.Delta("reasoning", text=_str(block.get("thinking")), index=index,
                             signature=_str(block.get("signature")) or None)]
        return []  # redacted_thinking has no neutral stream form; server tool blocks are Claude-only

    def _block_delta(self, event: dict[str, Any]) -> list[ir.Delta]:
        delta, index = event.get("delta"), _int(event.get("index"))
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta":
            return [ir.Delta("text", text=_str(delta.get("text")), index=index)]
        if kind == "thinking_delta":
            return [ir.Delta("reasoning", text=_str(delta.get("thinking")), index=index)]
        if kind == "signature_delta":
            return [ir.Delta("reasoning", signature=_str(delta.get("signature")), index=index)]
        if kind == "input_json_delta" and delta.get("partial_json") and index in self._tool_of_block:
            return [ir.Delta("tool_args", text=_str(delta["partial_json"]), index=self._tool_of_block[index])]
        return []

    def _message_delta(self, event: dict[str, Any]) -> list[ir.Delta]:
        out = self._usage_delta(event.get("usage"))
        delta = event.get("delta")
        if isinstance(delta, dict) and delta.get("stop_reason"):
            out.append(ir.Delta("stop", stop_reason=stop_from_wire(delta["stop_reason"])))
        return out

    def _error(self, event: dict[str, Any]) -> list[ir.Delta]:
        return [ir.Delta("error", error=event)]  # the executor classifies it

    def _usage_delta(self, usage: Any) -> list[ir.Delta]:
        if not isinstance(usage, dict):
            return []
        for key in _USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, int):
                self._usage[key] = value
        return [ir.Delta("usage", usage=usage_from_wire(self._usage))]


_DECODE: dict[Any, Callable[[StreamDecoder, dict[str, Any]], list[ir.Delta]]] = {
    "message_start": StreamDecoder._message_start,
    "content_block_start": StreamDecoder._block_start,
    "content_block_delta": StreamDecoder._block_delta,
    "message_delta": StreamDecoder._message_delta,
    "error": StreamDecoder._error,
}


class StreamEncoder:
    """Deltas -> Claude SSE for a client. A new block opens when the kind changes, when a new tool call
    starts, or when thinking text follows a signed thinking block."""

    __slots__ = ("_facts", "_started", "_done", "_index", "_open", "_signed", "_tool", "_saw_tool")

    def __init__(self, req: ir.Request) -> None:
        self._facts = StreamFacts(req)
        self._started = self._done = self._signed = self._saw_tool = False
        self._index = -1  # index of the newest block
        self._open: str | None = None  # "text" | "thinking" | "tool_use"
        self._tool: int | None = None  # Delta index of the open tool call

    def feed(self, delta: ir.Delta) -> list[bytes]:
        if self._done:
            return []
        kind = delta.kind
        if kind == "text":
            return self._text(delta.text) if delta.text else []
        if kind == "reasoning":
            return self._reasoning(delta)
        if kind == "tool_args":
            if delta.text and self._open == "tool_use" and delta.index == self._tool:
                return [self._delta({"type": "input_json_delta", "partial_json": delta.text})]
            return []
        if kind == "tool_call_start":
            return self._tool_start(delta)
        if kind == "error":
            return self.fail(delta.error)
        self._facts.note(delta)
        return []

    def close(self) -> list[bytes]:
        if self._done:
            return []
        out = self._begin([])
        self._end_block(out)
        stop = stop_to_wire(self._facts.stop, self._saw_tool)
        out.append(_frame("message_delta", {"type": "message_delta",
                                            "delta": {"stop_reason": stop, "stop_sequence": None},
                                            "usage": usage_to_wire(self._facts.usage)}))
        out.append(_frame("message_stop", {"type": "message_stop"}))
        self._done = True
        return out

    def fail(self, err: Any) -> list[bytes]:
        if self._done:
            return []
        self._done = True
        if not isinstance(err, errors.ProxyError):
            err = errors.UpstreamServerError("stream failed")
        return [_frame("error", error_body(err))]

    def _text(self, text: str) -> list[bytes]:
        out = self._begin([])
        if self._open != "text":
            self._open_block(out, "text", {"type": "text", "text": ""})
        out.append(self._delta({"type": "text_delta", "text": text}))
        return out

    def _reasoning(self, delta: ir.Delta) -> list[bytes]:
        out: list[bytes] = []
        if delta.text:
            self._begin(out)
            if self._open != "thinking" or self._signed:
                self._open_block(out, "thinking", {"type": "thinking", "thinking": "", "signature": ""})
            out.append(self._delta({"type": "thinking_delta", "thinking": delta.text}))
        if delta.signature and self._open == "thinking" and not self._signed:
            out.append(self._delta({"type": "signature_delta", "signature": delta.signature}))
            self._signed = True
        return out  # a signature with no thinking block open has nowhere to go in Claude's format

    def _tool_start(self, delta: ir.Delta) -> list[bytes]:
        out = self._begin([])
        block = {"type": "tool_use", "id": tool_id(delta.id or ""), "name": delta.name or "", "input": {}}
        self._open_block(out, "tool_use", block)
        self._tool = delta.index
        self._saw_tool = True
        return out

    def _begin(self, out: list[bytes]) -> list[bytes]:
        if not self._started:
            self._started = True
            out.append(_frame("message_start", {"type": "message_start", "message": {
                "id": self._facts.id or new_message_id(),
                "type": "message",
                "role": "assistant",
                "model": self._facts.model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage_to_wire(self._facts.usage, output_tokens=0),
            }}))
        return out

    def _open_block(self, out: list[bytes], kind: str, block: dict[str, Any]) -> None:
        self._end_block(out)
        self._index += 1
        self._open = kind
        self._signed = False
        out.append(_frame("content_block_start",
                          {"type": "content_block_start", "index": self._index, "content_block": block}))

    def _end_block(self, out: list[bytes]) -> None:
        if self._open is not None:
            out.append(_frame("content_block_stop", {"type": "content_block_stop", "index": self._index}))
            self._open = None

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return _frame("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})


def _frame(event: str, payload: dict[str, Any]) -> bytes:
    return sse.encode(orjson.dumps(payload), event)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
