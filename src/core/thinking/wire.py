"""Where each upstream dialect keeps its thinking fields: read the intent, strip it, write a validated one.

    openai_chat        reasoning_effort
    openai_responses   reasoning.effort
    anthropic          thinking {type: enabled|disabled|adaptive, budget_tokens} + output_config.effort
    gemini             generationConfig.thinkingConfig {thinkingLevel | thinkingBudget, includeThoughts}

Every function returns a new body; the one it was given is left as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core import jsonpath
from core.thinking.levels import Intent, budget_to_level, level_to_budget

if TYPE_CHECKING:
    from core.credentials import ThinkingSupport

Body = dict[str, Any]

_EFFORT_PATH = {"openai_chat": "reasoning_effort", "openai_responses": "reasoning.effort"}
EFFORT_DIALECTS = frozenset(_EFFORT_PATH)  # the dialects whose only thinking field is an effort level
_GEMINI = "generationConfig.thinkingConfig"
_GEMINI_LEVEL_KEYS = ("thinkingLevel", "thinking_level")
_GEMINI_BUDGET_KEYS = ("thinkingBudget", "thinking_budget")
# The top-level keys under which each dialect keeps every field ``read`` and ``strip`` look at.
_ROOTS = {"openai_chat": ("reasoning_effort",), "openai_responses": ("reasoning",),
          "anthropic": ("thinking", "output_config"), "gemini": ("generationConfig",)}


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _word(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


# --- reading ------------------------------------------------------------------------------------------


def present(body: Body, fmt: str) -> bool:
    """Whether the body has a key that may hold thinking fields of ``fmt`` (False: nothing to read or strip)."""
    return any(key in body for key in _ROOTS.get(fmt, ()))


def read(body: Body, fmt: str) -> Intent | None:
    """The thinking intent the body carries in dialect ``fmt``, or None when it carries none."""
    if fmt in _EFFORT_PATH:
        effort = _word(jsonpath.get_path(body, _EFFORT_PATH[fmt]))
        return Intent.of_level(effort) if effort else None
    if fmt == "anthropic":
        return _read_claude(body)
    if fmt == "gemini":
        return _read_gemini(jsonpath.get_path(body, _GEMINI))
    return None


def _read_claude(body: Body) -> Intent | None:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict):
        return None
    kind = thinking.get("type")
    if kind == "disabled":
        return Intent("none", 0)
    if kind in ("adaptive", "auto"):
        effort = _word(jsonpath.get_path(body, "output_config.effort"))
        return Intent.of_level(effort) if effort else None
    budget = _as_int(thinking.get("budget_tokens"))
    if budget is not None:
        return Intent.of_budget(budget)
    return Intent("auto", -1) if kind == "enabled" else None


def _read_gemini(config: Any) -> Intent | None:
    if not isinstance(config, dict):
        return None
    for key in _GEMINI_LEVEL_KEYS:
        if level := _word(config.get(key)):
            return Intent.of_level(level)
    for key in _GEMINI_BUDGET_KEYS:
        if (budget := _as_int(config.get(key))) is not None:
            return Intent.of_budget(budget)
    return None


# --- stripping ----------------------------------------------------------------------------------------


def strip(body: Body, fmt: str) -> Body:
    """Remove every thinking field of ``fmt`` (for models that cannot think)."""
    if fmt == "openai_chat":
        return jsonpath.delete_path(body, "reasoning_effort")
    if fmt == "openai_responses":
        return _drop_empty(jsonpath.delete_path(body, "reasoning.effort"), "reasoning")
    if fmt == "anthropic":
        body = jsonpath.delete_path(body, "thinking")
        return _drop_empty(jsonpath.delete_path(body, "output_config.effort"), "output_config")
    if fmt == "gemini":
        return jsonpath.delete_path(body, _GEMINI)
    return body


def _drop_empty(body: Body, key: str) -> Body:
    return jsonpath.delete_path(body, key) if body.get(key) == {} else body


# --- writing a validated intent -----------------------------------------------------------------------


def write(body: Body, intent: Intent, support: ThinkingSupport, fmt: str, *, max_output: int | None) -> Body:
    """Write an intent already validated against ``support`` in dialect ``fmt`` (§7)."""
    levels = tuple(level.lower() for level in support.levels)
    if fmt in _EFFORT_PATH:
        return _write_effort(body, fmt, _known_effort(intent, support, levels))
    if fmt == "anthropic":
        return _write_claude(body, intent, support, adaptive=bool(levels), max_output=max_output)
    if fmt == "gemini":
        return _write_gemini_known(body, intent, has_levels=bool(levels))
    return body


def _known_effort(intent: Intent, support: ThinkingSupport, levels: tuple[str, ...]) -> str | None:
    if intent.mode == "level":
        return intent.level
    if intent.mode == "budget":
        return budget_to_level(intent.budget)  # CLIProxyAPI leaves it unchanged; a budget suffix would be lost
    if intent.mode == "none":
        if intent.budget == 0 and (support.zero_allowed or "none" in levels):
            return "none"
        fallback = levels[0] if levels else budget_to_level(intent.budget)
        return intent.level or fallback
    return "auto"  # a model with dynamic thinking takes auto as it is


def _write_effort(body: Body, fmt: str, effort: str | None) -> Body:
    return jsonpath.set_path(body, _EFFORT_PATH[fmt], effort) if effort else body


def _write_claude(body: Body, intent: Intent, support: ThinkingSupport | None, *, adaptive: bool,
                  max_output: int | None) -> Body:
    if intent.mode == "level" and not adaptive:
        intent = Intent.of_budget(level_to_budget(intent.level or "") or 0)
    if intent.mode == "level" and intent.level:
        return jsonpath.set_path(_claude_thinking(body, "adaptive"), "output_config.effort", intent.level)
    body = _drop_empty(jsonpath.delete_path(body, "output_config.effort"), "output_config")
    if intent.mode == "auto" and adaptive:
        return _claude_thinking(body, "adaptive")
    if intent.mode == "none" or intent.budget == 0:
        return _claude_thinking(body, "disabled")
    if intent.mode == "auto":
        return _claude_thinking(body, "enabled")
    body, budget = _fit_under_max_tokens(body, intent.budget, support, max_output)
    return _claude_thinking(body, "enabled", budget)


def _claude_thinking(body: Body, kind: str, budget: int | None = None) -> Body:
    """Set ``thinking.type``; other client keys (``display``) survive unless thinking is switched off."""
    current = body.get("thinking")
    thinking: dict[str, Any] = {}
    if isinstance(current, dict) and kind != "disabled":
        thinking = {k: v for k, v in current.items() if k != "budget_tokens"}
    thinking["type"] = kind
    if budget is not None:
        thinking["budget_tokens"] = budget
    return {**body, "thinking": thinking}


def _fit_under_max_tokens(body: Body, budget: int, support: ThinkingSupport | None,
                          max_output: int | None) -> tuple[Body, int]:
    """Claude needs max_tokens above budget_tokens: lower the budget to max_tokens - 1 when that is allowed."""
    max_tokens = _as_int(body.get("max_tokens"))
    if not max_tokens or max_tokens <= 0:
        if not max_output:
            return body, budget
        max_tokens = max_output
        body = {**body, "max_tokens": max_output}
    minimum = (support.min_budget or 0) if support else 0
    if budget >= max_tokens and max_tokens - 1 >= minimum:
        budget = max_tokens - 1
    return body, budget


def _write_gemini_known(body: Body, intent: Intent, *, has_levels: bool) -> Body:
    if intent.mode == "level":
        return _gemini_level(body, intent.level, thoughts=None)
    if intent.mode == "none":
        if has_levels:
            return _gemini_level(body, intent.level, thoughts=False)
        return _gemini_budget(body, intent.budget, thoughts=False)
    return _gemini_budget(body, intent.budget, thoughts=None)


def _gemini_level(body: Body, level: str | None, *, thoughts: bool | None) -> Body:
    """Level form; ``thoughts`` None keeps the client's includeThoughts, defaulting to on."""
    config = _gemini_config(body)
    user = _user_thoughts(config)
    for key in ("thinkingBudget", "thinking_budget", "thinking_level", "include_thoughts"):
        config.pop(key, None)
    if level:
        config["thinkingLevel"] = level
    config["includeThoughts"] = thoughts if thoughts is not None else (user if user is not None else True)
    return jsonpath.set_path(body, _GEMINI, config)


