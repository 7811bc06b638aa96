"""The conversation one Responses WebSocket connection keeps (frame handling without I/O).

A client on ``ws://…/v1/responses`` sends ``response.create`` frames (a full Responses body) and
``response.append`` frames (new input only), and after the first turn may send only the new items with the
``previous_response_id`` of its last answer. Our upstreams keep no server-side state (Codex runs with
``store: false``; Claude, Gemini and chat upstreams have none), so each turn is expanded to the whole input:
the previous turn's input, its output, then the new items (api-surface.md §1.3).
"""

from __future__ import annotations

import os
import time
from typing import Any

from core.errors import BadRequestError

CREATE = "response.create"
APPEND = "response.append"
# Frame fields that steer the connection, never sent upstream.
_LOCAL = ("type", "generate", "previous_response_id", "api_key")


class Conversation:
    """The last turn's full body and its answer; each new turn builds on them."""

    __slots__ = ("body", "output", "response_id")

    def __init__(self) -> None:
        self.body: dict[str, Any] | None = None  # the last turn's request, input expanded
        self.output: list[Any] = []  # the last turn's output items (response.completed)
        self.response_id: str | None = None

    def next_body(self, frame: dict[str, Any]) -> dict[str, Any]:
        """The full Responses body for this frame's turn. Raises BadRequestError for a frame to refuse."""
        kind = frame.get("type")
        if kind == CREATE:
            return self._create(frame)
        if kind == APPEND:
            return self._append(frame)
        raise BadRequestError(f"unsupported websocket message type {kind!r}: send {CREATE} or {APPEND}",
                              param="type")

    def _create(self, frame: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(frame.get("model"), str) or not frame["model"]:
            raise BadRequestError("model is required", param="model")
        body = {k: v for k, v in frame.items() if k not in _LOCAL}
        body["stream"] = True  # every turn streams: its events are the frames
        new = _items(frame.get("input", []))
        previous = frame.get("previous_response_id")
        if previous is not None and previous == self.response_id and self.body is not None:
            new = [*self._history(), *new]
        body["input"] = new
        return body

    def _append(self, frame: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(frame.get("input"), list):
            raise BadRequestError("response.append needs an input array", param="input")
        if self.body is None:
            raise BadRequestError("response.append before any response.create on this connection", param="type")
        return {**self.body, "input": [*self._history(), *frame["input"]]}

    def _history(self) -> list[Any]:
        assert self.body is not None
        return [*self.body["input"], *self.output]

    def record(self, body: dict[str, Any], response: dict[str, Any]) -> None:
        """A turn that completed: the base of the next one."""
        self.body = body
        output = response.get("output")
        self.output = output if isinstance(output, list) else []
        self.response_id = response.get("id") if isinstance(response.get("id"), str) else None

    def warm_up(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """``generate: false`` (Codex's warm-up): answered here, no upstream call. Its input is remembered,
        so the next turn may send only what follows it."""
        rid = "resp_" + os.urandom(12).hex()
        response: dict[str, Any] = {"id": rid, "object": "response", "created_at": int(time.time()), "status": "completed",
                    "model": body.get("model"), "output": [], "error": None, "incomplete_details": None,
                    "usage": {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0},
                              "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0},
                              "total_tokens": 0}}
        self.record(body, response)
        created = {**response, "status": "in_progress", "usage": None}
        return [{"type": "response.created", "response": created, "sequence_number": 0},
                {"type": "response.completed", "response": response, "sequence_number": 1}]


def _items(raw: Any) -> list[Any]:
    """Input as a list of items (a string is one user message)."""
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw}]}]
    if not isinstance(raw, list):
        raise BadRequestError("input: must be a string or an array of items", param="input")
    return raw
