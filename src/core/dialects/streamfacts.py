"""What a stream encoder learns about the whole reply from ``start``, ``usage`` and ``stop`` Deltas.

Claude and Gemini encoders write these facts only at the edges of their streams (Claude's message_start
and message_delta, Gemini's every chunk and last chunk), so both keep them the same way until then.
"""

from __future__ import annotations

from core import ir


class StreamFacts:
    __slots__ = ("id", "model", "usage", "stop")

    def __init__(self, req: ir.Request) -> None:
        self.id: str | None = None  # the upstream's reply id, once a start Delta names one
        self.model = req.model
        self.usage = ir.Usage()
        self.stop: ir.StopReason | None = None

    def note(self, delta: ir.Delta) -> None:
        """Record a start, usage or stop Delta; any other kind is not a fact about the reply."""
        kind = delta.kind
        if kind == "usage" and delta.usage is not None:
            self.usage = self.usage.merge(delta.usage)
        elif kind == "stop":
            self.stop = delta.stop_reason
        elif kind == "start":
            self.id = delta.id or self.id
            self.model = delta.model or self.model
