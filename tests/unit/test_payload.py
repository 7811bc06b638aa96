"""Payload rules (thinking-payload.md §8): config validation and default / override / filter application."""

from __future__ import annotations

import copy

import pytest

from core import jsonpath, payload, thinking
from core.config import ConfigError, PayloadConfig, parse_payload_rules

SRC = "config.yaml"


def rules(**sections) -> PayloadConfig:
    return parse_payload_rules({k.replace("_", "-"): v for k, v in sections.items()}, SRC)


def rule(params, *models: str, protocol: str | None = None) -> dict:
    entries = [{"name": m, **({"protocol": protocol} if protocol else {})} for m in models or ("*",)]
    return {"models": entries, "params": params}


# --- config ---------------------------------------------------------------------------------------------


def test_parse_rules_keeps_globs_protocol_kinds_and_params() -> None:
    cfg = rules(default=[rule({"generationConfig.topK": 40}, "gemini-2.5-*", protocol="gemini")],
                override=[rule({"temperature": 0.1}, "gpt-*", protocol="OpenAI")],
                filter=[rule(["prompt_cache_retention"], "*", protocol="codex")])
    assert cfg.default[0].models == (("gemini-2.5-*", "gemini"),)
    assert cfg.default[0].params == {"generationConfig.topK": 40}
    assert cfg.override[0].models == (("gpt-*", "openai_compat"),)
    assert list(cfg.filter[0].params) == ["prompt_cache_retention"]


def test_parse_rules_reads_raw_params_as_json() -> None:
    cfg = rules(default_raw=[rule({"response_format": '{"type":"json_object"}', "n": 3})],
                override_raw=[rule({"metadata": '{"a":[1,2]}'})])
    assert cfg.default_raw[0].params == {"response_format": {"type": "json_object"}, "n": 3}
    assert cfg.override_raw[0].params == {"metadata": {"a": [1, 2]}}


@pytest.mark.parametrize("text", ["{not json", "", "[1,"])
def test_invalid_raw_json_is_a_startup_error_naming_the_rule(text) -> None:
    with pytest.raises(ConfigError) as caught:
        rules(override=[rule({"x": 1})], default_raw=[rule({"a": 1}), rule({"reasoning.effort": text})])
    message = str(caught.value)
    assert message.startswith("config.yaml: payload.default-raw[1].params.reasoning.effort: invalid JSON (")


def test_a_plain_default_string_is_not_parsed_as_json() -> None:
    assert rules(default=[rule({"x": "{not json"})]).default[0].params == {"x": "{not json"}


@pytest.mark.parametrize(("raw", "message"), [
    ([], "config.yaml: payload: must be a mapping"),
    ({"defaults": []}, "config.yaml: payload.defaults: unknown key"),
    ({"default": {}}, "config.yaml: payload.default: must be a list of rules"),
    ({"default": ["x"]}, "config.yaml: payload.default[0]: must be a mapping"),
    ({"override": [{"models": [{"name": "a", "headers": {}}], "params": {}}]},
     "config.yaml: payload.override[0].models[0].headers: unknown key"),
    ({"override": [{"models": [{"name": "a", "protocol": "antigravity"}], "params": {}}]},
     "config.yaml: payload.override[0].models[0].protocol: must be one of codex, claude, gemini, openai"),
    ({"override": [{"models": [{"name": 5}], "params": {}}]},
     "config.yaml: payload.override[0].models[0].name: must be a string"),
    ({"override": [{"models": "gpt-*", "params": {}}]}, "config.yaml: payload.override[0].models: must be a list"),
    ({"override": [{"models": [], "params": ["a"]}]}, "config.yaml: payload.override[0].params: must be a mapping"),
    ({"filter": [{"models": [], "params": {"a": 1}}]}, "config.yaml: payload.filter[0].params: must be a list"),
    ({"default": [{"models": [], "params": {}, "match": []}]}, "config.yaml: payload.default[0].match: unknown key"),
])
def test_parse_rules_rejects_bad_shapes(raw, message) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_payload_rules(raw, SRC)
    assert str(caught.value).startswith(message)


def test_missing_section_is_no_rules() -> None:
    assert parse_payload_rules(None, SRC) == PayloadConfig()
    assert parse_payload_rules({"default": None}, SRC) == PayloadConfig()


