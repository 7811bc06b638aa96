"""Upstream executors, one module per upstream kind (URL, headers, forced fields, OAuth; no translation)."""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.executors.base import Executor

_MODULES = {
    "codex": "core.executors.codex",
    "claude": "core.executors.claude",
    "gemini": "core.executors.gemini",
    "openai_compat": "core.executors.openai_compat",
}


@functools.cache  # called on every request: a dict lookup instead of the import machinery
def get(kind: str) -> Executor:
    """The executor for an upstream kind (module imported on first use)."""
    return importlib.import_module(_MODULES[kind]).EXECUTOR  # type: ignore[no-any-return]
