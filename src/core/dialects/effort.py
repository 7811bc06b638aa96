"""OpenAI reasoning effort from the neutral thinking intent (``reasoning_effort`` / ``reasoning.effort``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.thinking.levels import budget_to_level

if TYPE_CHECKING:
    from core import ir


def of(thinking: ir.Thinking | None) -> str | None:
    """The effort the client asked for: its level as is, else its budget as a level, else None."""
    if thinking is None:
        return None
    if thinking.level is not None:
        return thinking.level
    if thinking.budget is not None:
        return budget_to_level(thinking.budget)
    return None
