"""Deltas -> one Response: serves a non-stream client from an upstream that only streams (Codex)."""

from __future__ import annotations

from typing import Any

from core import ir


class Assembler:
    """Accumulates stream Deltas; ``result()`` gives the finished Response."""

    def __init__(self, model: str) -> None:
        self.id = ""
        self.model = model
        self.parts: list[list[Any]] = []  # [kind, text/args, extra...] in output order
        self.calls: dict[int, list[Any]] = {}
        self.usage = ir.Usage()
        self.stop: ir.StopReason | None = None
        self.error: Exception | None = None
        self.output_seen = False

    def feed(self, d: ir.Delta) -> None:
        kind = d.kind
        if kind == "text" or kind == "reasoning":
            self.output_seen = True
            last = self.parts[-1] if self.parts else None
            if last is not None and last[0] == kind and not (kind == "reasoning" and last[2] and d.text):
                last[1] += d.text
                if d.signature:
                    last[2] = d.signature
                if d.item_id:
                    last[3] = d.item_id
            else:
                self.parts.append([kind, d.text, d.signature, d.item_id])
        elif kind == "tool_call_start":
            self.output_seen = True
            entry = ["tool", "", d.id or f"call_{d.index}", d.name or "", d.signature]
            self.calls[d.index] = entry
            self.parts.append(entry)
        elif kind == "tool_args":
            if d.index in self.calls:
                self.calls[d.index][1] += d.text
        elif kind == "usage" and d.usage is not None:
            self.usage = self.usage.merge(d.usage)
        elif kind == "stop":
            self.stop = d.stop_reason
            if d.usage is not None:
                self.usage = self.usage.merge(d.usage)
        elif kind == "start":
            self.id = d.id or self.id
            self.model = d.model or self.model
        elif kind == "error":
            self.error = d.error

    def result(self, origin: ir.Dialect) -> ir.Response:
        parts: list[ir.Part] = []
        for entry in self.parts:
            if entry[0] == "text":
                parts.append(ir.Text(entry[1]))
            elif entry[0] == "reasoning":
                parts.append(ir.Reasoning(entry[1], signature=entry[2], origin=origin, item_id=entry[3]))
            else:
                parts.append(ir.ToolCall(entry[2], entry[3], entry[1] or "{}", signature=entry[4], origin=origin))
        stop = self.stop or ("tool_use" if self.calls else "end_turn")
        return ir.Response(self.id, self.model, tuple(parts), stop, self.usage)
