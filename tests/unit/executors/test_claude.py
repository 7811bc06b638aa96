from __future__ import annotations

import orjson
import pytest

from core import errors, ir
from core.credentials import Credential
from core.executors import claude
from core.executors.base import CallContext

EX = claude.EXECUTOR
REQ = ir.Request(model="claude-sonnet-4-5", messages=(), dialect="anthropic")
OAUTH = Credential(id="c1", kind="claude", provider="claude", auth_type="oauth", access_token="at-1",
                   refresh_token="rt-1")
API_KEY = Credential(id="k1", kind="claude", provider="claude", api_key="sk-ant-1")
PROXIED_KEY = Credential(id="k2", kind="claude", provider="claude", api_key="sk-2", base_url="http://relay.test/",
                         headers={"X-Team": "blue"})


def ctx(**kw) -> CallContext:
    return CallContext(**{"stream": False, "upstream_model": "claude-sonnet-4-5", **kw})


def test_api_key_on_anthropic_uses_x_api_key_and_plain_api_headers():
    ureq = EX.build({"model": "claude-sonnet-4-5"}, REQ, API_KEY, ctx())
    assert ureq.url == "https://api.anthropic.com/v1/messages?beta=true"
    assert ureq.stream is False
    assert ureq.headers == {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": "sk-ant-1",
        "accept": "application/json",
    }


def test_api_key_on_another_host_goes_as_bearer_with_custom_headers():
    ureq = EX.build({}, REQ, PROXIED_KEY, ctx(stream=True, count_tokens=True))
    assert ureq.url == "http://relay.test/v1/messages/count_tokens?beta=true"
    assert ureq.headers == {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "authorization": "Bearer sk-2",
        "accept": "text/event-stream",
        "x-team": "blue",
        "accept-encoding": "identity",
    }


def test_oauth_sends_bearer_claude_code_betas_and_fingerprint():
    ureq = EX.build({}, REQ, OAUTH, ctx(stream=True))
    assert ureq.headers == {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "authorization": "Bearer at-1",
        "anthropic-beta": ",".join(claude.CLAUDE_CODE_BETAS),
        "user-agent": claude.CLAUDE_CODE_USER_AGENT,
        "x-app": "cli",
        "anthropic-dangerous-direct-browser-access": "true",
        "accept": "text/event-stream",
        "accept-encoding": "identity",
    }


def test_client_beta_and_version_are_forwarded_with_oauth_beta_appended_and_body_betas_lifted():
    client = {"anthropic-beta": "interleaved-thinking-2025-05-14, context-1m-2025-08-07",
              "anthropic-version": "2024-01-01", "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
              "x-stainless-os": "Linux"}
    body = {"model": "m", "betas": ["files-api-2025-04-14", "context-1m-2025-08-07"]}
    ureq = EX.build(body, REQ, OAUTH, ctx(client_headers=client))
    assert ureq.headers["anthropic-beta"] == ("interleaved-thinking-2025-05-14,context-1m-2025-08-07,"
                                              "oauth-2025-04-20,files-api-2025-04-14")
    assert ureq.headers["anthropic-version"] == "2024-01-01"
    assert ureq.headers["user-agent"] == "claude-cli/2.1.197 (external, sdk-cli)"
    assert ureq.headers["x-stainless-os"] == "Linux"
    assert orjson.loads(ureq.body) == {"model": "m"}
    assert body["betas"]  # the caller's body is left alone


def test_api_key_forwards_client_beta_without_adding_oauth():
    ureq = EX.build({}, REQ, API_KEY, ctx(client_headers={"anthropic-beta": "files-api-2025-04-14"}))
    assert ureq.headers["anthropic-beta"] == "files-api-2025-04-14"


def test_finalize_sets_model_and_stream():
    assert EX.finalize({"model": "alias", "max_tokens": 5}, REQ, ctx(stream=True)) == {
        "model": "claude-sonnet-4-5", "max_tokens": 5, "stream": True}
    assert EX.upstream_stream(True) is True and EX.upstream_stream(False) is False


def test_finalize_count_tokens_keeps_only_the_prompt():
    body = {"model": "a", "messages": [], "system": "s", "tools": [], "max_tokens": 5, "stream": True,
            "temperature": 1, "metadata": {"user_id": "u"}}
    assert EX.finalize(body, REQ, ctx(count_tokens=True)) == {
        "model": "claude-sonnet-4-5", "messages": [], "system": "s", "tools": []}


def test_finalize_drops_thinking_when_a_tool_is_forced():
    body = {"thinking": {"type": "enabled", "budget_tokens": 2048}, "tool_choice": {"type": "tool", "name": "f"}}
    assert "thinking" not in EX.finalize(body, REQ, ctx())
    kept = {"thinking": {"type": "enabled", "budget_tokens": 2048}, "tool_choice": {"type": "auto"}}
    assert "thinking" in EX.finalize(kept, REQ, ctx())




async def test_api_key_credentials_cannot_be_refreshed():
    with pytest.raises(errors.UpstreamAuthError, match="cannot be refreshed"):
        await EX.refresh(API_KEY, None, None)  # type: ignore[arg-type]
