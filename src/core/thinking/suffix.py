"""Model-name thinking suffix: ``gpt-5-codex(high)``, ``gemini-2.5-pro(8192)``, ``(none)``, ``(auto)``, ``(-1)``."""

from __future__ import annotations

from core import ir
from core.thinking.levels import SCALE

_INT64_MAX = 2**63 - 1


def parse_suffix(model: str) -> tuple[str, ir.Thinking | None]:
    """Split the last ``(...)`` group at the end of ``model`` into base name and thinking.

    ``(none)`` and ``(0)`` are off, ``(auto)`` and ``(-1)`` dynamic, a level is kept lowercase, a
    non-negative integer is a budget. Any other content (``(ultra)``, ``(-5)``, ``()``) is not a suffix:
    the name comes back whole, since it may be a literal model id.
    """
    if not model.endswith(")"):
        return model, None
    start = model.rfind("(")
    if start <= 0:
        return model, None
    thinking = _suffix_thinking(model[start + 1 : -1].strip())
    return (model[:start], thinking) if thinking is not None else (model, None)


def _suffix_thinking(raw: str) -> ir.Thinking | None:
    word = raw.lower()
    if word == "none":
        return ir.Thinking(level="none")
    if word == "auto":
        return ir.Thinking(level="auto")
    if word == "-1":
        return ir.Thinking(budget=-1)
    if word in SCALE:
        return ir.Thinking(level=word)  # type: ignore[arg-type]  # SCALE holds ThinkingLevel values
    if raw.isascii() and raw.isdigit() and int(raw) <= _INT64_MAX:
        return ir.Thinking(budget=int(raw))
    return None