# --- matching -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "model", "hit"), [
    ("gpt-*", "gpt-5", True),
    ("gpt-*", "GPT-5", False),  # case-sensitive
    ("*", "anything", True),
    ("*-codex", "gpt-5.1-codex", True),
    ("gpt-5", "gpt-5-codex", False),  # anchored
    ("gpt-5.1", "gpt-511", False),  # a dot is literal
    ("my-pro(high)", "my-pro(high)", True),  # parentheses are literal
    ("gemini-*-pro", "gemini-2.5-pro", True),
])
def test_model_glob(pattern, model, hit) -> None:
    cfg = rules(override=[rule({"x": 1}, pattern)])
    out = payload.apply_rules({"a": 1}, {"a": 1}, model, "codex", cfg, requested=model)
    assert ("x" in out) is hit


@pytest.mark.parametrize(("rule_protocol", "kind", "hit"), [
    ("codex", "codex", True), ("codex", "claude", False), ("openai", "openai_compat", True),
    ("openai", "openai", True), ("gemini", "openai_compat", False), (None, "gemini", True),
])
def test_protocol_matching(rule_protocol, kind, hit) -> None:
    cfg = rules(override=[rule({"x": 1}, "m", protocol=rule_protocol)])
    assert ("x" in payload.apply_rules({"a": 1}, None, "m", kind, cfg)) is hit


def test_rule_matches_the_requested_alias_and_its_suffixed_name() -> None:
    cfg = rules(override=[rule({"alias": 1}, "my-pro"), rule({"suffixed": 1}, "my-pro(8192)"),
                          rule({"upstream": 1}, "gemini-2.5-pro")])
    out = payload.apply_rules({"a": 1}, None, "gemini-2.5-pro", "gemini", cfg, requested="my-pro(8192)")
    assert out == {"a": 1, "alias": 1, "suffixed": 1, "upstream": 1}


def test_rule_with_no_models_never_matches() -> None:
    cfg = rules(override=[{"models": [], "params": {"x": 1}}, {"models": [{"name": ""}], "params": {"y": 1}}])
    assert payload.apply_rules({"a": 1}, None, "gpt-5", "codex", cfg) == {"a": 1}


# --- applying -------------------------------------------------------------------------------------------


def test_default_applies_only_where_the_original_lacks_the_path() -> None:
    # OpenAI temperature 0.2 was translated to generationConfig.temperature; top_p was never sent.
    original = {"generationConfig": {"temperature": 0.2}}
    body = {"generationConfig": {"temperature": 0.2, "thinkingConfig": {"thinkingBudget": 8192}}}
    cfg = rules(default=[rule({"generationConfig.temperature": 0.9, "generationConfig.topP": 0.8})])
    out = payload.apply_rules(body, original, "gemini-2.5-pro", "gemini", cfg)
    assert out["generationConfig"] == {"temperature": 0.2, "topP": 0.8, "thinkingConfig": {"thinkingBudget": 8192}}


