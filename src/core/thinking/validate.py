"""Check an intent against a model's thinking support: strict within a family, clamped across (§6.1)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from core.errors import BadRequestError
from core.thinking.levels import Intent, budget_to_level, clamp_level, level_to_budget, prefer_high

if TYPE_CHECKING:
    from core.credentials import ThinkingSupport


def supported_levels(support: ThinkingSupport) -> tuple[str, ...]:
    return tuple(level.lower() for level in support.levels)


def budget_range(support: ThinkingSupport) -> tuple[int, int]:
    return support.min_budget or 0, support.max_budget or 0


def can_think(support: ThinkingSupport) -> bool:
    """A model thinks when it has levels or a budget range; an empty support means "no thinking"."""
    return bool(support.levels) or budget_range(support) != (0, 0)


def validate(intent: Intent, support: ThinkingSupport, *, same_family: bool, from_suffix: bool,
             to_claude: bool) -> Intent:
    """The intent the model can take, or BadRequestError (400) when a same-family request asks the impossible.

    Same family (the client already speaks the model's dialect): an unsupported level or a body budget out
    of range is the client's error. Across families the intent is clamped to what the model offers. A
    suffix budget is always clamped.
    """
    levels = supported_levels(support)
    has_budget = budget_range(support) != (0, 0)
    derived = False
    if intent.mode == "level" and not levels and has_budget:
        budget = level_to_budget(intent.level or "")
        if budget is None:
            raise BadRequestError(f"unknown level: {intent.level}")
        intent, derived = Intent.of_budget(budget), True
    elif intent.mode == "budget" and levels and not has_budget:
        level = budget_to_level(intent.budget)
        if level is None:
            raise BadRequestError(f"budget {intent.budget} cannot be converted to a valid level")
        intent = Intent.of_level(clamp_level(level, levels))
    if intent.mode == "level" and levels:
        intent = _check_level(intent, levels, clamp=not same_family)
    if same_family and not from_suffix and not derived and intent.mode == "budget":
        _check_budget(intent.budget, support)
    if intent.mode == "auto" and not support.dynamic_allowed:
        intent = _auto_without_dynamic(support, levels)
    if intent.mode == "none" and to_claude:
        return intent  # Claude can send type:disabled even when the model cannot think at budget 0
    if intent.mode in ("budget", "auto", "none"):
        budget = clamp_budget(intent.budget, support)
        if intent.mode == "none" and budget > 0 and levels:
            return Intent("none", budget, levels[0])
        return replace(intent, budget=budget)
    return intent


def _check_level(intent: Intent, levels: tuple[str, ...], *, clamp: bool) -> Intent:
    level = intent.level or ""
    if level not in levels and clamp:
        level = clamp_level(prefer_high(level, levels), levels)
    if level not in levels:
        raise BadRequestError(f'level "{intent.level}" not supported, valid levels: {", ".join(levels)}')
    return Intent.of_level(level)


def _check_budget(budget: int, support: ThinkingSupport) -> None:
    low, high = budget_range(support)
    if (low, high) != (0, 0) and (budget < low or budget > high):
        raise BadRequestError(f"budget {budget} out of range [{low},{high}]")


def _auto_without_dynamic(support: ThinkingSupport, levels: tuple[str, ...]) -> Intent:
    """Dynamic thinking the model cannot do: medium effort, or the middle of its budget range."""
    low, high = budget_range(support)
    if levels and (low, high) == (0, 0):
        return Intent.of_level(clamp_level("medium", levels))
    middle = (low + high) // 2
    if middle <= 0:
        return Intent("none", 0) if support.zero_allowed else Intent("budget", low)
    return Intent("budget", middle)


def clamp_budget(budget: int, support: ThinkingSupport) -> int:
    """-1 stays; 0 stays only when allowed (else min); otherwise into [min, max]."""
    low, high = budget_range(support)
    if budget == -1:
        return -1
    if budget == 0:
        return 0 if support.zero_allowed else low
    if (low, high) == (0, 0):
        return budget
    if budget < low:
        return low
    return min(budget, high) if high else budget