def _gemini_budget(body: Body, budget: int, *, thoughts: bool | None) -> Body:
    """Budget form; ``thoughts`` None keeps the client's includeThoughts, defaulting to "budget is not off"."""
    config = _gemini_config(body)
    user = _user_thoughts(config)
    for key in ("thinkingLevel", "thinking_level", "thinking_budget", "include_thoughts"):
        config.pop(key, None)
    config["thinkingBudget"] = budget
    config["includeThoughts"] = thoughts if thoughts is not None else (user if user is not None else budget != 0)
    return jsonpath.set_path(body, _GEMINI, config)


def _gemini_config(body: Body) -> dict[str, Any]:
    config = jsonpath.get_path(body, _GEMINI)
    return dict(config) if isinstance(config, dict) else {}


def _user_thoughts(config: dict[str, Any]) -> bool | None:
    for key in ("includeThoughts", "include_thoughts"):
        if isinstance(config.get(key), bool):
            return bool(config[key])
    return None


# --- writing for a model we know nothing about ----------------------------------------------------------


def write_unvalidated(body: Body, intent: Intent, fmt: str) -> Body:
    """Unknown models: write the intent as asked, converting only where the dialect has no such form."""
    if fmt in _EFFORT_PATH:
        effort = {"level": intent.level, "none": intent.level or "none", "auto": "auto"}.get(intent.mode)
        return _write_effort(body, fmt, effort or budget_to_level(intent.budget))
    if fmt == "anthropic":
        return _write_claude(body, intent, None, adaptive=intent.mode == "level", max_output=None)
    if fmt == "gemini":
        if intent.mode == "level" and (budget := level_to_budget(intent.level or "")) is not None:
            intent = Intent("budget", budget)
        off = False if intent.mode == "none" else None  # off hides thoughts; otherwise the client decides
        if intent.mode == "level" or (intent.mode == "none" and intent.level):
            return _gemini_level(body, intent.level, thoughts=off)
        return _gemini_budget(body, intent.budget, thoughts=off)
    return body