def test_default_overwrites_what_only_a_later_step_wrote() -> None:
    # The suffix (8192) was applied after translation, so the original lacks the budget: the default wins.
    original = {"contents": []}
    body = {"contents": [], "generationConfig": {"thinkingConfig": {"thinkingBudget": 8192}}}
    cfg = rules(default=[rule({"generationConfig.thinkingConfig.thinkingBudget": 4096})])
    out = payload.apply_rules(body, original, "gemini-2.5-pro", "gemini", cfg, requested="gemini-2.5-pro(8192)")
    assert out["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 4096


def test_default_keeps_a_client_value_even_when_null() -> None:
    cfg = rules(default=[rule({"temperature": 1})])
    assert payload.apply_rules({"temperature": None}, {"temperature": None}, "m", "codex", cfg) == {"temperature": None}


def test_first_default_wins_and_default_beats_default_raw() -> None:
    cfg = rules(default=[rule({"generationConfig.topK": 40}, "gemini-2.5-*"), rule({"generationConfig.topK": 10})],
                default_raw=[rule({"generationConfig.topK": "99", "generationConfig.seed": "7"})])
    out = payload.apply_rules({"contents": []}, {"contents": []}, "gemini-2.5-pro", "gemini", cfg)
    assert out["generationConfig"] == {"topK": 40, "seed": 7}


def test_later_override_wins_and_override_raw_runs_after_override() -> None:
    cfg = rules(override=[rule({"reasoning.effort": "low"}), rule({"reasoning.effort": "high", "store": False})],
                override_raw=[rule({"store": "true"})])
    body = {"reasoning": {"effort": "medium", "summary": "auto"}}
    out = payload.apply_rules(body, body, "gpt-5", "codex", cfg)
    assert out == {"reasoning": {"effort": "high", "summary": "auto"}, "store": True}


def test_override_beats_a_thinking_suffix_result() -> None:
    # thinking runs first (custom-openai(high) -> reasoning_effort high), then the override.
    body = thinking.apply_thinking({"messages": []}, "custom-openai(high)", "openai_chat", "openai_chat")
    assert body["reasoning_effort"] == "high"
    cfg = rules(override=[rule({"reasoning_effort": "low"}, "custom-openai", protocol="openai")])
    out = payload.apply_rules(body, {"messages": []}, "custom-openai", "openai_compat", cfg,
                              requested="custom-openai(high)")
    assert out["reasoning_effort"] == "low"


def test_filter_removes_prompt_cache_retention_for_codex_only() -> None:
    cfg = rules(filter=[rule(["prompt_cache_retention"], "gpt-*", protocol="codex")])
    body = {"model": "gpt-5", "prompt_cache_retention": "24h", "input": []}
    assert payload.apply_rules(body, body, "gpt-5", "codex", cfg) == {"model": "gpt-5", "input": []}
    assert payload.apply_rules(body, body, "gpt-5", "openai_compat", cfg) == body


def test_filter_runs_after_override_on_the_same_path() -> None:
    cfg = rules(override=[rule({"a.b": 1})], filter=[rule(["a.b"])])
    assert payload.apply_rules({"x": 1}, None, "m", "claude", cfg) == {"x": 1, "a": {}}


def test_rules_do_not_depend_on_stream_mode() -> None:
    cfg = rules(default=[rule({"top_p": 0.5})], override=[rule({"temperature": 0})],
                filter=[rule(["stream_options"])])
    outs = []
    for stream in (True, False):
        body = {"messages": [], "stream": stream, "stream_options": {"include_usage": True}}
        outs.append(payload.apply_rules(body, copy.deepcopy(body), "m", "openai_compat", cfg))
    assert [{k: v for k, v in o.items() if k != "stream"} for o in outs] == [
        {"messages": [], "top_p": 0.5, "temperature": 0}] * 2


def test_array_index_paths() -> None:
    cfg = rules(override=[rule({"tools.0.strict": True, "include.-1": "reasoning.encrypted_content"})],
                filter=[rule(["messages.1"])])
    body = {"tools": [{"name": "a"}, {"name": "b"}], "include": [], "messages": ["m0", "m1", "m2"]}
    out = payload.apply_rules(body, body, "m", "codex", cfg)
    assert out == {"tools": [{"name": "a", "strict": True}, {"name": "b"}],
                   "include": ["reasoning.encrypted_content"], "messages": ["m0", "m2"]}


def test_apply_rules_never_mutates_body_original_or_config() -> None:
    cfg = rules(default=[rule({"metadata": {"tags": ["x"]}})], override=[rule({"generationConfig.topK": 3})],
                filter=[rule(["generationConfig.seed"])])
    body = {"generationConfig": {"seed": 1}}
    original = copy.deepcopy(body)
    snapshot = (copy.deepcopy(body), copy.deepcopy(cfg))
    out = payload.apply_rules(body, original, "m", "gemini", cfg)
    out["metadata"]["tags"].append("y")
    assert (body, cfg) == snapshot
    assert out["generationConfig"] == {"topK": 3}


def test_no_rules_returns_the_same_body() -> None:
    body = {"a": 1}
    assert payload.apply_rules(body, body, "m", "codex", PayloadConfig()) is body


# --- paths ----------------------------------------------------------------------------------------------


def test_path_helpers_handle_escaped_dots_and_missing_parents() -> None:
    body = jsonpath.set_path({}, r"metadata.a\.b", 1)
    assert body == {"metadata": {"a.b": 1}}
    assert jsonpath.get_path(body, r"metadata.a\.b") == 1
    assert jsonpath.has_path(body, "metadata") and not jsonpath.has_path(body, "metadata.a")
    assert jsonpath.delete_path(body, "nothing.here") is body
    assert jsonpath.set_path({"a": "scalar"}, "a.b", 2) == {"a": {"b": 2}}
