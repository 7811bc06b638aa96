"""The level <-> budget tables and the normalised intent every thinking step works on (§2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from core import ir

Mode = Literal["budget", "level", "none", "auto"]

LEVEL_BUDGETS: dict[str, int] = {
    "none": 0, "auto": -1, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768, "max": 128000,
}
# The ordered scale used for clamping; none and auto are not on it.
SCALE: tuple[str, ...] = ("minimal", "low", "medium", "high", "xhigh", "max")
# Upper budget bound of each level; anything above the last is xhigh (never max).
_CEILINGS = ((512, "minimal"), (1024, "low"), (8192, "medium"), (24576, "high"))
# Across families a high intent keeps as much effort as the model allows before nearest-level clamping.
_HIGH_PREFERENCE = {"xhigh": ("xhigh", "max", "high"), "max": ("max", "xhigh", "high")}


def level_to_budget(level: str) -> int | None:
    """``HIGH`` -> 24576; None for an unknown level."""
    return LEVEL_BUDGETS.get(level.strip().lower())


def budget_to_level(budget: int) -> str | None:
    """-1 auto, 0 none, 1..512 minimal, ..., >24576 xhigh; None below -1."""
    if budget < -1:
        return None
    if budget == -1:
        return "auto"
    if budget == 0:
        return "none"
    for ceiling, level in _CEILINGS:
        if budget <= ceiling:
            return level
    return "xhigh"


def clamp_level(level: str, supported: tuple[str, ...]) -> str:
    """The supported level nearest on the scale, the lower one on a tie; off-scale levels stay as they are."""
    on_scale = [s for s in supported if s in SCALE]
    if level not in SCALE or not on_scale or level in supported:
        return level
    rank = SCALE.index(level)
    return min(on_scale, key=lambda s: (abs(SCALE.index(s) - rank), SCALE.index(s)))


def prefer_high(level: str, supported: tuple[str, ...]) -> str:
    """xhigh tries xhigh, max, high and max tries max, xhigh, high; else the level unchanged."""
    return next((c for c in _HIGH_PREFERENCE.get(level, ()) if c in supported), level)


def effort_of(thinking: ir.Thinking | None) -> str | None:
    """The OpenAI effort a neutral intent asks for: its level as is, else its budget as a level, else None."""
    if thinking is None:
        return None
    if thinking.level is not None:
        return thinking.level
    return budget_to_level(thinking.budget) if thinking.budget is not None else None


def claude_effort(level: str, *, supports_max: bool) -> str | None:
    """A level as a Claude adaptive ``effort`` (low, medium, high, max); None for an empty or unknown level."""
    level = level.strip().lower()
    if level in ("low", "medium", "high"):
        return level
    if level == "minimal":
        return "low"
    if level in ("xhigh", "max"):
        return "max" if supports_max else "high"
    return "high" if level == "auto" else None


@dataclass(frozen=True, slots=True)
class Intent:
    """Reasoning asked for, normalised: a level, a budget, off (``none``, budget 0) or dynamic (``auto``, -1).

    ``level`` on a ``none`` intent means "cannot be switched off: think at this lowest level, hide thoughts".
    """

    mode: Mode
    budget: int = 0
    level: str | None = None

    @classmethod
    def of_level(cls, level: str) -> Intent:
        level = level.strip().lower()
        if level == "none":
            return cls("none", 0)
        if level == "auto":
            return cls("auto", -1)
        return cls("level", level=level)

    @classmethod
    def of_budget(cls, budget: int) -> Intent:
        if budget == 0:
            return cls("none", 0)
        if budget == -1:
            return cls("auto", -1)
        return cls("budget", budget)

    @classmethod
    def of_thinking(cls, thinking: ir.Thinking | None) -> Intent | None:
        """The intent of a neutral ``ir.Thinking`` (its level wins over its budget); None when it says nothing."""
        if thinking is None:
            return None
        if thinking.level is not None:
            return cls.of_level(thinking.level)
        if thinking.budget is not None:
            return cls.of_budget(thinking.budget)
        return None
