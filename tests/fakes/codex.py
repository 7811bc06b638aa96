"""The Codex backend's wire format: ``POST /backend-api/codex/responses``, SSE only, Responses events."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.reply import (
    REASONING_TEXT,
    Ask,
    Reply,
    error_envelope,
    event,
    openai_error_type,
    pieces,
    text_of,
)

# Fields the real backend refuses with 400 {"detail": "Unsupported parameter: <name>"}.
UNSUPPORTED = ("max_output_tokens", "temperature", "top_p", "stream_options", "previous_response_id",
               "safety_identifier", "truncation", "context_management", "user")


def ask(body: dict[str, Any]) -> Ask:
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    text, tool_result = "", False
    for item in reversed(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call_output":
            text, tool_result = str(item.get("output", "")), True
            break
        if item.get("role") == "user":
            text = text_of(item.get("content"), "input_text")
            break
    names = tuple(t["name"] for t in body.get("tools") or [] if t.get("type") == "function" and "name" in t)
    return Ask(str(body.get("model", "")), text, names, tool_result, reasoning="reasoning" in body, stream=True)


def refusal(body: dict[str, Any]) -> Reply | None:
    """The backend's own checks: SSE only, never stored, instructions required, no public-API extras."""
    if body.get("stream") is not True:
        return Reply(400, {"detail": "Stream must be set to true"})
    if body.get("store") is not False:
        return Reply(400, {"detail": "Store must be set to false"})
    if "instructions" not in body:
        return Reply(400, {"detail": "Instructions are required"})
    for name in UNSUPPORTED:
        if name in body:
            return Reply(400, {"detail": f"Unsupported parameter: {name}"})
    return None


def reply(body: dict[str, Any]) -> Reply:
    refused = refusal(body)
    if refused is not None:
        return refused
    a = ask(body)
    stream = _Stream(a)
    output: list[dict[str, Any]] = []
    if _triggered(body):  # remote compaction: exactly one compaction item, nothing else
        output.append(stream.compaction(0))
        stream.add("response.completed", response=stream.response("completed", output, _usage(a)))
        return Reply(frames=stream.frames)
    if a.reasoning:
        output.append(stream.reasoning(len(output)))
    calls = a.calls
    if calls:
        output.extend(stream.function_call(len(output), i, name) for i, name in enumerate(calls))
    else:
        output.append(stream.message(len(output)))
    stream.add("response.completed", response=stream.response("completed", output, _usage(a)))
    return Reply(frames=stream.frames)


def compact(body: dict[str, Any]) -> Reply:
    """``POST /responses/compact``: one JSON object whose output is the user messages kept plus one
    compaction item (what the real backend answers)."""
    if "stream" in body:
        return Reply(400, {"detail": "Unsupported parameter: stream"})
    items = body.get("input") if isinstance(body.get("input"), list) else []
    kept = [i for i in items if isinstance(i, dict) and i.get("role") == "user"]
    a = ask(body) if items else Ask(str(body.get("model", "")), "")
    return Reply(json={"id": f"resp_fake{time.monotonic_ns()}", "object": "response.compaction",
                       "created_at": int(time.time()), "output": [*kept, compaction_item(len(items))],
                       "usage": _usage(a)})


def compaction_item(n: int) -> dict[str, Any]:
    """Codex's opaque item; the content names how many input items it stands for."""
    return {"id": f"cmp_fake{n}", "type": "compaction", "encrypted_content": f"enc-compaction-fake-{n}"}


def _triggered(body: dict[str, Any]) -> bool:
    items = body.get("input")
    return isinstance(items, list) and bool(items) and isinstance(items[-1], dict) \
        and items[-1].get("type") == "compaction_trigger"


def failure(status: int, retry_after: float | None) -> dict[str, Any]:
    if status == 429:
        error = {"type": "usage_limit_reached", "message": "The usage limit has been reached", "plan_type": "plus"}
        if retry_after is not None:
            error["resets_in_seconds"] = retry_after
        return {"error": error}
    return error_envelope(status, f"fake upstream failure {status}", openai_error_type(status))


