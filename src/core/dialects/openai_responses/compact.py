"""The emulated compaction answer, for upstreams that cannot compact: the routed model's summary of the
history, answered as the compact endpoint's object or as a Responses turn whose only output is the item."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import orjson

from core import compaction, errors, ir, sse
from core.call import Answer, Streaming, Whole
from core.dialects.openai_responses import response as openai_responses

Send = Callable[[ir.Request], Awaitable[Answer]]


async def emulate(req: ir.Request, compact: bool, send: Send) -> Answer:
    """Ask the routed model (through ``send``) for the summary; answer as the client asked: the compact
    endpoint's object, or a Responses turn (stream or not) whose only output is the item."""
    result = await send(compaction.summary_request(req))
    if not isinstance(result, Whole):  # the summary request asks for a whole answer
        await result.release()
        raise errors.UpstreamServerError("the upstream streamed the compaction summary")
    answer = openai_responses.parse_response(orjson.loads(result.body or b"{}"))
    summary = "".join(p.text for p in answer.parts if isinstance(p, ir.Text)).strip()
    if not summary:
        raise errors.UpstreamServerError("the upstream answered the compaction request with no summary")
    usage = result.usage or answer.usage
    rid = "resp_" + os.urandom(12).hex()
    done = compaction.item(summary, "cmp_" + rid.removeprefix("resp_"))
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
    shell = {"id": done["id"], "type": compaction.ITEM}
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
