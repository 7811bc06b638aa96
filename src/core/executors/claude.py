"""Claude: the Anthropic Messages API, with a Claude Code OAuth token or an API key.

OAuth tokens only work for traffic that looks like Claude Code (its beta list, ``oauth-2025-04-20``, its
user agent), so those headers are set for OAuth credentials; API keys get plain API headers
(reference: claude-gemini-upstream.md §1.1-1.3, §1.8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import orjson

from core import errors, oauth
from core.executors import base, transport

if TYPE_CHECKING:
    import httpx

    from core import ir
    from core.credentials import Credential

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
OAUTH_BETA = "oauth-2025-04-20"
CLAUDE_CODE_BETAS = ("claude-code-20250219", OAUTH_BETA, "interleaved-thinking-2025-05-14",
                     "context-management-2025-06-27", "prompt-caching-scope-2026-01-05")
CLAUDE_CODE_USER_AGENT = "claude-cli/2.1.63 (external, cli)"

# count_tokens accepts only the prompt; these generation fields make it answer 400.
_NOT_COUNTED = ("stream", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "metadata",
                "service_tier", "container")


class ClaudeExecutor(base.Defaults):
    kind: ClassVar[ir.UpstreamKind] = "claude"
    counts_tokens: ClassVar[bool] = True  # has a count-tokens endpoint
    keys_sessions: ClassVar[bool] = False  # requests carry a continuity key
    dialect: ClassVar[ir.Dialect] = "anthropic"

    def finalize(self, body: dict[str, Any], req: ir.Request, ctx: base.CallContext) -> dict[str, Any]:
        body["model"] = ctx.upstream_model
        if ctx.count_tokens:
            for name in _NOT_COUNTED:
                body.pop(name, None)
        else:
            body["stream"] = ctx.stream
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
            body.pop("thinking", None)  # the API refuses thinking together with a forced tool
        return body

    def build(self, body: dict[str, Any], req: ir.Request, cred: Credential,
              ctx: base.CallContext) -> transport.UpstreamRequest:
        base_url = (cred.base_url or DEFAULT_BASE_URL).rstrip("/")
        path = "/v1/messages/count_tokens" if ctx.count_tokens else "/v1/messages"
        url = f"{base_url}{path}?beta=true"
        body_betas = body.get("betas")
        if body_betas is not None:  # betas travel in the header, never in the body
            body = {key: value for key, value in body.items() if key != "betas"}
        headers = _headers(cred, ctx, url, body_betas)
        return transport.UpstreamRequest("POST", url, headers, orjson.dumps(body), stream=ctx.stream)

    async def refresh(self, cred: Credential, http: httpx.AsyncClient, token_url: str | None) -> Credential:
        if cred.auth_type != "oauth" or not cred.refresh_token:
            raise errors.UpstreamAuthError("credential cannot be refreshed")
        grant = await oauth.refresh_claude(http, cred.refresh_token, token_url)
        return oauth.apply_grant(cred, grant)


def _headers(cred: Credential, ctx: base.CallContext, url: str, body_betas: Any) -> dict[str, str]:
    client = ctx.client_headers
    headers = {"content-type": "application/json", "anthropic-version": client.get("anthropic-version") or API_VERSION}
    if cred.auth_type == "api_key" and _is_anthropic_api(url):
        headers["x-api-key"] = cred.secret or ""
    else:
        headers["authorization"] = f"Bearer {cred.secret or ''}"
    betas = _betas(client.get("anthropic-beta"), body_betas, oauth=cred.auth_type == "oauth")
    if betas:
        headers["anthropic-beta"] = betas
    if cred.auth_type == "oauth":
        headers.update(_claude_code_fingerprint(client))
    headers["accept"] = "text/event-stream" if ctx.stream else "application/json"
    headers.update((name.lower(), value) for name, value in cred.headers.items())
    if ctx.stream:
        headers["accept-encoding"] = "identity"  # compressed SSE would arrive in bursts
    return headers


def _is_anthropic_api(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname == "api.anthropic.com"


def _betas(client_value: str | None, body_betas: Any, *, oauth: bool) -> str:
    """The client's beta list (Claude Code's for OAuth when it sent none), the body's ``betas``, deduplicated."""
    names = [b.strip() for b in client_value.split(",")] if client_value else list(CLAUDE_CODE_BETAS if oauth else ())
    if oauth and not any("oauth" in name for name in names):
        names.append(OAUTH_BETA)
    if isinstance(body_betas, str):
        body_betas = body_betas.split(",")
    if isinstance(body_betas, list):
        names.extend(str(b).strip() for b in body_betas)
    return ",".join(dict.fromkeys(name for name in names if name))


def _claude_code_fingerprint(client: dict[str, str]) -> dict[str, str]:
    agent = client.get("user-agent", "")
    headers = {
        "user-agent": agent if agent.startswith("claude-cli") else CLAUDE_CODE_USER_AGENT,
        "x-app": client.get("x-app") or "cli",
        "anthropic-dangerous-direct-browser-access": "true",
    }
    headers.update((name, value) for name, value in client.items() if name.startswith("x-stainless-"))
    return headers


EXECUTOR = ClaudeExecutor()
