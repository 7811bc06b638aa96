"""Codex's 64-character tool-name limit: deterministic shortening, and restoring from the request's tools.

Rules (CLIProxyAPI ``translators.md`` §4.1): a name of at most 64 characters stays; a longer ``mcp__`` name
keeps ``mcp__`` plus the text after its last ``__``; any other long name keeps its first 64 characters.
Across one request's tools, collisions get ``_1``, ``_2``, ... with the base cut so the total stays at 64.
The map depends only on the declared names, so the response side rebuilds it and inverts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

LIMIT = 64


def shorten(name: str) -> str:
    """The single-name rule (no uniqueness): for names outside the declared tools."""
    if len(name) <= LIMIT:
        return name
    if name.startswith("mcp__"):
        tail = name.rsplit("__", 1)[1]
        return ("mcp__" + tail)[:LIMIT]
    return name[:LIMIT]


def shorten_all(names: Iterable[str]) -> dict[str, str]:
    """original -> short, only for the names that change; short names never collide with any other."""
    names = list(dict.fromkeys(names))
    long_names = [n for n in names if len(n) > LIMIT]
    if not long_names:
        return {}
    used = {n for n in names if len(n) <= LIMIT}  # short names are reserved: they are never renamed
    mapping: dict[str, str] = {}
    for name in long_names:
        candidate = shorten(name)
        n = 0
        while candidate in used:
            n += 1
            suffix = f"_{n}"
            candidate = shorten(name)[: LIMIT - len(suffix)] + suffix
        used.add(candidate)
        mapping[name] = candidate
    return mapping


def restore_map(names: Iterable[str]) -> dict[str, str]:
    """short -> original for the names ``shorten_all`` changes; unmapped names pass through unchanged."""
    return {short: original for original, short in shorten_all(names).items()}
