"""Codex: the ChatGPT-account Responses backend (``chatgpt.com/backend-api/codex``), or a Responses API key.

The upstream only speaks SSE and rejects many public Responses fields, so ``finalize`` forces ``stream``,
``store``, ``instructions`` and the encrypted-reasoning ``include`` and deletes what it refuses
(reference: codex-upstream.md §1-2, §6-7). It is the only place these are set: the Responses renderer leaves
them out, so a re-rendered body and a passed-through one get them the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from core import compaction, errors, oauth
from core.executors import base, transport

if TYPE_CHECKING:
    import httpx

    from core import ir
    from core.credentials import Credential

DEFAULT_BASE_URL = "https://chatgpt.com/backend-api/codex"
DEFAULT_USER_AGENT = "codex_cli_rs/0.116.0 (Mac OS 26.0.1; arm64) Apple_Terminal/464"
ORIGINATOR = "codex_cli_rs"

# Public Responses fields the Codex backend answers with 400 "Unsupported parameter".
_DELETED = ("stream_options", "previous_response_id", "safety_identifier", "max_output_tokens",
            "max_completion_tokens", "temperature", "top_p", "truncation", "context_management", "user")
_WEB_SEARCH_ALIASES = {"web_search_preview": "web_search", "web_search_preview_2025_03_11": "web_search"}
_ENCRYPTED_REASONING = "reasoning.encrypted_content"
# Client headers the Codex CLI sends that the backend reads; forwarded verbatim when present.
_FORWARDED = ("version", "x-codex-turn-metadata", "x-client-request-id")


class CodexExecutor(base.Defaults):
    kind: ClassVar[ir.UpstreamKind] = "codex"
    counts_tokens: ClassVar[bool] = False  # has a count-tokens endpoint
    keys_sessions: ClassVar[bool] = True  # requests carry a continuity key
    compacts: ClassVar[bool] = True  # POST {base}/responses/compact
    dialect: ClassVar[ir.Dialect] = "openai_responses"

    def upstream_stream(self, client_stream: bool) -> bool:
        return True  # the backend refuses stream:false; non-stream clients get the SSE folded

    def finalize(self, body: dict[str, Any], req: ir.Request, ctx: base.CallContext) -> dict[str, Any]:
        if ctx.compact:
            return _compact_body(body, ctx)
        if not ctx.passthrough and compaction.is_trigger(req.original):  # re-rendered: the trigger goes too
            body["input"] = [*body.get("input", ()), {"type": compaction.TRIGGER}]
        body["model"] = ctx.upstream_model
        body["stream"] = True
        body["store"] = False
        if body.get("instructions") is None:
            body["instructions"] = ""
        if isinstance(body.get("input"), str):
            body["input"] = [{"type": "message", "role": "user",
                              "content": [{"type": "input_text", "text": body["input"]}]}]
        for name in _DELETED:
            body.pop(name, None)
        if body.get("service_tier") != "priority":
            body.pop("service_tier", None)
        if ctx.count_tokens:
            body.pop("prompt_cache_retention", None)
        _retype(body, "input", "role", {"system": "developer"})
        _retype(body, "tools", "type", _WEB_SEARCH_ALIASES)
        include = body.get("include")
        include = include if isinstance(include, list) else []
        if _ENCRYPTED_REASONING not in include:  # store:false: reasoning must travel back encrypted
            body["include"] = [*include, _ENCRYPTED_REASONING]
        if ctx.cache_key:
            body["prompt_cache_key"] = ctx.cache_key
        return body

    def build(self, body: dict[str, Any], req: ir.Request, cred: Credential,
              ctx: base.CallContext) -> transport.UpstreamRequest:
        url = (cred.base_url or DEFAULT_BASE_URL).rstrip("/") + ("/responses/compact" if ctx.compact else "/responses")
        return transport.UpstreamRequest("POST", url, _headers(cred, ctx), orjson.dumps(body), stream=not ctx.compact)

    async def refresh(self, cred: Credential, http: httpx.AsyncClient, token_url: str | None) -> Credential:
        if cred.auth_type != "oauth" or not cred.refresh_token:
            raise errors.UpstreamAuthError("credential cannot be refreshed")
        grant = await oauth.refresh_codex(http, cred.refresh_token, token_url)
        return oauth.apply_grant(cred, grant)


def _headers(cred: Credential, ctx: base.CallContext) -> dict[str, str]:
    client = ctx.client_headers
    headers = {
        "content-type": "application/json",
        "authorization": f"Bearer {cred.secret or ''}",
        "accept": "application/json" if ctx.compact else "text/event-stream",
        "user-agent": client.get("user-agent") or DEFAULT_USER_AGENT,
    }
    session = ctx.cache_key or client.get("session_id")  # the continuity key: the same value as the body's
    if session:
        headers["session_id"] = session
    originator = client.get("originator") or (ORIGINATOR if cred.auth_type == "oauth" else None)
    if originator:
        headers["originator"] = originator
    if cred.auth_type == "oauth" and cred.account_id is not None:
        headers["chatgpt-account-id"] = cred.account_id
    headers.update((name, client[name]) for name in _FORWARDED if client.get(name))
    headers.update((name.lower(), value) for name, value in cred.headers.items())
    return headers


def _compact_body(body: dict[str, Any], ctx: base.CallContext) -> dict[str, Any]:
    """``/responses/compact`` takes the Responses body as the client sent it: the model rewritten, no
    ``stream``, the continuity key (codex-upstream.md §2, executeCompact)."""
    body["model"] = ctx.upstream_model
    body.pop("stream", None)
    if ctx.cache_key:
        body["prompt_cache_key"] = ctx.cache_key
    return body


def _retype(body: dict[str, Any], key: str, field: str, renames: dict[str, str]) -> None:
    """Rename ``field`` values in the list ``body[key]``; items are copied, never changed in place."""
    items = body.get(key)
    if not isinstance(items, list):
        return
    if any(isinstance(item, dict) and item.get(field) in renames for item in items):
        body[key] = [{**item, field: renames[item[field]]} if isinstance(item, dict) and item.get(field) in renames
                     else item for item in items]


EXECUTOR = CodexExecutor()
