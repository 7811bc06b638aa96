"""The Codex continuity resolver (codex-upstream.md §5): precedence of sources, secrets falling through,
the uuid5 derivations, and the debug line that reports the source."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from core import continuity, dialects, ir

PRINCIPAL = "sk-client-principal-1"
CRED_ID = "codex-auth-1"
SECRET = "sk-up-codex-secret-1"
PREFIX = "cli-proxy-api:codex:prompt-cache:"


def v5(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, PREFIX + name))


def chat(**extra: Any) -> ir.Request:
    body = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hello"}], **extra}
    return dialects.get("openai_chat").parse_request(body)


def claude(model: str = "claude-sonnet-4-5", user_id: str | None = "user-1", text: str = "hello") -> ir.Request:
    body: dict[str, Any] = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]}
    if user_id is not None:
        body["metadata"] = {"user_id": user_id}
    return dialects.get("anthropic").parse_request(body)


def derive(req: ir.Request, headers: dict[str, str] | None = None, *, principal: str | None = PRINCIPAL,
           execution_session: str | None = None) -> continuity.Continuity:
    return continuity.derive_key(req, headers or {}, principal=principal, credential_id=CRED_ID,
                                 secrets=(SECRET,), execution_session=execution_session)


# --- the uuid5 vectors of codex-upstream.md §5.1 ----------------------------------------------------------


def test_principal_key_is_the_documented_uuid5_vector() -> None:
    cont = continuity.derive_key(chat(), {}, principal="test-api-key", credential_id="codex-auth-1")
    assert cont == continuity.Continuity("76a25d65-2f6f-5267-af11-943676d3ef27", "principal")


def test_auth_key_is_the_documented_uuid5_vector() -> None:
    cont = continuity.derive_key(chat(), {}, principal=None, credential_id="codex-auth-1")
    assert cont == continuity.Continuity("ae46cc3e-3f63-5c34-a52a-f7c6f6543821", "auth")


# --- precedence: each row has every weaker signal present too ---------------------------------------------

ALL_HEADERS = {"idempotency-key": "idem-1", "x-session-id": "ses-1"}


@pytest.mark.parametrize(("req", "headers", "execution", "expected"), [
    pytest.param(chat(prompt_cache_key="pck-1"), ALL_HEADERS, "ws-1", ("pck-1", "prompt_cache_key"),
                 id="client prompt_cache_key wins"),
    pytest.param(chat(), ALL_HEADERS, "ws-1", ("ws-1", "execution_session"), id="then the execution session"),
    pytest.param(chat(), ALL_HEADERS, None, ("idem-1", "idempotency_key"), id="then the Idempotency-Key header"),
    pytest.param(chat(), {"x-session-id": "ses-1"}, None, (v5("session:header:ses-1"), "session"),
                 id="then the client session, hashed"),
    pytest.param(chat(), {}, None, (v5(PRINCIPAL), "principal"), id="then the client principal"),
])
def test_precedence_of_sources(req: ir.Request, headers: dict[str, str], execution: str | None,
                               expected: tuple[str, str]) -> None:
    cont = derive(req, headers, execution_session=execution)
    assert (cont.key, cont.source) == expected


def test_without_a_principal_the_credential_is_the_last_source() -> None:
    assert derive(chat(), principal=None) == continuity.Continuity(v5("auth:" + CRED_ID), "auth")


@pytest.mark.parametrize(("header", "space"), [
    ("x-claude-code-session-id", "claude"), ("session-id", "codex"), ("session_id", "codex"),
    ("x-session-id", "header"), ("x-session-affinity", "header"), ("x-client-request-id", "clientreq"),
])
def test_every_session_header_is_a_session_source(header: str, space: str) -> None:
    cont = derive(chat(), {header: "abc-123"})
    assert cont == continuity.Continuity(v5(f"session:{space}:abc-123"), "session")


def test_body_session_ids_are_session_sources() -> None:
    assert derive(chat(session_id="s-9")).key == v5("session:body:s-9")
    assert derive(chat(conversation_id="c-9")).key == v5("session:body:c-9")


def test_a_first_message_hash_is_not_a_session_signal() -> None:
    """Without an explicit session id the principal decides, so one client's turns share one key."""
    assert derive(chat()).source == "principal"
    assert derive(chat()).key == derive(chat(messages=[{"role": "user", "content": "other"}])).key


def test_client_prompt_cache_key_is_trimmed_and_used_verbatim() -> None:
    assert derive(chat(prompt_cache_key="  my-cache-key  ")).key == "my-cache-key"


# --- Claude clients ---------------------------------------------------------------------------------------


def test_claude_key_is_stable_per_model_and_user_id() -> None:
    first = derive(claude(text="turn one"))
    later = derive(claude(text="a later turn"))
    assert first == later == continuity.Continuity(v5("session:claude:claude-sonnet-4-5:user-1"), "session")
    assert derive(claude(model="claude-opus-4-1")).key != first.key
    assert derive(claude(user_id="user-2")).key != first.key


