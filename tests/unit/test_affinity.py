"""The client-session key that scopes sticky routing: strongest signal first, validated ids, hash fallback."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from core import affinity, dialects, ir

CLAUDE_UID = orjson.dumps({"device_id": "0f40de", "account_uuid": "", "session_id": "c51e-meta"}).decode()


def chat(messages: list[dict[str, Any]] | None = None, **extra: Any) -> ir.Request:
    body = {"model": "gpt-5-codex", "messages": messages or [{"role": "user", "content": "hello"}], **extra}
    return dialects.get("openai_chat").parse_request(body)


def claude(user_id: str | None = CLAUDE_UID) -> ir.Request:
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 64,
                            "messages": [{"role": "user", "content": "hello"}]}
    if user_id is not None:
        body["metadata"] = {"user_id": user_id}
    return dialects.get("anthropic").parse_request(body)


def responses(**extra: Any) -> ir.Request:
    return dialects.get("openai_responses").parse_request({"model": "gpt-5-codex", "input": "hello", **extra})


EVERY_HEADER = {"x-claude-code-session-id": "h-claude", "session-id": "h-codex", "session_id": "h-codex-legacy",
                "x-session-id": "h-session", "x-session-affinity": "h-affinity", "x-client-request-id": "h-req"}


def without(*names: str) -> dict[str, str]:
    return {k: v for k, v in EVERY_HEADER.items() if k not in names}


@pytest.mark.parametrize(("req", "headers", "expected"), [
    pytest.param(claude(), EVERY_HEADER, "claude:h-claude", id="X-Claude-Code-Session-Id"),
    pytest.param(claude(), without("x-claude-code-session-id"), "claude:c51e-meta", id="metadata.user_id session"),
    pytest.param(chat(), without("x-claude-code-session-id"), "codex:h-codex", id="Session-Id"),
    pytest.param(chat(), without("x-claude-code-session-id", "session-id"), "codex:h-codex-legacy", id="Session_id"),
    pytest.param(chat(), {"x-session-id": "h-session", "x-session-affinity": "h-affinity",
                          "x-client-request-id": "h-req"}, "header:h-session", id="X-Session-Id"),
    pytest.param(chat(), {"x-session-affinity": "h-affinity", "x-client-request-id": "h-req"}, "header:h-affinity",
                 id="X-Session-Affinity"),
    pytest.param(chat(session_id="b-1"), {"x-client-request-id": "h-req"}, "clientreq:h-req",
                 id="X-Client-Request-Id before the body"),
    pytest.param(chat(session_id="b-1", prompt_cache_key="p-1"), {}, "body:b-1", id="body session_id"),
    pytest.param(chat(sessionId="b-2", prompt_cache_key="p-1"), {}, "body:b-2", id="body sessionId"),
    pytest.param(chat(conversation_id="b-3", prompt_cache_key="p-1"), {}, "body:b-3", id="body conversation_id"),
    pytest.param(responses(prompt_cache_key="p-1", conversation="conv-1"), {}, "pck:p-1", id="prompt_cache_key"),
    pytest.param(responses(conversation={"id": "conv-2"}), {}, "conv:conv-2", id="Responses conversation"),
    pytest.param(claude(user_id="plain-user"), {}, "user:plain-user", id="other metadata.user_id"),
])
def test_strongest_signal_wins(req: ir.Request, headers: dict[str, str], expected: str) -> None:
    assert affinity.session_key(req, headers, "sk-client") == expected


def test_legacy_claude_user_id_form_carries_the_session() -> None:
    uid = "user_abc_account_def_session_9b2f0c3e-1111-2222-3333-444455556666"
    assert affinity.session_key(claude(uid), {}, None) == "claude:9b2f0c3e-1111-2222-3333-444455556666"


def test_opencode_headers_give_one_session_for_both_turns() -> None:
    headers = {"x-session-affinity": "ses_df2c", "x-session-id": "ses_df2c"}
    first = chat([{"role": "user", "content": "hi"}])
    second = chat([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                   {"role": "user", "content": "more"}])
    assert affinity.session_key(first, headers, None) == affinity.session_key(second, headers, None) == "header:ses_df2c"


@pytest.mark.parametrize("bad", ["", "  ", "a\x00b", "a\tb", "x" * 257], ids=["empty", "blank", "nul", "tab", "long"])
def test_invalid_ids_fall_through_to_the_next_signal(bad: str) -> None:
    assert affinity.session_key(chat(), {"x-claude-code-session-id": bad, "x-session-id": "ok"}, None) == "header:ok"


def test_ids_are_trimmed() -> None:
    assert affinity.normalize_id("  abc  ") == "abc"
    assert affinity.normalize_id("x" * 256) == "x" * 256
    assert affinity.normalize_id(42) is None


def test_broken_claude_metadata_json_is_not_a_session() -> None:
    assert affinity.claude_session("{not json") is None
    assert affinity.claude_session('["a"]') is None
    assert affinity.session_key(claude("{not json"), {}, None) == "user:{not json"


# --- the hash fallback -------------------------------------------------------------------------------------


def test_message_hash_is_stable_across_turns_of_one_chat() -> None:
    turn1 = chat([{"role": "system", "content": "be brief"}, {"role": "user", "content": "first question"}])
    turn2 = chat([{"role": "system", "content": "be brief"}, {"role": "user", "content": "first question"},
                  {"role": "assistant", "content": "an answer"}, {"role": "user", "content": "follow-up"}])
    key = affinity.session_key(turn1, {}, "sk-client")
    assert key.startswith("msg:")
    assert affinity.session_key(turn2, {}, "sk-client") == key


def test_message_hash_differs_by_chat_and_by_client_principal() -> None:
    one = affinity.session_key(chat([{"role": "user", "content": "question A"}]), {}, "sk-client")
    assert affinity.session_key(chat([{"role": "user", "content": "question B"}]), {}, "sk-client") != one
    assert affinity.session_key(chat([{"role": "user", "content": "question A"}]), {}, "sk-other") != one


def test_message_hash_never_contains_the_principal() -> None:
    key = affinity.session_key(chat(), {}, "sk-client-secret-key")
    assert "sk-client-secret-key" not in key
