"""Thinking normalisation: the §11 conversion table of thinking-payload.md, suffixes and conversions.

Each table row gives the body as the translator hands it over, already in the upstream dialect (§4.1 says
what each source -> target translation writes), and calls ``apply_thinking`` on it, as the harness of
CLIProxyAPI's ``test/thinking_conversion_test.go`` does. Targets this proxy has no upstream for are run on
the nearest one: ``antigravity`` / ``gemini-cli`` on ``gemini`` (same Gemini family, no ``request.``
wrapper) and ``iflow`` on ``openai_chat`` (the OpenAI form iflow falls back to), with the expected values
written in that form.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core import ir, jsonpath, models, thinking
from core.credentials import ThinkingSupport
from core.errors import BadRequestError

LEVEL = ThinkingSupport(levels=("minimal", "low", "medium", "high"))
LEVEL_SUBSET = ThinkingSupport(levels=("low", "high"))
ALL_LEVELS = ThinkingSupport(levels=("none", "auto", "minimal", "low", "medium", "high", "xhigh"))  # glm / minimax
GEMINI_BUDGET = ThinkingSupport(min_budget=128, max_budget=20000, dynamic_allowed=True)
GEMINI_MIXED = ThinkingSupport(levels=("low", "high"), min_budget=128, max_budget=32768, dynamic_allowed=True)
CLAUDE_BUDGET = ThinkingSupport(min_budget=1024, max_budget=128000, zero_allowed=True)
ANTIGRAVITY_BUDGET = ThinkingSupport(min_budget=128, max_budget=20000, zero_allowed=True, dynamic_allowed=True)
SONNET_46 = ThinkingSupport(levels=("low", "medium", "high"), min_budget=1024, max_budget=128000, zero_allowed=True)
OPUS_46 = ThinkingSupport(levels=("low", "medium", "high", "max"), min_budget=1024, max_budget=128000,
                          zero_allowed=True)
NO_THINKING = ThinkingSupport()
USER_DEFINED = None  # not in the catalog, nothing declared

ABSENT = object()
CHAT, RESP, CLAUDE, GEMINI = "openai_chat", "openai_responses", "anthropic", "gemini"
EFFORT, R_EFFORT = "reasoning_effort", "reasoning.effort"
TC = "generationConfig.thinkingConfig"
LEVEL_K, BUDGET_K, IT_K = f"{TC}.thinkingLevel", f"{TC}.thinkingBudget", f"{TC}.includeThoughts"
T_TYPE, T_BUDGET, C_EFFORT = "thinking.type", "thinking.budget_tokens", "output_config.effort"


# --- handoff bodies, as the translators write them -----------------------------------------------------


def chat(effort: str | None = None) -> dict[str, Any]:
    return {"reasoning_effort": effort} if effort else {}


def resp(effort: str) -> dict[str, Any]:
    return {"reasoning": {"effort": effort, "summary": "auto"}, "include": ["reasoning.encrypted_content"]}


def claude_on(budget: int) -> dict[str, Any]:
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def claude_adaptive(effort: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"thinking": {"type": "adaptive"}}
    return {**body, "output_config": {"effort": effort}} if effort else body


def claude_off() -> dict[str, Any]:
    return {"thinking": {"type": "disabled"}}


def gem(*, level: str | None = None, budget: int | None = None, it: bool | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if level is not None:
        config["thinkingLevel"] = level
    if budget is not None:
        config["thinkingBudget"] = budget
    if it is not None:
        config["includeThoughts"] = it
    return {"generationConfig": {"thinkingConfig": config}} if config else {}


_CONVERSATION = {
    CHAT: {"messages": [{"role": "user", "content": "hi"}]},
    RESP: {"input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]},
    CLAUDE: {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 200000},
    GEMINI: {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
}

# (id, from, to, model, support, handoff body, expected {path: value} or the 400 message)
ROWS: list[tuple[str, str, str, str, ThinkingSupport | None, dict[str, Any], dict[str, Any] | str]] = [
    # suffix matrix
    ("S1", CHAT, RESP, "level-model", LEVEL, resp("medium"), {R_EFFORT: "medium"}),
    ("S3", CHAT, RESP, "level-model(xhigh)", LEVEL, resp("medium"),
     'level "xhigh" not supported, valid levels: minimal, low, medium, high'),
    ("S4", CHAT, RESP, "level-model(none)", LEVEL, resp("medium"), {R_EFFORT: "minimal"}),
    ("S5", CHAT, RESP, "level-model(auto)", LEVEL, resp("medium"), {R_EFFORT: "medium"}),
    ("S8", GEMINI, RESP, "level-model(64000)", LEVEL, resp("medium"), {R_EFFORT: "high"}),
    ("S9", GEMINI, RESP, "level-model(0)", LEVEL, resp("medium"), {R_EFFORT: "minimal"}),
    ("S16", GEMINI, CHAT, "level-subset-model(8192)", LEVEL_SUBSET, chat(), {EFFORT: "low"}),
    ("S17", CLAUDE, GEMINI, "level-subset-model(1)", LEVEL_SUBSET, gem(), {LEVEL_K: "low", IT_K: True}),
    ("S19", CHAT, GEMINI, "gemini-budget-model(medium)", GEMINI_BUDGET, gem(), {BUDGET_K: 8192, IT_K: True}),
    ("S20", CHAT, GEMINI, "gemini-budget-model(xhigh)", GEMINI_BUDGET, gem(), {BUDGET_K: 20000}),
    ("S21", CHAT, GEMINI, "gemini-budget-model(none)", GEMINI_BUDGET, gem(), {BUDGET_K: 128, IT_K: False}),
    ("S22", CHAT, GEMINI, "gemini-budget-model(auto)", GEMINI_BUDGET, gem(), {BUDGET_K: -1, IT_K: True}),
    ("S30", CHAT, GEMINI, "gemini-mixed-model(xhigh)", GEMINI_MIXED, gem(), {LEVEL_K: "high"}),
    ("S31", CHAT, GEMINI, "gemini-mixed-model(none)", GEMINI_MIXED, gem(), {LEVEL_K: "low", IT_K: False}),
    ("S35", CLAUDE, GEMINI, "gemini-mixed-model(64000)", GEMINI_MIXED, gem(), {BUDGET_K: 32768}),
    ("S40", CHAT, CLAUDE, "claude-budget-model(xhigh)", CLAUDE_BUDGET, {}, {T_TYPE: "enabled", T_BUDGET: 32768}),
    ("S41", CHAT, CLAUDE, "claude-budget-model(none)", CLAUDE_BUDGET, {}, {T_TYPE: "disabled", T_BUDGET: ABSENT}),
    ("S42", CHAT, CLAUDE, "claude-budget-model(auto)", CLAUDE_BUDGET, {}, {T_BUDGET: 64512}),
    ("S45", GEMINI, CLAUDE, "claude-budget-model(200000)", CLAUDE_BUDGET, {}, {T_BUDGET: 128000}),
    ("S51", GEMINI, GEMINI, "antigravity-budget-model(none)", ANTIGRAVITY_BUDGET, gem(),
     {BUDGET_K: 0, IT_K: False}),
    ("S59", GEMINI, CHAT, "no-thinking-model(8192)", NO_THINKING, chat(), {EFFORT: ABSENT}),
    ("S68", GEMINI, CHAT, "user-defined-model(64000)", USER_DEFINED, chat(), {EFFORT: "xhigh"}),
    ("S69", GEMINI, CHAT, "user-defined-model(0)", USER_DEFINED, chat(), {EFFORT: "none"}),
    ("S70", GEMINI, CHAT, "user-defined-model(-1)", USER_DEFINED, chat(), {EFFORT: "auto"}),
    ("S71", CLAUDE, RESP, "user-defined-model", USER_DEFINED, resp("medium"), {R_EFFORT: "medium"}),
    ("S76", CHAT, GEMINI, "user-defined-model(8192)", USER_DEFINED, gem(), {BUDGET_K: 8192}),
    ("S81", CHAT, CHAT, "level-model(xhigh)", LEVEL, chat(),
     'level "xhigh" not supported, valid levels: minimal, low, medium, high'),
    ("S85", GEMINI, GEMINI, "gemini-budget-model(64000)", GEMINI_BUDGET, gem(), {BUDGET_K: 20000}),
    ("S87", CLAUDE, CLAUDE, "claude-budget-model(200000)", CLAUDE_BUDGET, {}, {T_BUDGET: 128000}),
    ("S93", CHAT, CHAT, "glm-test(none)", ALL_LEVELS, chat(), {EFFORT: "none"}),
    ("S91", CHAT, CHAT, "glm-test(medium)", ALL_LEVELS, chat(), {EFFORT: "medium"}),
    ("S101", CHAT, CHAT, "minimax-test(none)", ALL_LEVELS, chat(), {EFFORT: "none"}),
    # body matrix
    ("B3", CHAT, RESP, "level-model", LEVEL, resp("xhigh"),
     'level "xhigh" not supported, valid levels: minimal, low, medium, high'),
    ("B7", GEMINI, RESP, "level-model", LEVEL, resp("medium"), {R_EFFORT: "medium"}),
    ("B12", CLAUDE, CHAT, "level-model", LEVEL, chat("medium"), {EFFORT: "medium"}),
    ("B14", CLAUDE, CHAT, "level-model", LEVEL, chat("none"), {EFFORT: "minimal"}),
    ("B15", CLAUDE, CHAT, "level-model", LEVEL, chat("auto"), {EFFORT: "medium"}),
    ("B26", CLAUDE, GEMINI, "gemini-budget-model", GEMINI_BUDGET, gem(budget=0, it=True),
     {BUDGET_K: 128, IT_K: False}),
    ("B36", CLAUDE, GEMINI, "gemini-mixed-model", GEMINI_MIXED, gem(budget=0, it=True),
     {LEVEL_K: "low", IT_K: False, BUDGET_K: ABSENT}),
    ("B49", GEMINI, GEMINI, "antigravity-budget-model", ANTIGRAVITY_BUDGET, gem(level="medium"),
     {BUDGET_K: 8192, LEVEL_K: ABSENT}),
    ("B63", CLAUDE, CHAT, "no-thinking-model", NO_THINKING, chat("medium"), {EFFORT: ABSENT}),
    ("B78", RESP, GEMINI, "user-defined-model", USER_DEFINED, gem(level="medium", it=True),
     {BUDGET_K: 8192, LEVEL_K: ABSENT}),
    ("B83", RESP, RESP, "level-model", LEVEL, resp("xhigh"),
     'level "xhigh" not supported, valid levels: minimal, low, medium, high'),
    ("B85", GEMINI, GEMINI, "gemini-budget-model", GEMINI_BUDGET, gem(budget=64000),
     "budget 64000 out of range [128,20000]"),
    ("B87", CLAUDE, CLAUDE, "claude-budget-model", CLAUDE_BUDGET, claude_on(200000),
     "budget 200000 out of range [1024,128000]"),
    ("B89", GEMINI, GEMINI, "antigravity-budget-model", ANTIGRAVITY_BUDGET, gem(budget=64000),
     "budget 64000 out of range [128,20000]"),
    ("B92", CHAT, CHAT, "glm-test", ALL_LEVELS, chat("auto"), {EFFORT: "medium"}),
    ("B105", GEMINI, CHAT, "minimax-test", ALL_LEVELS, chat("none"), {EFFORT: "none"}),
    ("B106", GEMINI, GEMINI, "gemini-budget-model", GEMINI_BUDGET, gem(budget=64000),
     "budget 64000 out of range [128,20000]"),
    # Claude adaptive
    ("adA1", CHAT, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_adaptive("low"),
     {T_TYPE: "adaptive", C_EFFORT: "low", T_BUDGET: ABSENT}),
    ("adA5", CHAT, CLAUDE, "claude-opus-4-6-model", OPUS_46, claude_adaptive("max"), {C_EFFORT: "max"}),
    ("adA6", CHAT, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_adaptive("high"), {C_EFFORT: "high"}),
    ("adB8", GEMINI, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_adaptive("low"), {C_EFFORT: "low"}),
    ("adB11", GEMINI, CLAUDE, "claude-opus-4-6-model", OPUS_46, claude_adaptive("max"), {C_EFFORT: "max"}),
    ("adB13", GEMINI, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_off(),
     {T_TYPE: "disabled", C_EFFORT: ABSENT}),
    ("adB14", GEMINI, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_adaptive("high"), {C_EFFORT: "high"}),
    ("adC5", CLAUDE, CHAT, "level-model", LEVEL, chat("xhigh"), {EFFORT: "high"}),
    ("adC6", CLAUDE, CHAT, "level-model", LEVEL, chat("max"), {EFFORT: "high"}),
    ("adC9", CLAUDE, GEMINI, "gemini-budget-model", GEMINI_BUDGET, gem(level="low", it=True), {BUDGET_K: 1024}),
    ("adC12", CLAUDE, GEMINI, "gemini-budget-model", GEMINI_BUDGET, gem(budget=20000, it=True),
     {BUDGET_K: 20000}),
    ("adC21", CLAUDE, GEMINI, "antigravity-budget-model", ANTIGRAVITY_BUDGET, gem(level="high", it=True),
     {BUDGET_K: 20000}),
    ("adC22", CLAUDE, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_adaptive("medium"),
     {T_TYPE: "adaptive", C_EFFORT: "medium"}),
    ("adC24", CLAUDE, CLAUDE, "claude-opus-4-6-model", OPUS_46, claude_adaptive("xhigh"),
     'level "xhigh" not supported, valid levels: low, medium, high, max'),
    ("adC26", CLAUDE, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_adaptive("max"),
     'level "max" not supported, valid levels: low, medium, high'),
    # A translator that hands over the client's own effort unmapped ends at the same place.
    ("adA1-raw", CHAT, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_adaptive("minimal"), {C_EFFORT: "low"}),
    ("adA5-raw", CHAT, CLAUDE, "claude-opus-4-6-model", OPUS_46, claude_adaptive("xhigh"), {C_EFFORT: "max"}),
    ("adA6-raw", CHAT, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_adaptive("xhigh"), {C_EFFORT: "high"}),
    # ... and so does one that renders the effort as a budget (level_to_budget, capped below max_tokens).
    ("adA1-budget", CHAT, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_on(512),
     {T_TYPE: "adaptive", C_EFFORT: "low", T_BUDGET: ABSENT}),
    ("adA5-budget", CHAT, CLAUDE, "claude-opus-4-6-model", OPUS_46, claude_on(31999), {C_EFFORT: "max"}),
    ("adB8-budget", GEMINI, CLAUDE, "claude-sonnet-4-6-model", SONNET_46, claude_on(1024), {C_EFFORT: "low"}),
    ("adB11-budget", GEMINI, CLAUDE, "claude-opus-4-6-model", OPUS_46, claude_on(32768), {C_EFFORT: "max"}),
    # A budget suffix is what the user asked for: it stays a budget on an adaptive model.
    ("ad-suffix", CHAT, CLAUDE, "claude-sonnet-4-6-model(8192)", SONNET_46, claude_adaptive("high"),
     {T_TYPE: "enabled", T_BUDGET: 8192, C_EFFORT: ABSENT}),
]


def _run(frm: str, to: str, model: str, support: ThinkingSupport | None, handoff: dict[str, Any]) -> dict[str, Any]:
    body = {**copy.deepcopy(_CONVERSATION[to]), **handoff}
    return thinking.apply_thinking(body, model, frm, to, support=support)


@pytest.mark.parametrize(("row", "frm", "to", "model", "support", "handoff", "expected"),
                         [r for r in ROWS if isinstance(r[-1], dict)], ids=lambda v: v if isinstance(v, str) else "")
def test_conversion_table(row, frm, to, model, support, handoff, expected) -> None:
    out = _run(frm, to, model, support, handoff)
    got = {path: jsonpath.get_path(out, path, ABSENT) for path in expected}
    assert got == expected, row
    for key, value in _CONVERSATION[to].items():
        assert out[key] == value, f"{row}: {key} must pass through"


@pytest.mark.parametrize(("row", "frm", "to", "model", "support", "handoff", "message"),
                         [r for r in ROWS if isinstance(r[-1], str)], ids=lambda v: v if isinstance(v, str) else "")
def test_conversion_table_errors(row, frm, to, model, support, handoff, message) -> None:
    with pytest.raises(BadRequestError) as caught:
        _run(frm, to, model, support, handoff)
    assert caught.value.message == message
    assert caught.value.status == 400


def test_every_row_of_the_table_is_covered() -> None:
    ids = {r[0] for r in ROWS}
    expected = {f"S{n}" for n in (1, 3, 4, 5, 8, 9, 16, 17, 19, 20, 21, 22, 30, 31, 35, 40, 41, 42, 45, 51, 59,
                                  68, 69, 70, 71, 76, 81, 85, 87, 91, 93, 101)}
    expected |= {f"B{n}" for n in (3, 7, 12, 14, 15, 26, 36, 49, 63, 78, 83, 85, 87, 89, 92, 105, 106)}
    expected |= {"adA1", "adA5", "adA6", "adB8", "adB11", "adB13", "adB14", "adC5", "adC6", "adC9", "adC12",
                 "adC21", "adC22", "adC24", "adC26"}
    assert expected <= ids


# --- behaviour around the table ------------------------------------------------------------------------


def test_apply_thinking_never_mutates_the_given_body() -> None:
    body = {"messages": [], "generationConfig": {"thinkingConfig": {"thinkingLevel": "medium"}}}
    snapshot = copy.deepcopy(body)
    out = thinking.apply_thinking(body, "gemini-budget-model", CHAT, GEMINI, support=GEMINI_BUDGET)
    assert body == snapshot
    assert out["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 8192, "includeThoughts": True}


def test_explicit_suffix_wins_over_the_body_and_the_model_name() -> None:
    out = thinking.apply_thinking(resp("low"), "gpt-5-codex(medium)", CHAT, RESP,
                                  suffix=ir.Thinking(level="high"))
    assert out["reasoning"]["effort"] == "high"


def test_catalog_model_is_found_by_base_name_and_validated_strictly() -> None:
    assert thinking.apply_thinking(resp("medium"), "gpt-5-codex(high)", CHAT, RESP)["reasoning"]["effort"] == "high"
    with pytest.raises(BadRequestError, match='level "minimal" not supported, valid levels: low, medium, high'):
        thinking.apply_thinking(resp("minimal"), "gpt-5-codex", CHAT, RESP)


def test_claude_budget_from_another_family_becomes_codex_effort() -> None:
    # An Anthropic client's budget_tokens reaches Codex as the level the translator carried over.
    body = resp(thinking.budget_to_level(20000) or "")
    assert thinking.apply_thinking(body, "gpt-5.2-codex", CLAUDE, RESP)["reasoning"]["effort"] == "high"


def test_chat_effort_to_gemini_3_pro_clamps_to_a_supported_level() -> None:
    out = thinking.apply_thinking(gem(level="medium", it=True), "gemini-3-pro-preview", CHAT, GEMINI)
    assert out["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "low", "includeThoughts": True}


def test_claude_max_tokens_is_written_from_the_catalog_when_missing() -> None:
    out = thinking.apply_thinking(claude_on(64000), "claude-sonnet-4-5-20250929", CLAUDE, CLAUDE)
    assert out["max_tokens"] == 64000
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 63999}


def test_claude_budget_is_lowered_below_max_tokens() -> None:
    body = {**claude_on(16000), "max_tokens": 4096}
    out = thinking.apply_thinking(body, "claude-sonnet-4-5", CHAT, CLAUDE)
    assert (out["max_tokens"], out["thinking"]["budget_tokens"]) == (4096, 4095)


def test_claude_budget_stays_when_lowering_would_go_below_the_minimum() -> None:
    body = {**claude_on(2048), "max_tokens": 1000}
    out = thinking.apply_thinking(body, "claude-sonnet-4-5", CHAT, CLAUDE)
    assert out["thinking"]["budget_tokens"] == 2048


def test_model_without_thinking_loses_every_thinking_field() -> None:
    body = {**claude_adaptive("high"), "max_tokens": 1000, "output_config": {"effort": "high", "format": "x"}}
    out = thinking.apply_thinking(body, "claude-3-5-haiku-20241022(high)", CLAUDE, CLAUDE)
    assert out == {"max_tokens": 1000, "output_config": {"format": "x"}}


def test_unknown_suffix_content_leaves_the_body_alone() -> None:
    body = resp("high")
    assert thinking.apply_thinking(body, "level-model(ultra)", CHAT, RESP) == body


def test_unknown_model_without_any_intent_passes_through() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    assert thinking.apply_thinking(body, "some-compat-model", CHAT, CHAT) is body


def test_unknown_model_suffix_is_written_for_claude_as_adaptive_effort() -> None:
    body = {"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}
    out = thinking.apply_thinking(body, "custom-claude-4-6(high)", CHAT, CLAUDE)
    assert out == {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}


def test_auto_on_an_adaptive_claude_model_clears_effort() -> None:
    support = ThinkingSupport(levels=("low", "high"), min_budget=1024, max_budget=128000, dynamic_allowed=True)
    out = thinking.apply_thinking(claude_adaptive("low"), "m(auto)", CHAT, CLAUDE, support=support)
    assert out == {"thinking": {"type": "adaptive"}}


def test_openai_compat_budget_suffix_becomes_reasoning_effort() -> None:
    out = thinking.apply_thinking({}, "gemini-2.5-pro(8192)", CHAT, CHAT)
    assert out == {"reasoning_effort": "medium"}


def test_gemini_user_include_thoughts_is_kept() -> None:
    out = thinking.apply_thinking(gem(budget=4096, it=False), "gemini-2.5-pro", CHAT, GEMINI)
    assert out["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 4096, "includeThoughts": False}


def test_unknown_target_format_passes_through() -> None:
    body = {"reasoning_effort": "ultra"}
    assert thinking.apply_thinking(body, "gpt-5(high)", CHAT, "kimi") is body


@pytest.mark.parametrize(("body", "dialect", "intent"), [
    ({"reasoning_effort": "HIGH"}, CHAT, thinking.Intent("level", level="high")),
    (resp("none"), RESP, thinking.Intent("none", 0)),
    (claude_on(-1), CLAUDE, thinking.Intent("auto", -1)),
    ({"thinking": {"type": "enabled"}}, CLAUDE, thinking.Intent("auto", -1)),
    (claude_adaptive(), CLAUDE, None),
    ({"generationConfig": {"thinkingConfig": {"thinking_budget": 300}}}, GEMINI, thinking.Intent("budget", 300)),
    ({"generationConfig": {"thinkingConfig": {"thinkingBudget": True}}}, GEMINI, None),
])
def test_read_intent_per_dialect(body, dialect, intent) -> None:
    assert thinking.read_intent(body, dialect) == intent


# --- suffix parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "base", "parsed"), [
    ("gpt-5-codex(high)", "gpt-5-codex", ir.Thinking(level="high")),
    ("gemini-2.5-pro(8192)", "gemini-2.5-pro", ir.Thinking(budget=8192)),
    ("glm-4.1-flash(high)", "glm-4.1-flash", ir.Thinking(level="high")),
    ("qwen-max(16384)", "qwen-max", ir.Thinking(budget=16384)),
    ("m(none)", "m", ir.Thinking(level="none")),
    ("m(auto)", "m", ir.Thinking(level="auto")),
    ("m(-1)", "m", ir.Thinking(budget=-1)),
    ("m(0)", "m", ir.Thinking(budget=0)),
    ("m(HIGH)", "m", ir.Thinking(level="high")),
    ("m(Max)", "m", ir.Thinking(level="max")),
    ("m(08192)", "m", ir.Thinking(budget=8192)),
    ("a(b)(xhigh)", "a(b)", ir.Thinking(level="xhigh")),
    ("team/gpt-5(minimal)", "team/gpt-5", ir.Thinking(level="minimal")),
])
def test_parse_suffix(model, base, parsed) -> None:
    assert models.parse_suffix(model) == (base, parsed)


@pytest.mark.parametrize("model", ["gpt-5", "m(ultra)", "m(abc)", "m(-5)", "m()", "m(high", "(high)",
                                   "m(99999999999999999999)", "m(1.5)"])
def test_parse_suffix_leaves_names_without_a_valid_suffix_whole(model) -> None:
    assert models.parse_suffix(model) == (model, None)


# --- conversions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "budget"), [("none", 0), ("auto", -1), ("minimal", 512), ("low", 1024),
                                               ("medium", 8192), ("HIGH", 24576), ("xhigh", 32768),
                                               ("max", 128000), ("ultra", None)])
def test_level_to_budget(level, budget) -> None:
    assert thinking.level_to_budget(level) == budget


@pytest.mark.parametrize(("budget", "level"), [(-2, None), (-1, "auto"), (0, "none"), (1, "minimal"),
                                               (512, "minimal"), (513, "low"), (1024, "low"), (1025, "medium"),
                                               (8192, "medium"), (8193, "high"), (24576, "high"),
                                               (24577, "xhigh"), (128000, "xhigh"), (10**9, "xhigh")])
def test_budget_to_level_never_gives_max(budget, level) -> None:
    assert thinking.budget_to_level(budget) == level


@pytest.mark.parametrize(("level", "supported", "clamped"), [
    ("medium", ("low", "high"), "low"),
    ("xhigh", ("low", "medium", "high", "max"), "high"),
    ("max", ("minimal", "low", "medium", "high"), "high"),
    ("minimal", ("low", "medium", "high"), "low"),
    ("high", ("minimal", "high"), "high"),
    ("none", ("low", "high"), "none"),
])
def test_clamp_level_takes_the_nearest_and_the_lower_on_a_tie(level, supported, clamped) -> None:
    assert thinking.clamp_level(level, supported) == clamped


@pytest.mark.parametrize(("level", "supports_max", "effort"), [
    ("minimal", False, "low"), ("low", False, "low"), ("medium", True, "medium"), ("HIGH", False, "high"),
    ("xhigh", False, "high"), ("xhigh", True, "max"), ("max", False, "high"), ("auto", True, "high"),
    ("", True, None), ("ultra", True, None),
])
def test_claude_effort(level, supports_max, effort) -> None:
    assert thinking.claude_effort(level, supports_max=supports_max) == effort


def test_budget_below_minus_one_on_a_level_model_is_a_400() -> None:
    with pytest.raises(BadRequestError, match=r"^budget -5 cannot be converted to a valid level$"):
        thinking.apply_thinking(gem(budget=-5), "level-model", GEMINI, GEMINI, support=LEVEL)


def test_unknown_level_on_a_budget_model_is_a_400() -> None:
    with pytest.raises(BadRequestError, match=r"^unknown level: ultra$"):
        thinking.apply_thinking(gem(level="ultra"), "m", CHAT, GEMINI, support=GEMINI_BUDGET)
