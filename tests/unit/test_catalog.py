"""Built-in model catalog: model lists per upstream kind and thinking support by base name."""

from __future__ import annotations

import pytest

from core import catalog
from core.credentials import ThinkingSupport


@pytest.mark.parametrize(("kind", "ids", "owner"), [
    ("codex", {"gpt-5", "gpt-5-codex", "gpt-5-codex-mini", "gpt-5.1", "gpt-5.1-codex-max", "gpt-5.2",
               "gpt-5.2-codex", "gpt-5.3-codex", "gpt-5.3-codex-spark", "gpt-5.4"}, "openai"),
    ("claude", {"claude-sonnet-4-5-20250929", "claude-sonnet-4-6", "claude-opus-4-6", "claude-haiku-4-5-20251001",
                "claude-opus-4-1-20250805"}, "anthropic"),
    ("gemini", {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-3-pro-preview",
                "gemini-3-flash-preview"}, "google"),
])
def test_models_for_lists_the_kind_catalog(kind, ids, owner) -> None:
    models = catalog.models_for(kind)
    listed = [m.id for m in models]
    assert ids <= set(listed)
    assert len(listed) == len(set(listed))
    assert all(m.owned_by == owner and m.created > 0 and m.display_name and m.kind == kind for m in models)


def test_openai_compat_and_unknown_kinds_have_no_builtin_models() -> None:
    assert catalog.models_for("openai_compat") == []
    assert catalog.models_for("nope") == []


def test_models_for_returns_a_fresh_list() -> None:
    catalog.models_for("codex").clear()
    assert catalog.models_for("codex")


@pytest.mark.parametrize(("model", "support"), [
    ("gpt-5", ThinkingSupport(levels=("minimal", "low", "medium", "high"))),
    ("gpt-5-codex", ThinkingSupport(levels=("low", "medium", "high"))),
    ("gpt-5.1", ThinkingSupport(levels=("none", "low", "medium", "high"))),
    ("gpt-5.2", ThinkingSupport(levels=("none", "low", "medium", "high", "xhigh"))),
    ("gpt-5.3-codex", ThinkingSupport(levels=("low", "medium", "high", "xhigh"))),
    ("claude-sonnet-4-5-20250929", ThinkingSupport(min_budget=1024, max_budget=128000, zero_allowed=True)),
    ("claude-opus-4-1-20250805", ThinkingSupport(min_budget=1024, max_budget=128000)),
    ("claude-sonnet-4-6", ThinkingSupport(("low", "medium", "high"), 1024, 128000, zero_allowed=True)),
    ("claude-opus-4-6", ThinkingSupport(("low", "medium", "high", "max"), 1024, 128000, zero_allowed=True)),
    ("claude-3-5-haiku-20241022", ThinkingSupport()),
    ("gemini-2.5-pro", ThinkingSupport(min_budget=128, max_budget=32768, dynamic_allowed=True)),
    ("gemini-2.5-flash", ThinkingSupport(max_budget=24576, zero_allowed=True, dynamic_allowed=True)),
    ("gemini-3-pro-preview", ThinkingSupport(("low", "high"), 128, 32768, dynamic_allowed=True)),
    ("gemini-3-flash-preview", ThinkingSupport(("minimal", "low", "medium", "high"), 128, 32768,
                                               dynamic_allowed=True)),
])
def test_thinking_support_of_known_models(model, support) -> None:
    assert catalog.thinking_support(model) == support


@pytest.mark.parametrize(("name", "model_id"), [
    ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),  # undated alias
    ("CLAUDE-OPUS-4-6", "claude-opus-4-6"),
    ("models/gemini-2.5-pro", "gemini-2.5-pro"),
    ("gpt-5.1-codex-max", "gpt-5.1-codex-max"),
])
def test_lookup_by_base_name(name, model_id) -> None:
    entry = catalog.lookup(name)
    assert entry is not None and entry.id == model_id


def test_unknown_model_has_no_support_and_a_suffixed_name_is_not_a_base_name() -> None:
    assert catalog.thinking_support("my-local-model") is None
    assert catalog.thinking_support("gpt-5(high)") is None


def test_declared_support_wins_over_the_catalog() -> None:
    declared = ThinkingSupport(levels=("low", "medium", "high"))
    assert catalog.thinking_support("gpt-5.2", declared=declared) is declared
    assert catalog.thinking_support("compat-model", declared=declared) is declared


def test_claude_entries_carry_max_completion_tokens() -> None:
    assert catalog.lookup("claude-opus-4-6").max_completion_tokens == 128000
    assert catalog.lookup("claude-sonnet-4-6").max_completion_tokens == 64000