def error_event(body: dict[str, Any], code: str | None, error: dict[str, Any] | None = None) -> list[bytes]:
    """``response.created``, ``response.in_progress``, then ``response.failed`` (carrying ``error`` when given)
    before any output."""
    stream = _Stream(ask(body))
    error = error or {"code": code or "server_error", "message": "fake upstream error event"}
    stream.add("response.failed", response={**stream.response("failed", [], None), "error": error})
    return stream.frames


def _usage(a: Ask) -> dict[str, Any]:
    c = a.counts
    return {"input_tokens": c.input, "input_tokens_details": {"cached_tokens": c.cached},
            "output_tokens": c.output, "output_tokens_details": {"reasoning_tokens": c.reasoning},
            "total_tokens": c.input + c.output}


class _Stream:
    """Builds one response's events in order, numbering them as the backend does."""

    def __init__(self, a: Ask) -> None:
        self.ask = a
        self.id = f"resp_fake{time.monotonic_ns()}"
        self.created = int(time.time())
        self.frames: list[bytes] = []
        self.add("response.created", response=self.response("in_progress", [], None))
        self.add("response.in_progress", response=self.response("in_progress", [], None))

    def add(self, kind: str, **fields: Any) -> None:
        self.frames.append(event(kind, {"type": kind, "sequence_number": len(self.frames), **fields}))

    def response(self, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
        return {"id": self.id, "object": "response", "created_at": self.created, "status": status,
                "model": self.ask.model, "output": output, "usage": usage}

    def reasoning(self, index: int) -> dict[str, Any]:
        item_id = f"rs_fake{index}"
        self.add("response.output_item.added", output_index=index,
                 item={"id": item_id, "type": "reasoning", "summary": []})
        at = {"item_id": item_id, "output_index": index, "summary_index": 0}
        self.add("response.reasoning_summary_part.added", **at, part={"type": "summary_text", "text": ""})
        for piece in pieces(REASONING_TEXT, 2):
            self.add("response.reasoning_summary_text.delta", **at, delta=piece)
        self.add("response.reasoning_summary_text.done", **at, text=REASONING_TEXT)
        self.add("response.reasoning_summary_part.done", **at, part={"type": "summary_text", "text": REASONING_TEXT})
        item = {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": REASONING_TEXT}],
                "encrypted_content": f"enc-fake-{self.ask.model}"}
        self.add("response.output_item.done", output_index=index, item=item)
        return item

    def compaction(self, index: int) -> dict[str, Any]:
        item = compaction_item(len(self.ask.text))
        self.add("response.output_item.added", output_index=index, item={"id": item["id"], "type": "compaction"})
        self.add("response.output_item.done", output_index=index, item=item)
        return item

    def message(self, index: int) -> dict[str, Any]:
        item_id, text = f"msg_fake{index}", self.ask.answer
        self.add("response.output_item.added", output_index=index,
                 item={"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []})
        at = {"item_id": item_id, "output_index": index, "content_index": 0}
        self.add("response.content_part.added", **at, part={"type": "output_text", "text": "", "annotations": []})
        for piece in pieces(text):
            self.add("response.output_text.delta", **at, delta=piece)
        self.add("response.output_text.done", **at, text=text)
        part = {"type": "output_text", "text": text, "annotations": []}
        self.add("response.content_part.done", **at, part=part)
        item = {"id": item_id, "type": "message", "status": "completed", "role": "assistant", "content": [part]}
        self.add("response.output_item.done", output_index=index, item=item)
        return item

    def function_call(self, index: int, call: int, name: str) -> dict[str, Any]:
        item_id, args = f"fc_fake{index}", self.ask.arguments(call)
        item = {"id": item_id, "type": "function_call", "status": "in_progress", "call_id": f"call_fake{call}",
                "name": name, "arguments": ""}
        self.add("response.output_item.added", output_index=index, item=item)
        for piece in pieces(args, 2):
            self.add("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=piece)
        self.add("response.function_call_arguments.done", item_id=item_id, output_index=index, arguments=args)
        item = {**item, "status": "completed", "arguments": args}
        self.add("response.output_item.done", output_index=index, item=item)
        return item