def test_claude_key_is_derived_not_remembered() -> None:
    """A cold instance (no memory) derives the same key: nothing is random or cached."""
    assert derive(claude()).key == continuity.derive_key(
        claude(), {}, principal=PRINCIPAL, credential_id="codex-other", secrets=()).key


def test_claude_without_user_id_uses_its_session_header() -> None:
    cont = derive(claude(user_id=None), {"x-claude-code-session-id": "c51e"})
    assert cont == continuity.Continuity(v5("session:claude:c51e"), "session")


# --- a signal that carries a secret falls through -----------------------------------------------------------


@pytest.mark.parametrize(("req", "headers", "execution", "expected_source"), [
    pytest.param(chat(prompt_cache_key=PRINCIPAL), ALL_HEADERS, None, "idempotency_key",
                 id="prompt_cache_key equal to the client key"),
    pytest.param(chat(prompt_cache_key=f"principal:{PRINCIPAL}"), {}, None, "principal",
                 id="prompt_cache_key embedding the client key"),
    pytest.param(chat(prompt_cache_key=f"x-{SECRET}"), {}, None, "principal",
                 id="prompt_cache_key embedding the upstream secret"),
    pytest.param(chat(prompt_cache_key=CRED_ID), {}, None, "principal", id="prompt_cache_key equal to the credential id"),
    pytest.param(chat(), ALL_HEADERS, f"ws-{PRINCIPAL}", "idempotency_key", id="execution session with the client key"),
    pytest.param(chat(), {"idempotency-key": PRINCIPAL, "x-session-id": "ses-1"}, None, "session",
                 id="Idempotency-Key equal to the client key"),
    pytest.param(chat(), {"x-session-id": f"principal:{PRINCIPAL}"}, None, "principal",
                 id="session header embedding the client key"),
    pytest.param(claude(user_id=SECRET), {}, None, "principal", id="Claude user_id equal to the upstream secret"),
])
def test_secret_bearing_signal_falls_through(req: ir.Request, headers: dict[str, str], execution: str | None,
                                             expected_source: str) -> None:
    cont = derive(req, headers, execution_session=execution)
    assert cont.source == expected_source
    for secret in (PRINCIPAL, SECRET, CRED_ID):
        assert secret not in cont.key


def test_secret_bearing_signal_without_principal_falls_to_the_credential_hash() -> None:
    cont = continuity.derive_key(chat(prompt_cache_key=f"k-{SECRET}"), {}, principal=None, credential_id=CRED_ID,
                                 secrets=(SECRET,))
    assert cont == continuity.Continuity(v5("auth:" + CRED_ID), "auth")


def test_short_secrets_only_block_an_equal_value() -> None:
    """A 4-character client key inside a session id is a coincidence, not a leak; the key itself is."""
    assert continuity.derive_key(chat(prompt_cache_key="my-test-session"), {}, principal="test",
                                 credential_id=CRED_ID).source == "prompt_cache_key"
    assert continuity.derive_key(chat(prompt_cache_key="test"), {}, principal="test",
                                 credential_id=CRED_ID).source == "principal"


@pytest.mark.parametrize("bad", ["", "   ", "a\nb", "x" * 257], ids=["empty", "blank", "control", "too long"])
def test_invalid_explicit_ids_fall_through(bad: str) -> None:
    assert derive(chat(), {"idempotency-key": bad}).source == "principal"
    assert derive(chat(prompt_cache_key=bad)).source == "principal"


# --- diagnostics --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("req", "headers", "principal"), [
    (chat(prompt_cache_key="pck-1"), {}, PRINCIPAL),
    (chat(), {"idempotency-key": "idem-1"}, PRINCIPAL),
    (chat(), {"x-session-id": "ses-1"}, PRINCIPAL),
    (chat(prompt_cache_key=PRINCIPAL), {}, PRINCIPAL),
    (chat(prompt_cache_key=SECRET), {}, None),
])
def test_debug_line_reports_the_source_and_no_secret(caplog: pytest.LogCaptureFixture, req: ir.Request,
                                                     headers: dict[str, str], principal: str | None) -> None:
    caplog.set_level(logging.DEBUG, logger="cliproxy.continuity")
    cont = derive(req, headers, principal=principal)
    continuity.log_diagnostics(cont, credential_id=CRED_ID, retention="24h")
    (record,) = [r for r in caplog.records if r.name == "cliproxy.continuity"]
    line = record.getMessage()
    assert f"source={cont.source}" in line
    assert "prompt_cache_retention=24h" in line
    assert PRINCIPAL not in line and SECRET not in line


def test_no_debug_line_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cliproxy.continuity")
    continuity.log_diagnostics(derive(chat()), credential_id=CRED_ID, retention=None)
    assert not [r for r in caplog.records if r.name == "cliproxy.continuity"]
