"""Thinking / reasoning normalisation across dialects (thinking-payload.md §2–§7).

Clients ask for reasoning as OpenAI ``reasoning_effort``, Responses ``reasoning.effort``, Anthropic
``thinking`` / ``output_config.effort`` or Gemini ``thinkingConfig``; each upstream model accepts only some
levels or a budget range. ``apply_thinking`` runs on the body already rendered in the upstream dialect,
takes the intent the translation carried over (or the model-name suffix, which wins), checks it against the
model and writes what the upstream accepts. The OpenAI renderers leave their effort field to it
(``carried_intent``), so the field is written once; the Claude and Gemini renderers write their own thinking
config, which depends on the rest of their body (max_tokens, tool loops), and it is read back from there:

- same family (the client speaks the model's own dialect family): an unsupported level or an out-of-range
  body budget is a 400 (``budget 64000 out of range [128,20000]``);
- across families: clamped to the nearest supported level (ties to the lower) or into the budget range;
- dynamic thinking on a model without it becomes medium / the middle of the range;
- a known model that cannot think loses its thinking fields; an unknown model gets the intent unvalidated.

Level <-> budget: none 0, auto -1, minimal 512, low 1024, medium 8192, high 24576, xhigh 32768, max 128000
(``budget_to_level`` never gives max).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core import catalog, models
from core.thinking import wire
from core.thinking.levels import (
    LEVEL_BUDGETS,
    SCALE,
    Intent,
    budget_to_level,
    clamp_level,
    claude_effort,
    effort_of,
    level_to_budget,
)
from core.thinking.validate import can_think, clamp_budget, validate

if TYPE_CHECKING:
    from core import ir
    from core.credentials import ThinkingSupport

__all__ = [
    "FAMILIES",
    "LEVEL_BUDGETS",
    "SCALE",
    "Intent",
    "apply_thinking",
    "budget_to_level",
    "carried_intent",
    "clamp_budget",
    "clamp_level",
    "claude_effort",
    "effort_of",
    "level_to_budget",
    "read_intent",
]

# Dialect -> provider family; a Codex upstream speaks openai_responses.
FAMILIES: dict[str, str] = {
    "openai_chat": "openai", "openai_responses": "openai", "anthropic": "claude", "gemini": "gemini",
}
# Upstream kind of a catalog model -> its family.
_KIND_FAMILY = {"codex": "openai", "claude": "claude", "gemini": "gemini"}
# The effort a re-rendered Responses body asks for when the client asked for none (Codex CLI's default).
_RENDERED_DEFAULT = {"openai_responses": "medium"}


def apply_thinking(body: dict[str, Any], model: str, from_fmt: str, to_fmt: str, *,
                   suffix: ir.Thinking | None = None, support: ThinkingSupport | None = None,
                   carried: Intent | None = None) -> dict[str, Any]:
    """Return ``body`` (in dialect ``to_fmt``) with its thinking fields fitted to ``model``.

    ``model`` may carry a suffix (``gpt-5(high)``); an explicit ``suffix`` wins over it, and either wins
    over the intent ``carried`` from a re-rendered request (``carried_intent``), which wins over the body.
    ``support`` defaults to the catalog entry of the base name. Raises BadRequestError when a same-family
    request asks for what the model cannot do. ``body`` itself is never mutated.
    """
    if to_fmt not in FAMILIES:
        return body
    from_fmt = from_fmt or to_fmt
    base, parsed = models.parse_suffix(model)
    wanted = Intent.of_thinking(suffix if suffix is not None else parsed)
    if wanted is None and carried is None and not wire.present(body, to_fmt):
        return body  # nothing asks for thinking and nothing is there to strip: every branch below keeps body
    if support is None:
        support = catalog.thinking_support(base)
    if support is None:
        intent = wanted or carried or wire.read(body, to_fmt)
        return wire.write_unvalidated(body, intent, to_fmt) if intent else body
    if not can_think(support):
        return wire.strip(body, to_fmt)
    intent = wanted or carried or wire.read(body, to_fmt)
    if intent is None:
        return body
    entry = catalog.lookup(base)
    same_family = _same_family(from_fmt, to_fmt, entry)
    if wanted is None and not same_family and to_fmt == "anthropic":
        intent = _as_adaptive_effort(intent, support)
    checked = validate(intent, support, same_family=same_family,
                       from_suffix=wanted is not None, to_claude=to_fmt == "anthropic")
    max_output = entry.max_completion_tokens if entry else None
    return wire.write(body, checked, support, to_fmt, max_output=max_output)


def carried_intent(thinking: ir.Thinking | None, to_fmt: str) -> Intent | None:
    """The intent a request re-rendered into ``to_fmt`` hands ``apply_thinking``: for the OpenAI dialects, whose
    renderers write no effort, the client's thinking as a level (OpenAI speaks levels), else Codex's default;
    None for Claude and Gemini, whose renderers wrote their thinking config into the body."""
    if to_fmt not in wire.EFFORT_DIALECTS:
        return None
    level = effort_of(thinking) or _RENDERED_DEFAULT.get(to_fmt)
    return Intent.of_level(level) if level else None


def read_intent(body: dict[str, Any], dialect: str) -> Intent | None:
    """The thinking intent a body in ``dialect`` carries (None when it asks for nothing)."""
    return wire.read(body, dialect)


def _as_adaptive_effort(intent: Intent, support: ThinkingSupport) -> Intent:
    """A budget carried over from another family reaches an adaptive Claude model as an effort (§4.1)."""
    levels = tuple(level.lower() for level in support.levels)
    if intent.mode != "budget" or not levels or not (support.min_budget or support.max_budget):
        return intent
    effort = claude_effort(budget_to_level(intent.budget) or "", supports_max="max" in levels)
    return Intent.of_level(effort) if effort else intent


def _same_family(from_fmt: str, to_fmt: str, entry: catalog.ModelEntry | None) -> bool:
    """Strict only when client, upstream dialect and (if known) the model all belong to one family."""
    family = FAMILIES.get(to_fmt)
    if FAMILIES.get(from_fmt) != family:
        return False
    return entry is None or _KIND_FAMILY.get(entry.kind) == family
