from __future__ import annotations

import orjson
import pytest

from core import errors, ir
from core.credentials import Credential
from core.executors import codex
from core.executors.base import CallContext

EX = codex.EXECUTOR
REQ = ir.Request(model="gpt-5-codex", messages=(), dialect="openai_responses", stream=True)
OAUTH = Credential(id="c1", kind="codex", provider="codex", auth_type="oauth", access_token="at-1",
                   refresh_token="rt-1", account_id="acct-1")
API_KEY = Credential(id="k1", kind="codex", provider="codex", api_key="sk-1", base_url="http://up.test/v1/",
                     headers={"X-Team": "blue"})


def ctx(**kw) -> CallContext:
    return CallContext(**{"stream": True, "upstream_model": "gpt-5-codex", **kw})


def test_oauth_build_posts_to_chatgpt_backend_with_account_and_codex_headers():
    ureq = EX.build({"model": "gpt-5-codex"}, REQ, OAUTH, ctx(cache_key="key-1"))
    assert ureq.method == "POST"
    assert ureq.url == "https://chatgpt.com/backend-api/codex/responses"
    assert ureq.stream is True
    assert ureq.headers == {
        "content-type": "application/json",
        "authorization": "Bearer at-1",
        "accept": "text/event-stream",
        "user-agent": codex.DEFAULT_USER_AGENT,
        "session_id": "key-1",
        "originator": "codex_cli_rs",
        "chatgpt-account-id": "acct-1",
    }
    assert orjson.loads(ureq.body) == {"model": "gpt-5-codex"}


def test_api_key_build_uses_base_url_custom_headers_and_no_oauth_headers():
    ureq = EX.build({}, REQ, API_KEY, ctx())
    assert ureq.url == "http://up.test/v1/responses"
    assert ureq.headers == {
        "content-type": "application/json",
        "authorization": "Bearer sk-1",
        "accept": "text/event-stream",
        "user-agent": codex.DEFAULT_USER_AGENT,
        "x-team": "blue",
    }


def test_client_codex_headers_are_forwarded_and_session_id_is_the_continuity_key():
    client = {"user-agent": "codex_exec/0.169.0", "originator": "codex_exec", "version": "0.169.0",
              "session_id": "client-session", "x-client-request-id": "r1", "x-codex-turn-metadata": "{}",
              "cookie": "never-forwarded"}
    headers = EX.build({}, REQ, OAUTH, ctx(cache_key="key-1", client_headers=client)).headers
    assert headers["user-agent"] == "codex_exec/0.169.0"
    assert headers["originator"] == "codex_exec"
    assert headers["session_id"] == "key-1"  # the same value as body prompt_cache_key, never the client's
    assert (headers["version"], headers["x-client-request-id"], headers["x-codex-turn-metadata"]) == ("0.169.0", "r1", "{}")
    assert "cookie" not in headers


def test_finalize_forces_codex_fields_and_deletes_refused_ones():
    body = {
        "model": "alias", "input": "hi", "stream": False, "store": True, "instructions": None,
        "stream_options": {"include_usage": True}, "previous_response_id": "resp_1", "safety_identifier": "s",
        "max_output_tokens": 10, "max_completion_tokens": 10, "temperature": 0.2, "top_p": 0.9,
        "truncation": "auto", "context_management": [], "user": "u", "service_tier": "flex",
        "prompt_cache_retention": "24h", "prompt_cache_key": "client-key",
    }
    out = EX.finalize(body, REQ, ctx(cache_key="key-1"))
    assert out == {
        "model": "gpt-5-codex", "stream": True, "store": False, "instructions": "",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "prompt_cache_retention": "24h", "prompt_cache_key": "key-1",
        "include": ["reasoning.encrypted_content"],
    }


def test_finalize_keeps_priority_tier_and_client_include_and_drops_retention_for_count_tokens():
    body = {"input": [], "service_tier": "priority", "include": ["file_search_call.results"],
            "prompt_cache_retention": "24h", "instructions": "be brief", "prompt_cache_key": "client-key"}
    out = EX.finalize(body, REQ, ctx(count_tokens=True))
    assert out["service_tier"] == "priority"
    assert out["include"] == ["file_search_call.results", "reasoning.encrypted_content"]
    assert out["instructions"] == "be brief"
    assert out["prompt_cache_key"] == "client-key"
    assert "prompt_cache_retention" not in out


def test_finalize_renames_system_role_and_web_search_preview_without_touching_the_originals():
    system = {"type": "message", "role": "system", "content": "rules"}
    preview = {"type": "web_search_preview"}
    body = {"input": [system, {"role": "user", "content": "q"}],
            "tools": [preview, {"type": "web_search_preview_2025_03_11"}, {"type": "function", "name": "f"}]}
    out = EX.finalize(body, REQ, ctx())
    assert [i["role"] for i in out["input"]] == ["developer", "user"]
    assert [t["type"] for t in out["tools"]] == ["web_search", "web_search", "function"]
    assert system["role"] == "system" and preview["type"] == "web_search_preview"


def test_upstream_is_always_streamed():
    assert EX.upstream_stream(False) is True and EX.upstream_stream(True) is True




async def test_api_key_credentials_cannot_be_refreshed():
    with pytest.raises(errors.UpstreamAuthError, match="cannot be refreshed"):
        await EX.refresh(API_KEY, None, None)  # type: ignore[arg-type]


def test_compact_posts_json_to_responses_compact_with_the_continuity_key():
    body = EX.finalize({"model": "alias", "input": [], "stream": False, "previous_response_id": "r1"}, REQ,
                       ctx(stream=False, compact=True, cache_key="key-1"))
    assert body == {"model": "gpt-5-codex", "input": [], "previous_response_id": "r1", "prompt_cache_key": "key-1"}
    ureq = EX.build(body, REQ, API_KEY, ctx(stream=False, compact=True, cache_key="key-1"))
    assert ureq.url == "http://up.test/v1/responses/compact"
    assert ureq.stream is False
    assert ureq.headers["accept"] == "application/json" and ureq.headers["session_id"] == "key-1"


def test_a_re_rendered_compaction_turn_keeps_its_trigger():
    req = ir.Request(model="gpt-5-codex", messages=(), dialect="openai_responses", stream=True,
                     original={"input": [{"type": "compaction_trigger"}]})
    body = EX.finalize({"model": "m", "input": [{"role": "user", "content": "hi"}]}, req, ctx(passthrough=False))
    assert body["input"][-1] == {"type": "compaction_trigger"}


def test_only_codex_compacts_itself_the_service_emulates_the_others():
    from core import executors

    assert {kind for kind in ("codex", "claude", "gemini", "openai_compat") if executors.get(kind).compacts} == {"codex"}


def test_a_rendered_body_gets_the_forced_fields_from_finalize_alone():
    from core.dialects import openai_responses

    req = ir.Request(model="gpt-5-codex", messages=(ir.Message("user", (ir.Text("hi"),)),), dialect="anthropic")
    rendered = openai_responses.render_request(req)
    assert not {"stream", "store", "instructions", "include"} & rendered.keys()
    body = EX.finalize(rendered, req, ctx())
    assert (body["stream"], body["store"], body["instructions"]) == (True, False, "")
    assert body["include"] == ["reasoning.encrypted_content"]
