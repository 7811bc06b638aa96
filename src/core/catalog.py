"""Built-in model catalog: what each upstream kind serves when a credential lists no ``models``, and what
reasoning each known model supports (thinking-payload.md §5; ids and dates as CLIProxyAPI ships them).

An empty ``ThinkingSupport()`` means "known, cannot think" (thinking fields are stripped); ``None`` from
``thinking_support`` means "unknown model" (its thinking fields pass through unvalidated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.credentials import ThinkingSupport

_DATE = re.compile(r"-\d{8}$")
# Model families by name: an id the catalog does not know still goes to the credentials of its family's kind.
_FAMILIES = (("claude", re.compile(r"claude-")), ("codex", re.compile(r"(?:gpt-|codex-|o\d)")),
             ("gemini", re.compile(r"gemini-")))


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    owned_by: str
    created: int
    display_name: str
    kind: str  # the upstream kind that serves it, which is also its thinking family
    thinking: ThinkingSupport = field(default_factory=ThinkingSupport)
    max_completion_tokens: int | None = None  # Claude: max_tokens written when a request has none
    context_length: int | None = None
    description: str = ""


def _claude(id_: str, created: int, name: str, max_out: int, thinking: ThinkingSupport) -> ModelEntry:
    return ModelEntry(id_, "anthropic", created, name, "claude", thinking, max_out, 200000)


def _gemini(id_: str, created: int, name: str, thinking: ThinkingSupport) -> ModelEntry:
    return ModelEntry(id_, "google", created, name, "gemini", thinking, 65536, 1048576, name)


def _codex(id_: str, created: int, name: str, levels: tuple[str, ...]) -> ModelEntry:
    return ModelEntry(id_, "openai", created, name, "codex", ThinkingSupport(levels=levels), 128000)


_CLAUDE_BUDGET = ThinkingSupport(min_budget=1024, max_budget=128000, zero_allowed=True)
_CLAUDE_OLD = ThinkingSupport(min_budget=1024, max_budget=128000)  # before 4.5: thinking cannot be off at 0
_CLAUDE_ADAPTIVE = ThinkingSupport(("low", "medium", "high"), 1024, 128000, zero_allowed=True)
_CLAUDE_ADAPTIVE_MAX = ThinkingSupport(("low", "medium", "high", "max"), 1024, 128000, zero_allowed=True)

_GEMINI_PRO = ThinkingSupport(min_budget=128, max_budget=32768, dynamic_allowed=True)
_GEMINI_FLASH = ThinkingSupport(max_budget=24576, zero_allowed=True, dynamic_allowed=True)


def _gemini3(*levels: str) -> ThinkingSupport:
    return ThinkingSupport(levels, 128, 32768, dynamic_allowed=True)


_GPT5 = ("minimal", "low", "medium", "high")
_CODEX = ("low", "medium", "high")
_GPT51 = ("none", "low", "medium", "high")
_GPT52 = ("none", "low", "medium", "high", "xhigh")
_CODEX_XHIGH = ("low", "medium", "high", "xhigh")

_MODELS: dict[str, tuple[ModelEntry, ...]] = {
    "claude": (
        _claude("claude-haiku-4-5-20251001", 1759276800, "Claude 4.5 Haiku", 64000, _CLAUDE_BUDGET),
        _claude("claude-sonnet-4-5-20250929", 1759104000, "Claude 4.5 Sonnet", 64000, _CLAUDE_BUDGET),
        _claude("claude-sonnet-4-6", 1771372800, "Claude 4.6 Sonnet", 64000, _CLAUDE_ADAPTIVE),
        _claude("claude-opus-4-6", 1770318000, "Claude 4.6 Opus", 128000, _CLAUDE_ADAPTIVE_MAX),
        _claude("claude-opus-4-5-20251101", 1761955200, "Claude 4.5 Opus", 64000, _CLAUDE_BUDGET),
        _claude("claude-opus-4-1-20250805", 1722945600, "Claude 4.1 Opus", 32000, _CLAUDE_OLD),
        _claude("claude-opus-4-20250514", 1715644800, "Claude 4 Opus", 32000, _CLAUDE_OLD),
        _claude("claude-sonnet-4-20250514", 1715644800, "Claude 4 Sonnet", 64000, _CLAUDE_OLD),
        _claude("claude-3-7-sonnet-20250219", 1708300800, "Claude 3.7 Sonnet", 8192, _CLAUDE_OLD),
        _claude("claude-3-5-haiku-20241022", 1729555200, "Claude 3.5 Haiku", 8192, ThinkingSupport()),
    ),
    "gemini": (
        _gemini("gemini-2.5-pro", 1750118400, "Gemini 2.5 Pro", _GEMINI_PRO),
        _gemini("gemini-2.5-flash", 1750118400, "Gemini 2.5 Flash", _GEMINI_FLASH),
        _gemini("gemini-2.5-flash-lite", 1753142400, "Gemini 2.5 Flash Lite", _GEMINI_FLASH),
        _gemini("gemini-3-pro-preview", 1737158400, "Gemini 3 Pro Preview", _gemini3("low", "high")),
        _gemini("gemini-3.1-pro-preview", 1771459200, "Gemini 3.1 Pro Preview", _gemini3("low", "high")),
        _gemini("gemini-3-flash-preview", 1765929600, "Gemini 3 Flash Preview",
                _gemini3("minimal", "low", "medium", "high")),
        _gemini("gemini-3.1-flash-lite-preview", 1776288000, "Gemini 3.1 Flash Lite Preview",
                _gemini3("minimal", "high")),
        _gemini("gemini-3.1-flash-image-preview", 1771459200, "Gemini 3.1 Flash Image Preview",
                _gemini3("minimal", "high")),
        _gemini("gemini-3-pro-image-preview", 1737158400, "Gemini 3 Pro Image Preview", _gemini3("low", "high")),
    ),
    "codex": (
        _codex("gpt-5", 1754524800, "GPT 5", _GPT5),
        _codex("gpt-5-codex", 1757894400, "GPT 5 Codex", _CODEX),
        _codex("gpt-5-codex-mini", 1762473600, "GPT 5 Codex Mini", _CODEX),
        _codex("gpt-5.1", 1762905600, "GPT 5.1", _GPT51),
        _codex("gpt-5.1-codex", 1762905600, "GPT 5.1 Codex", _CODEX),
        _codex("gpt-5.1-codex-mini", 1762905600, "GPT 5.1 Codex Mini", _CODEX),
        _codex("gpt-5.1-codex-max", 1763424000, "GPT 5.1 Codex Max", _CODEX_XHIGH),
        _codex("gpt-5.2", 1765440000, "GPT 5.2", _GPT52),
        _codex("gpt-5.2-codex", 1765440000, "GPT 5.2 Codex", _CODEX_XHIGH),
        _codex("gpt-5.3-codex", 1770307200, "GPT 5.3 Codex", _CODEX_XHIGH),
        _codex("gpt-5.3-codex-spark", 1770912000, "GPT 5.3 Codex Spark", _CODEX_XHIGH),
        _codex("gpt-5.4", 1772668800, "GPT 5.4", _CODEX_XHIGH),
    ),
    "openai_compat": (),  # served models always come from the credential's config
}


def _index() -> dict[str, ModelEntry]:
    """Lowercased id, and the id without its ``-YYYYMMDD`` date (``claude-sonnet-4-5``), to entry."""
    index: dict[str, ModelEntry] = {}
    for entries in _MODELS.values():
        for entry in entries:
            index.setdefault(entry.id.lower(), entry)
            index.setdefault(_DATE.sub("", entry.id.lower()), entry)
    return index


_BY_NAME = _index()


def models_for(kind: str) -> list[ModelEntry]:
    """The built-in model list of an upstream kind (empty for ``openai_compat`` and unknown kinds)."""
    return list(_MODELS.get(kind, ()))


def lookup(model: str) -> ModelEntry | None:
    """The catalog entry for a base model name (no suffix), matched case-insensitively, dates optional."""
    name = model.strip().lower().removeprefix("models/")
    return _BY_NAME.get(name)


def family_of(model: str) -> str | None:
    """The upstream kind whose credentials serve an unknown model of this name (``claude-opus-9`` -> claude)."""
    name = model.strip().lower().removeprefix("models/")
    return next((kind for kind, pattern in _FAMILIES if pattern.match(name)), None)


def thinking_support(model: str, *, declared: ThinkingSupport | None = None) -> ThinkingSupport | None:
    """What reasoning ``model`` accepts: the config-declared support wins, then the catalog; None if unknown."""
    if declared is not None:
        return declared
    entry = lookup(model)
    return entry.thinking if entry else None
