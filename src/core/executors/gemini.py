"""Gemini: the Generative Language API (AI Studio) with an API key; the model travels in the URL.

Reference: claude-gemini-upstream.md §2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import orjson

from core.executors import base, transport

if TYPE_CHECKING:
    from core import ir
    from core.credentials import Credential

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"


class GeminiExecutor(base.Defaults):
    kind: ClassVar[ir.UpstreamKind] = "gemini"
    counts_tokens: ClassVar[bool] = True  # has a count-tokens endpoint
    keys_sessions: ClassVar[bool] = False  # requests carry a continuity key
    dialect: ClassVar[ir.Dialect] = "gemini"

    def finalize(self, body: dict[str, Any], req: ir.Request, ctx: base.CallContext) -> dict[str, Any]:
        body.pop("model", None)  # the URL names the model; the API refuses it in the body
        body.pop("session_id", None)
        if _unnamed_response(body.get("contents")):
            body["contents"] = _named_responses(body["contents"])
        if ctx.count_tokens and set(body) - {"contents", "generateContentRequest"}:
            # countTokens takes bare contents, or a whole request (system, tools) under generateContentRequest
            request = {key: value for key, value in body.items() if key != "generateContentRequest"}
            return {"generateContentRequest": {"model": f"models/{ctx.upstream_model}", **request}}
        return body

    def build(self, body: dict[str, Any], req: ir.Request, cred: Credential,
              ctx: base.CallContext) -> transport.UpstreamRequest:
        base_url = (cred.base_url or DEFAULT_BASE_URL).rstrip("/")
        if ctx.count_tokens:
            method = "countTokens"
        else:
            method = "streamGenerateContent?alt=sse" if ctx.stream else "generateContent"
        url = f"{base_url}/{API_VERSION}/models/{quote(ctx.upstream_model, safe='.-_')}:{method}"
        headers = {"content-type": "application/json"}
        if cred.api_key:
            headers["x-goog-api-key"] = cred.api_key
        else:
            headers["authorization"] = f"Bearer {cred.access_token or ''}"
        headers.update((name.lower(), value) for name, value in cred.headers.items())
        return transport.UpstreamRequest("POST", url, headers, orjson.dumps(body), stream=ctx.stream)



_CALL = ("functionCall", "function_call")
_RESPONSE = ("functionResponse", "function_response")


def _unnamed_response(contents: Any) -> bool:
    return isinstance(contents, list) and any(
        isinstance(part, dict) and isinstance(r := _first(part, _RESPONSE), dict) and not r.get("name")
        for content in contents if isinstance(content, dict) and isinstance(content.get("parts"), list)
        for part in content["parts"])


def _named_responses(contents: list[Any]) -> list[Any]:
    """Each unnamed functionResponse takes the name of the oldest unanswered functionCall before it (the
    API refuses an empty name; some clients leave it out). Copies what it changes, never edits in place."""
    pending: list[str] = []
    out = []
    for content in contents:
        if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
            out.append(content)
            continue
        parts = []
        for part in content["parts"]:
            call = _first(part, _CALL) if isinstance(part, dict) else None
            response = _first(part, _RESPONSE) if isinstance(part, dict) else None
            if isinstance(call, dict) and isinstance(call.get("name"), str):
                pending.append(call["name"])
            elif isinstance(response, dict) and response.get("name") in pending:
                pending.remove(response["name"])
            elif isinstance(response, dict) and not response.get("name") and pending:
                key = _RESPONSE[0] if _RESPONSE[0] in part else _RESPONSE[1]
                part = {**part, key: {**response, "name": pending.pop(0)}}
            parts.append(part)
        out.append({**content, "parts": parts})
    return out


def _first(part: dict[str, Any], keys: tuple[str, str]) -> Any:
    return part.get(keys[0], part.get(keys[1]))


EXECUTOR = GeminiExecutor()
