"""OpenAI-compatible: any Chat Completions endpoint; ``base_url`` includes the version (``http://host/v1``).

Reference: claude-gemini-upstream.md §5.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from core import errors
from core.executors import base, transport

if TYPE_CHECKING:
    from core import ir
    from core.credentials import Credential


class OpenAICompatExecutor(base.Defaults):
    kind: ClassVar[ir.UpstreamKind] = "openai_compat"
    counts_tokens: ClassVar[bool] = False  # has a count-tokens endpoint
    keys_sessions: ClassVar[bool] = False  # requests carry a continuity key
    dialect: ClassVar[ir.Dialect] = "openai_chat"

    def finalize(self, body: dict[str, Any], req: ir.Request, ctx: base.CallContext) -> dict[str, Any]:
        body["model"] = ctx.upstream_model
        body["stream"] = ctx.stream
        if ctx.stream:  # usage only arrives in streams that ask for it; the proxy always needs it
            options = body.get("stream_options")
            body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        else:
            body.pop("stream_options", None)  # refused without stream:true
        return body

    def build(self, body: dict[str, Any], req: ir.Request, cred: Credential,
              ctx: base.CallContext) -> transport.UpstreamRequest:
        if not cred.base_url:
            raise errors.UpstreamAuthError("openai-compatibility credential has no base-url")
        url = cred.base_url.rstrip("/") + "/chat/completions"
        headers = {"content-type": "application/json"}
        if cred.secret:
            headers["authorization"] = f"Bearer {cred.secret}"
        if ctx.stream:
            headers["accept"] = "text/event-stream"
        headers.update((name.lower(), value) for name, value in cred.headers.items())
        return transport.UpstreamRequest("POST", url, headers, orjson.dumps(body), stream=ctx.stream)



EXECUTOR = OpenAICompatExecutor()
