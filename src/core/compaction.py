"""Compaction on every upstream: Codex compacts itself; for any other upstream the proxy asks the routed model
for a summary and answers with one ``compaction`` item carrying it.

Two ways in (both Responses clients): a ``/v1/responses`` turn whose input ends with
``{"type": "compaction_trigger"}`` (Codex CLI's built-in provider, ``remote_compaction_v2``: the answer must hold
exactly one ``compaction`` output item, replayed in later turns), and ``POST /v1/responses/compact``. A Codex
upstream gets both as they are and makes its own encrypted item. Elsewhere the item's ``encrypted_content`` is
our summary, wrapped like a cross-provider signature (base64 of ``cpx1:summary:<text>``, ``core.signatures``):
a later turn expands it back into text for whichever upstream serves it, so it never reaches a provider raw.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from core import errors, ir, sse

if TYPE_CHECKING:
    from core.call import Answer

TRIGGER = "compaction_trigger"
ITEM = "compaction"
_MARK = b"cpx1:summary:"
_PREFIX = "Y3B4MTpzdW1tYXJ5O"  # base64 of every "cpx1:summary:..." begins so
PREAMBLE = "Summary of the earlier part of this conversation (compacted by the proxy):\n\n"
SUMMARY_PROMPT = (
    "Context checkpoint: the conversation above is about to be compacted. Write a handoff summary that lets "
    "the conversation continue without it: the user's goal and requests, decisions and their reasons, what "
    "has been done (files, commands, results), what is still open and the next step. Be concise and "
    "factual; answer with the summary only, and call no tool."
)


def is_trigger(body: dict[str, Any]) -> bool:
    """A Responses body whose input ends with the compaction trigger."""
    items = body.get("input")
    return isinstance(items, list) and bool(items) and isinstance(items[-1], dict) and items[-1].get("type") == TRIGGER


def wrap(summary: str) -> str:
    return base64.b64encode(_MARK + summary.encode()).decode()


def unwrap(value: object) -> str | None:
    """The summary inside an emulated item's ``encrypted_content``; None for anything else (Codex's own)."""
    if not isinstance(value, str) or not value.startswith(_PREFIX):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw[len(_MARK):].decode(errors="replace") if raw.startswith(_MARK) else None


def has_summary(body: dict[str, Any]) -> bool:
    """Whether the input replays an item we made (so the body must be re-rendered, never passed on)."""
    items = body.get("input")
    return isinstance(items, list) and any(
        isinstance(i, dict) and i.get("type") == ITEM and unwrap(i.get("encrypted_content")) is not None
        for i in items)


def item(summary: str, item_id: str) -> dict[str, Any]:
    return {"id": item_id, "type": ITEM, "encrypted_content": wrap(summary)}


def summary_request(req: ir.Request) -> ir.Request:
    """The history plus our request for a summary, non-stream; tools stay declared (Claude refuses tool
    blocks in a history without them) but none may be called."""
    ask = ir.Message("user", (ir.Text(SUMMARY_PROMPT),))
    choice = ir.ToolChoice("none") if req.tools else None
    return replace(req, messages=(*req.messages, ask), stream=False, tool_choice=choice)


Send = Callable[[ir.Request], Awaitable["Answer"]]


async def emulate(req: ir.Request, compact: bool, send: Send) -> Answer:
    """Ask the routed model (through ``send``) for the summary; answer as the client asked: the compact
    endpoint's object, or a Responses turn (stream or not) whose only output is the item."""
    from core.call import Streaming, Whole
    from core.dialects.openai_responses import response as openai_responses

    result = await send(summary_request(req))
    if not isinstance(result, Whole):  # the summary request asks for a whole answer
        await result.release()
        raise errors.UpstreamServerError("the upstream streamed the compaction summary")
    answer = openai_responses.parse_response(orjson.loads(result.body or b"{}"))
    summary = "".join(p.text for p in answer.parts if isinstance(p, ir.Text)).strip()
    if not summary:
        raise errors.UpstreamServerError("the upstream answered the compaction request with no summary")
    usage = result.usage or answer.usage
    rid = "resp_" + os.urandom(12).hex()
    done = item(summary, "cmp_" + rid.removeprefix("resp_"))
    if compact:
        body = {"id": rid, "object": "response.compaction", "created_at": int(time.time()), "output": [done],
                "usage": openai_responses.render_usage(usage)}
        return Whole(orjson.dumps(body), usage)
    final = openai_responses.response_object(req, rid=rid, created=int(time.time()), model=req.model,
                                             status="completed", output=[done], usage=usage)
    if not req.stream:
        return Whole(orjson.dumps(final), usage)
    return Streaming(_events(final, done, usage), _nothing_to_release)


async def _nothing_to_release() -> None:
    """The emulated turn's stream holds no upstream response: the summary was read whole."""


async def _events(final: dict[str, Any], done: dict[str, Any],
                  usage: ir.Usage) -> AsyncGenerator[bytes | ir.Usage, None]:
    """The turn's event sequence: created, in_progress, the item added and done, completed."""
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    shell = {"id": done["id"], "type": ITEM}
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": started}),
        ("response.in_progress", {"response": started}),
        ("response.output_item.added", {"output_index": 0, "item": shell}),
        ("response.output_item.done", {"output_index": 0, "item": done}),
        ("response.completed", {"response": final}),
    ]
    yield b"".join(sse.encode(orjson.dumps({"type": kind, **fields, "sequence_number": seq}), kind)
                   for seq, (kind, fields) in enumerate(events))
    yield usage
