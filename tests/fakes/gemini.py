"""The Gemini wire format: ``POST /v1beta/models/{model}:generateContent|streamGenerateContent|countTokens``."""

from __future__ import annotations

import time
from typing import Any

import orjson
from tests.fakes.reply import REASONING_TEXT, Ask, Reply, pieces

_STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
             429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def ask(model: str, body: dict[str, Any], *, stream: bool) -> Ask:
    text, tool_result = "", False
    contents = body.get("contents")
    for content in reversed(contents if isinstance(contents, list) else []):
        if not isinstance(content, dict) or content.get("role", "user") != "user":
            continue
        parts = [p for p in content.get("parts") or [] if isinstance(p, dict)]
        responses = [p["functionResponse"] for p in parts if isinstance(p.get("functionResponse"), dict)]
        if responses:
            text, tool_result = orjson.dumps(responses[-1].get("response")).decode(), True
        else:
            text = "".join(str(p.get("text", "")) for p in parts)
        break
    names = tuple(d["name"] for t in body.get("tools") or [] if isinstance(t, dict)
                  for d in t.get("functionDeclarations") or [] if isinstance(d, dict) and "name" in d)
    thinking = ((body.get("generationConfig") or {}).get("thinkingConfig") or {}).get("includeThoughts") is True
    return Ask(model, text, names, tool_result, thinking, stream)


def reply(model: str, method: str, body: dict[str, Any], *, sse: bool = True) -> Reply:
    """``sse`` False answers streamGenerateContent as the API does without ``alt=sse``: one JSON array."""
    if method == "countTokens":
        return Reply(json={"totalTokens": ask(model, _counted(body), stream=False).counts.input})
    if not isinstance(body.get("contents"), list) or not body["contents"]:
        return Reply(400, failure(400, None, "* GenerateContentRequest.contents: contents is not specified"))
    a = ask(model, body, stream=method == "streamGenerateContent")
    chunks = _chunks(a)
    if not a.stream:
        parts = [part for chunk in chunks for part in chunk["candidates"][0]["content"]["parts"]]
        final = chunks[-1]
        final["candidates"][0]["content"]["parts"] = parts
        return Reply(json=final)
    if not sse:
        return Reply(json=chunks)
    return Reply(frames=[b"data: " + orjson.dumps(chunk) + b"\r\n\r\n" for chunk in chunks])


def failure(status: int, retry_after: float | None, message: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message or f"fake upstream failure {status}",
                             "status": _STATUSES.get(status, "UNKNOWN")}
    if retry_after is not None:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"}]
    return {"error": error}


def error_event(body: dict[str, Any], code: str | None, error: dict[str, Any] | None = None) -> list[bytes]:
    status = code or "UNAVAILABLE"
    number = next((n for n, s in _STATUSES.items() if s == status), 503)
    error = error or {"code": number, "message": "fake upstream error event", "status": status}
    return [b"data: " + orjson.dumps({"error": error}) + b"\r\n\r\n"]


def _counted(body: dict[str, Any]) -> dict[str, Any]:
    request = body.get("generateContentRequest")
    return request if isinstance(request, dict) else body


def _chunks(a: Ask) -> list[dict[str, Any]]:
    parts: list[list[dict[str, Any]]] = []
    if a.reasoning:
        parts.append([{"text": REASONING_TEXT, "thought": True}])
    calls = a.calls
    if calls:
        parts.append([{"functionCall": {"name": name, "args": {"index": i, "query": a.text}},
                       **({"thoughtSignature": f"sig-fake-{a.model}"} if i == 0 else {})}
                      for i, name in enumerate(calls)])
    else:
        texts = pieces(a.answer) if a.stream else [a.answer]
        parts.extend([{"text": t}] for t in texts)
        parts[-len(texts)][0]["thoughtSignature"] = f"sig-fake-{a.model}"
    response_id = f"fake{time.monotonic_ns()}"
    chunks = [_chunk(a, p, response_id) for p in parts]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    chunks[-1]["usageMetadata"] = _usage(a, final=True)
    return chunks


def _chunk(a: Ask, parts: list[dict[str, Any]], response_id: str) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "usageMetadata": _usage(a, final=False), "modelVersion": a.model, "responseId": response_id}


def _usage(a: Ask, *, final: bool) -> dict[str, Any]:
    c = a.counts
    output = c.output - c.reasoning if final else 0
    usage = {"promptTokenCount": c.input, "candidatesTokenCount": output, "cachedContentTokenCount": c.cached,
             "totalTokenCount": c.input + (c.output if final else 0)}
    if a.reasoning and final:
        usage["thoughtsTokenCount"] = c.reasoning
    return usage
