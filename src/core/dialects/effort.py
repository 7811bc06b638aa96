"""OpenAI reasoning effort from the neutral thinking intent (``reasoning_effort`` / ``reasoning.effort``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core import ir

# Upper budget bound of each level (thinking-payload.md §2, ConvertBudgetToLevel); above the last: xhigh.
_BUDGET_CEILINGS = ((512, "minimal"), (1024, "low"), (8192, "medium"), (24576, "high"))


def from_budget(budget: int) -> str | None:
    """-1 auto, 0 none, then by ceiling; None for a budget below -1 (no valid level)."""
    if budget == -1:
        return "auto"
    if budget == 0:
        return "none"
    if budget < -1:
        return None
    for ceiling, level in _BUDGET_CEILINGS:
        if budget <= ceiling:
            return level
    return "xhigh"


def of(thinking: ir.Thinking | None) -> str | None:
    """The effort the client asked for: its level as is, else its budget as a level, else None."""
    if thinking is None:
        return None
    if thinking.level is not None:
        return thinking.level
    if thinking.budget is not None:
        return from_budget(thinking.budget)
    return None
