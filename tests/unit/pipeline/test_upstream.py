"""core.upstream.prepare: the exact upstream body for one credential, without I/O."""

from __future__ import annotations

from typing import Any

from core import dialects, models, upstream
from core.call import ClientCall

from .helpers import config

CHAT = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}


def prepare(body: dict[str, Any], dialect: str = "openai_chat", *, kind: str = "codex", cfg: Any = None,
            headers: dict[str, str] | None = None) -> upstream.Prepared:
    cfg = cfg or config()
    req = dialects.get(dialect).parse_request(body)
    target = models.Index(cfg.credentials).resolve(req.model)
    route = next(r for r in target.routes if r.cred.kind == kind)
    call = ClientCall(dialect=dialect, raw=b"", headers=headers or {}, principal="sk-client")  # type: ignore[arg-type]
    return upstream.prepare(req, target, route, call, cfg)


def test_a_chat_request_for_codex_is_rendered_in_the_responses_dialect_with_codex_fields() -> None:
    prep = prepare(CHAT)
    assert (prep.dialect, prep.passthrough, prep.ctx.stream) == ("openai_responses", False, True)
    assert prep.body["model"] == "gpt-5-codex" and prep.body["stream"] is True and prep.body["store"] is False
    assert prep.body["input"][0]["content"][0]["text"] == "hi"


def test_codex_requests_carry_one_continuity_key_in_body_and_context() -> None:
    prep = prepare(CHAT, headers={"x-session-id": "s-1"})
    assert prep.continuity is not None
    assert prep.body["prompt_cache_key"] == prep.ctx.cache_key == prep.continuity.key


def test_an_upstream_without_sessions_gets_no_continuity_key() -> None:
    prep = prepare({**CHAT, "model": "compat-model"}, kind="openai_compat")
    assert prep.continuity is None and prep.ctx.cache_key is None and "prompt_cache_key" not in prep.body


def test_the_same_dialect_passes_the_client_body_through() -> None:
    body = {**CHAT, "model": "compat-model", "logit_bias": {"50256": -100}}
    prep = prepare(body, kind="openai_compat")
    assert prep.passthrough
    assert prep.body["logit_bias"] == {"50256": -100}


def test_the_model_suffix_sets_thinking_and_the_upstream_gets_the_base_name() -> None:
    prep = prepare({**CHAT, "model": "gpt-5-codex(high)"})
    assert prep.body["model"] == "gpt-5-codex"
    assert prep.body["reasoning"]["effort"] == "high"


def test_payload_rules_apply_after_thinking() -> None:
    cfg = config(payload={"override": [{"models": [{"name": "gpt-*"}], "params": {"reasoning.effort": "low"}}]})
    prep = prepare({**CHAT, "model": "gpt-5-codex(high)"}, cfg=cfg)
    assert prep.body["reasoning"]["effort"] == "low"


def test_forwarded_client_headers_are_only_the_allowed_ones() -> None:
    prep = prepare(CHAT, headers={"user-agent": "codex_cli_rs/1", "authorization": "Bearer sk-client"})
    assert prep.ctx.client_headers == {"user-agent": "codex_cli_rs/1"}
