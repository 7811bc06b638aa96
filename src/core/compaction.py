"""Compaction on every upstream: Codex compacts itself; for any other upstream the proxy asks the routed model
for a summary and answers with one ``compaction`` item carrying it.

Two ways in (both Responses clients): a ``/v1/responses`` turn whose input ends with
``{"type": "compaction_trigger"}`` (Codex CLI's built-in provider, ``remote_compaction_v2``: the answer must hold
exactly one ``compaction`` output item, replayed in later turns), and ``POST /v1/responses/compact``. A Codex
upstream gets both as they are and makes its own encrypted item. Elsewhere the item's ``encrypted_content`` is
our summary, wrapped like a cross-provider signature (base64 of ``cpx1:summary:<text>``, ``core.signatures``):
a later turn expands it back into text for whichever upstream serves it, so it never reaches a provider raw.

This module is the dialect-neutral part (the trigger, the item's format, the summary request); answering
as a Responses turn is the Responses dialect's (``core.dialects.openai_responses.compact``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import Any

from core import ir

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
