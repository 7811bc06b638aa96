"""Gemini ``streamGenerateContent?alt=sse`` <-> Deltas.

Every SSE ``data:`` is a whole GenerateContentResponse; there are no event names and no ``[DONE]``.
The last chunk carries ``finishReason`` and ``usageMetadata``. A functionCall part is always complete in
Gemini, so the encoder holds a call until its arguments are complete and sends it as one part.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from core import errors, ir, sse
from core.dialects.gemini.envelope import error_body
from core.dialects.gemini.names import restore_map
from core.dialects.gemini.response import (
    candidate_parts,
    first_candidate,
    new_call_id,
    stop_from_wire,
    stop_to_wire,
    unwrap,
    usage_from_wire,
    usage_to_wire,
)
from core.dialects.parts import args_object, frame_object
from core.dialects.streamfacts import StreamFacts


class StreamDecoder:
    """Gemini upstream chunks -> Deltas. Sanitised function names come back as the client declared them."""

    __slots__ = ("_names", "_started", "_calls", "_usage")

    def __init__(self, req: ir.Request) -> None:
        self._names = restore_map(req)
        self._started = False
        self._calls = 0  # function calls seen so far: the next call's index
        self._usage: ir.Usage | None = None

    def feed(self, frame: sse.Frame) -> list[ir.Delta]:
        chunk = frame_object(frame, "gemini")
        if isinstance(chunk, list):
            return chunk
        if "error" in chunk:
            return [ir.Delta("error", error=chunk)]  # the executor classifies it
        chunk = unwrap(chunk)
        out: list[ir.Delta] = []
        if not self._started:
            self._started = True
            out.append(ir.Delta("start", id=_str(chunk.get("responseId")) or None,
                                model=_str(chunk.get("modelVersion")) or None))
        self._usage_delta(chunk.get("usageMetadata"), out)  # first, so a client's start event can carry it
        candidate = first_candidate(chunk)
        for part in candidate_parts(candidate):
            if isinstance(part, dict):
                self._part(part, out)
        reason = candidate.get("finishReason")
        if not candidate and isinstance(chunk.get("promptFeedback"), dict) and chunk["promptFeedback"].get("blockReason"):
            reason = "SAFETY"
        if reason:
            out.append(ir.Delta("stop", stop_reason=stop_from_wire(reason, self._calls > 0)))
        return out

    def _part(self, part: dict[str, Any], out: list[ir.Delta]) -> None:
        signature = _str(part.get("thoughtSignature")) or None
        call = part.get("functionCall")
        if isinstance(call, dict):
            name, args, index = _str(call.get("name")), call.get("args"), self._calls
            self._calls += 1
            out.append(ir.Delta("tool_call_start", index=index, id=_str(call.get("id")) or new_call_id(),
                                name=self._names.get(name, name), signature=signature))
            out.append(ir.Delta("tool_args", index=index, text=orjson.dumps(args if isinstance(args, dict) else {}).decode()))
            return
        text = part.get("text")
        if not isinstance(text, str):
            return  # inline images and code execution have no stream Delta
        if part.get("thought") is True:
            if text:
                out.append(ir.Delta("reasoning", text=text))
            if signature:
                out.append(ir.Delta("reasoning", signature=signature))
            return
        if signature:  # the signature closes the thinking before this part, so it goes first
            out.append(ir.Delta("reasoning", signature=signature))
        if text:
            out.append(ir.Delta("text", text=text))

    def _usage_delta(self, meta: Any, out: list[ir.Delta]) -> None:
        if isinstance(meta, dict):
            usage = usage_from_wire(meta)
            if usage != self._usage:  # Gemini repeats the counts on every chunk
                self._usage = usage
                out.append(ir.Delta("usage", usage=usage))


class _Call:
    __slots__ = ("id", "name", "signature", "args")

    def __init__(self, delta: ir.Delta) -> None:
        self.id, self.name, self.signature = delta.id, delta.name or "", delta.signature
        self.args: list[str] = []

    def part(self) -> dict[str, Any]:
        call: dict[str, Any] = {"name": self.name, "args": args_object("".join(self.args))}
        if self.id:
            call = {"id": self.id, **call}
        part: dict[str, Any] = {"functionCall": call}
        if self.signature:
            part["thoughtSignature"] = self.signature
        return part


class StreamEncoder:
    """Deltas -> Gemini SSE chunks for a client: one chunk per text or reasoning delta, calls held until
    complete, and a last chunk with finishReason and usageMetadata."""

    __slots__ = ("_facts", "_calls", "_saw_call", "_done")

    def __init__(self, req: ir.Request) -> None:
        self._facts = StreamFacts(req)
        self._calls: dict[int, _Call] = {}  # Delta index -> call still collecting arguments
        self._saw_call = self._done = False

    def feed(self, delta: ir.Delta) -> list[bytes]:
        if self._done:
            return []
        kind = delta.kind
        if kind == "text":
            return [self._chunk([{"text": delta.text}])] if delta.text else []
        if kind == "reasoning":
            return self._reasoning(delta)
        if kind == "tool_args":
            call = self._calls.get(delta.index)
            if call is not None and delta.text:
                call.args.append(delta.text)
        elif kind == "tool_call_start":
            self._calls[delta.index] = _Call(delta)
            self._saw_call = True
        elif kind == "error":
            return self.fail(delta.error)
        else:
            self._facts.note(delta)
        return []

    def close(self) -> list[bytes]:
        if self._done:
            return []
        self._done = True
        stop = self._facts.stop
        reason = "tool_use" if self._saw_call and stop in (None, "end_turn") else stop
        return [self._chunk([], finish=stop_to_wire(reason))]

    def fail(self, err: Any) -> list[bytes]:
        if self._done:
            return []
        self._done = True
        if not isinstance(err, errors.ProxyError):
            err = errors.UpstreamServerError("stream failed")
        return [sse.encode(orjson.dumps(error_body(err)))]

    def _reasoning(self, delta: ir.Delta) -> list[bytes]:
        if not delta.text and not delta.signature:
            return []
        part: dict[str, Any] = {"text": delta.text, "thought": True}
        if delta.signature:
            part["thoughtSignature"] = delta.signature
        return [self._chunk([part])]

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None = None) -> bytes:
        if self._calls:  # calls are complete once anything else follows them
            parts = [c.part() for c in self._calls.values()] + parts
            self._calls = {}
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        if finish is not None:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        body: dict[str, Any] = {"candidates": [candidate]}
        if finish is not None:
            body["usageMetadata"] = usage_to_wire(self._facts.usage)
        if self._facts.id is None:
            self._facts.id = secrets.token_hex(12)
        body["modelVersion"] = self._facts.model
        body["responseId"] = self._facts.id
        return sse.encode(orjson.dumps(body))


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
