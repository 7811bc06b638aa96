"""Responses streams: Codex SSE -> Deltas, and Deltas -> the full event sequence a Responses client expects."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import orjson

from core import ir, sse
from core.dialects import toolnames
from core.dialects.openai_responses.response import (
    call_item,
    final_status,
    message_item,
    parse_usage,
    reasoning_item,
    response_object,
    stop_reason,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from core import errors


class StreamDecoder:
    """Codex events -> Deltas. Calls get 0-based indices in arrival order; shortened names are restored."""

    __slots__ = ("_names", "_calls", "_count", "_args_seen", "_text_seen", "_summary_seen")

    def __init__(self, req: ir.Request) -> None:
        self._names = toolnames.restore_map(t.name for t in req.tools if t.raw is None)  # short -> original
        self._calls: dict[str | int, int] = {}  # item id and output_index -> call index
        self._count = 0  # calls announced so far
        self._args_seen: set[int] = set()
        self._text_seen: set[str] = set()  # message items whose text came as deltas
        self._summary_seen: dict[str, int] = {}  # reasoning item -> last summary_index streamed

    def feed(self, frame: sse.Frame) -> list[ir.Delta]:
        data = frame.data
        if not data or data[0] != "{":
            return []
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []
        handler = _HANDLERS.get(event.get("type") or frame.event)
        return handler(self, event) if handler is not None else []

    def _created(self, ev: dict[str, Any]) -> list[ir.Delta]:
        r = ev.get("response") or {}
        return [ir.Delta("start", id=r.get("id"), model=r.get("model"))]

    def _text(self, ev: dict[str, Any]) -> list[ir.Delta]:
        self._text_seen.add(ev.get("item_id", ""))
        return [ir.Delta("text", text=ev["delta"])] if ev.get("delta") else []

    def _summary(self, ev: dict[str, Any]) -> list[ir.Delta]:
        text, item_id = ev.get("delta") or "", ev.get("item_id", "")
        index = ev.get("summary_index", 0)
        last = self._summary_seen.get(item_id)
        if last is not None and index != last:
            text = "\n\n" + text  # summary parts read as paragraphs once flattened
        self._summary_seen[item_id] = index
        return [ir.Delta("reasoning", text=text, item_id=item_id or None)] if text else []

    def _item_added(self, ev: dict[str, Any]) -> list[ir.Delta]:
        item = ev.get("item") or {}
        if item.get("type") != "function_call":
            return []
        return [self._announce(item, ev.get("output_index"))]

    def _announce(self, item: dict[str, Any], output_index: Any) -> ir.Delta:
        index = self._count
        self._count += 1
        self._calls[item.get("id") or ""] = index
        if isinstance(output_index, int):
            self._calls[output_index] = index
        name = str(item.get("name") or "")
        call_id = item.get("call_id") or item.get("id")
        return ir.Delta("tool_call_start", index=index, id=call_id, name=self._names.get(name, name))

    def _call_index(self, ev: dict[str, Any]) -> int | None:
        index = self._calls.get(ev.get("item_id") or "")
        return index if index is not None else self._calls.get(ev.get("output_index", -1))

    def _args_delta(self, ev: dict[str, Any]) -> list[ir.Delta]:
        index = self._call_index(ev)
        if index is None or not ev.get("delta"):
            return []
        self._args_seen.add(index)
        return [ir.Delta("tool_args", index=index, text=ev["delta"])]

    def _args_done(self, ev: dict[str, Any]) -> list[ir.Delta]:
        """Whole arguments, for models that send no deltas (gpt-5.3-codex-spark)."""
        index = self._call_index(ev)
        if index is None or index in self._args_seen or not ev.get("arguments"):
            return []
        self._args_seen.add(index)
        return [ir.Delta("tool_args", index=index, text=ev["arguments"])]

    def _item_done(self, ev: dict[str, Any]) -> list[ir.Delta]:
        item = ev.get("item") or {}
        kind = item.get("type")
        if kind == "function_call":
            return self._call_done(item, ev.get("output_index"))
        if kind == "reasoning":
            return self._reasoning_done(item)
        if kind == "message" and item.get("id") not in self._text_seen:  # text that never came as deltas
            texts = [c.get("text") or "" for c in item.get("content") or () if c.get("type") == "output_text"]
            return [ir.Delta("text", text="".join(texts))] if any(texts) else []
        return []

    def _call_done(self, item: dict[str, Any], output_index: Any) -> list[ir.Delta]:
        out: list[ir.Delta] = []
        index = self._calls.get(item.get("id") or "")
        if index is None:
            out.append(self._announce(item, output_index))
            index = out[0].index
        if index not in self._args_seen and item.get("arguments"):
            self._args_seen.add(index)
            out.append(ir.Delta("tool_args", index=index, text=item["arguments"]))
        return out

    def _reasoning_done(self, item: dict[str, Any]) -> list[ir.Delta]:
        """The encrypted reasoning arrives only here; summaries that never streamed come with it."""
        item_id = item.get("id") or None
        out: list[ir.Delta] = []
        if item_id not in self._summary_seen:
            texts = [s.get("text") or "" for s in item.get("summary") or () if isinstance(s, dict)]
            if any(texts):
                out.append(ir.Delta("reasoning", text="\n\n".join(t for t in texts if t), item_id=item_id))
        if item.get("encrypted_content"):
            out.append(ir.Delta("reasoning", signature=item["encrypted_content"], item_id=item_id))
        return out

    def _finished(self, ev: dict[str, Any]) -> list[ir.Delta]:
        r = ev.get("response") or {}
        out: list[ir.Delta] = []
        if isinstance(r.get("usage"), dict):
            out.append(ir.Delta("usage", usage=parse_usage(r["usage"])))
        out.append(ir.Delta("stop", stop_reason=stop_reason(r, self._count > 0)))
        return out

    def _failed(self, ev: dict[str, Any]) -> list[ir.Delta]:
        return [ir.Delta("error", error=ev)]  # the executor classifies it

    def _error(self, ev: dict[str, Any]) -> list[ir.Delta]:
        return [ir.Delta("error", error=ev)]


_HANDLERS: dict[str | None, Callable[[StreamDecoder, dict[str, Any]], list[ir.Delta]]] = {
    "response.created": StreamDecoder._created,
    "response.output_text.delta": StreamDecoder._text,
    "response.reasoning_summary_text.delta": StreamDecoder._summary,
    "response.reasoning_text.delta": StreamDecoder._summary,  # raw reasoning, from models that expose it
    "response.output_item.added": StreamDecoder._item_added,
    "response.output_item.done": StreamDecoder._item_done,
    "response.function_call_arguments.delta": StreamDecoder._args_delta,
    "response.function_call_arguments.done": StreamDecoder._args_done,
    "response.completed": StreamDecoder._finished,
    "response.done": StreamDecoder._finished,  # the websocket transport's name for completed
    "response.incomplete": StreamDecoder._finished,
    "response.failed": StreamDecoder._failed,
    "error": StreamDecoder._error,
}


class _Item:
    """The output item being streamed (or done, for late arguments)."""

    __slots__ = ("kind", "index", "id", "parts", "call_id", "name", "signature", "upstream_id", "part_open")

    def __init__(self, kind: str, index: int, item_id: str) -> None:
        self.kind = kind
        self.index = index
        self.id = item_id
        self.parts: list[str] = []  # text pieces, summary pieces or argument pieces
        self.call_id = ""
        self.name = ""
        self.signature: str | None = None
        self.upstream_id: str | None = None
        self.part_open = False

    def text(self) -> str:
        return "".join(self.parts)


# Codes a Responses client understands in an error event, by status (api-surface.md §4.2).
_STREAM_CODES = {401: "invalid_api_key", 403: "insufficient_quota", 404: "model_not_found", 408: "request_timeout",
                 429: "rate_limit_exceeded"}


class StreamEncoder:
    """Deltas -> ``event: <type>\\ndata: <json>`` frames with ``sequence_number``, ending in the full response."""

    __slots__ = ("_req", "_seq", "_rid", "_created", "_model", "_started", "_closed", "_cur", "_calls",
                 "_output", "_usage", "_stop")

    def __init__(self, req: ir.Request) -> None:
        self._req = req
        self._seq = 0
        self._rid = "resp_" + os.urandom(12).hex()
        self._created = int(time.time())
        self._model = req.model
        self._started = False
        self._closed = False
        self._cur: _Item | None = None
        self._calls: dict[int, _Item] = {}
        self._output: list[dict[str, Any]] = []  # finished items
        self._usage = ir.Usage()
        self._stop: ir.StopReason | None = None

    def feed(self, delta: ir.Delta) -> list[bytes]:
        if self._closed:
            return []
        out: list[bytes] = []
        kind = delta.kind
        if kind == "start":
            if not self._started:
                self._rid = delta.id or self._rid
                self._model = delta.model or self._model
        elif kind == "usage":
            self._usage = self._usage.merge(delta.usage or ir.Usage())
            return out
        elif kind == "stop":
            self._stop = delta.stop_reason
            self._usage = self._usage.merge(delta.usage or ir.Usage())
            return out
        elif kind == "error":
            return self.fail(delta.error)
        self._begin(out)
        if kind == "text":
            self._text(delta.text, out)
        elif kind == "reasoning":
            self._reasoning(delta, out)
        elif kind == "tool_call_start":
            self._tool_call_start(delta, out)
        elif kind == "tool_args":
            self._tool_args(delta, out)
        return out

    def close(self) -> list[bytes]:
        if self._closed:
            return []
        out: list[bytes] = []
        self._begin(out)
        self._close_item(out)
        status = final_status(self._stop)
        response = self._response(status, self._output, self._usage)
        self._emit(out, "response.completed" if status == "completed" else "response.incomplete",
                   {"response": response})
        self._closed = True
        return out

    def fail(self, err: errors.ProxyError) -> list[bytes]:
        """An ``error`` event, then ``response.failed`` (what Codex CLI acts on)."""
        if self._closed:
            return []
        self._closed = True
        code = err.code or _STREAM_CODES.get(err.status) or (
            "internal_server_error" if err.status >= 500 else "invalid_request_error")
        out: list[bytes] = []
        self._emit(out, "error", {"code": code, "message": err.message, "param": err.param})
        response = self._response("failed", self._output, None)
        # The response object's documented code for a server fault is server_error (SDK literal set).
        response["error"] = {"code": "server_error" if code == "internal_server_error" else code,
                             "message": err.message}
        self._emit(out, "response.failed", {"response": response})
        return out

    # ---- items ----

    def _text(self, text: str, out: list[bytes]) -> None:
        item = self._cur
        if item is None or item.kind != "message":
            item = self._open(out, "message", "msg")
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            self._emit(out, "response.content_part.added",
                       {"item_id": item.id, "output_index": item.index, "content_index": 0, "part": part})
        if text:
            item.parts.append(text)
            self._emit(out, "response.output_text.delta", {"item_id": item.id, "output_index": item.index,
                                                            "content_index": 0, "delta": text, "logprobs": []})

    def _reasoning(self, delta: ir.Delta, out: list[bytes]) -> None:
        item = self._cur
        new_item = delta.item_id is not None and item is not None and item.upstream_id not in (None, delta.item_id)
        if item is None or item.kind != "reasoning" or new_item or (delta.text and item.signature):
            item = self._open(out, "reasoning", "rs", delta.item_id)
            item.upstream_id = delta.item_id
        if delta.text:
            if not item.part_open:
                item.part_open = True
                self._emit(out, "response.reasoning_summary_part.added",
                           {"item_id": item.id, "output_index": item.index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""}})
            item.parts.append(delta.text)
            self._emit(out, "response.reasoning_summary_text.delta",
                       {"item_id": item.id, "output_index": item.index, "summary_index": 0, "delta": delta.text})
        if delta.signature:
            item.signature = delta.signature

    def _tool_call_start(self, delta: ir.Delta, out: list[bytes]) -> None:
        item = self._open(out, "function_call", "fc", added=False)
        item.call_id = delta.id or "call_" + os.urandom(12).hex()
        item.name = delta.name or ""
        self._calls[delta.index] = item
        self._emit(out, "response.output_item.added", {
            "output_index": item.index, "item": call_item(item.id, item.call_id, item.name, "", "in_progress")})

    def _tool_args(self, delta: ir.Delta, out: list[bytes]) -> None:
        item = self._calls.get(delta.index)
        if item is None or not delta.text:
            return
        item.parts.append(delta.text)
        if item is self._cur:
            self._emit(out, "response.function_call_arguments.delta",
                       {"item_id": item.id, "output_index": item.index, "delta": delta.text})
        else:  # the call's item is already done: keep the final output right at least
            self._output[item.index]["arguments"] = item.text()

    def _open(self, out: list[bytes], kind: str, prefix: str, item_id: str | None = None,
              added: bool = True) -> _Item:
        self._close_item(out)
        index = len(self._output)
        item = self._cur = _Item(kind, index, item_id or f"{prefix}_{self._rid.removeprefix('resp_')}_{index}")
        if added and kind == "message":
            shell: dict[str, Any] = {"id": item.id, "type": "message", "status": "in_progress",
                                     "role": "assistant", "content": []}
            self._emit(out, "response.output_item.added", {"output_index": index, "item": shell})
        elif added:
            self._emit(out, "response.output_item.added",
                       {"output_index": index, "item": {"id": item.id, "type": kind, "summary": []}})
        return item

    def _close_item(self, out: list[bytes]) -> None:
        item, self._cur = self._cur, None
        if item is None:
            return
        where = {"item_id": item.id, "output_index": item.index}
        text = item.text()
        if item.kind == "message":
            self._emit(out, "response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []})
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
            self._emit(out, "response.content_part.done", {**where, "content_index": 0, "part": part})
            done = message_item(item.id, text)
        elif item.kind == "reasoning":
            if item.part_open:
                self._emit(out, "response.reasoning_summary_text.done", {**where, "summary_index": 0, "text": text})
                self._emit(out, "response.reasoning_summary_part.done",
                           {**where, "summary_index": 0, "part": {"type": "summary_text", "text": text}})
            done = reasoning_item(item.id, [text] if text else [], item.signature)
        else:
            self._emit(out, "response.function_call_arguments.done", {**where, "name": item.name, "arguments": text})
            done = call_item(item.id, item.call_id, item.name, text)
        self._output.append(done)
        self._emit(out, "response.output_item.done", {"output_index": item.index, "item": done})

    # ---- lifecycle and framing ----

    def _begin(self, out: list[bytes]) -> None:
        if self._started:
            return
        self._started = True
        self._emit(out, "response.created", {"response": self._response("in_progress", [], None)})
        self._emit(out, "response.in_progress", {"response": self._response("in_progress", [], None)})

    def _response(self, status: str, output: list[dict[str, Any]], usage: ir.Usage | None) -> dict[str, Any]:
        return response_object(self._req, rid=self._rid, created=self._created, model=self._model, status=status,
                               output=output, usage=usage, stop=self._stop)

    def _emit(self, out: list[bytes], kind: str, fields: dict[str, Any]) -> None:
        event = {"type": kind, **fields, "sequence_number": self._seq}
        self._seq += 1
        out.append(sse.encode(orjson.dumps(event), kind))
