"""Dotted paths into JSON bodies: ``generationConfig.thinkingConfig.thinkingBudget``.

``\\.`` is a literal dot, a numeric segment indexes an array and ``-1`` appends to one. Every write copies the
containers along its path, so the caller's body (and anything sharing its nested values) is never mutated.
Used by the payload rules and by the thinking fields of each dialect.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_MISSING = object()


@functools.lru_cache(maxsize=1024)  # paths are constants of the code and the config: split each once
def split_path(path: str) -> tuple[str, ...]:
    """``a.b\\.c.0`` -> ``("a", "b.c", "0")``; a leading dot is ignored."""
    parts = re.split(r"(?<!\\)\.", path.removeprefix("."))
    return tuple(p.replace("\\.", ".") for p in parts)


def get_path(root: Any, path: str, default: Any = None) -> Any:
    node = _walk(root, split_path(path))
    return default if node is _MISSING else node


def has_path(root: Any, path: str) -> bool:
    """True when the path resolves, even to ``null`` (gjson ``Exists``)."""
    return _walk(root, split_path(path)) is not _MISSING


def set_path(root: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``root`` with ``value`` at ``path``; missing objects are created, scalars in the way replaced."""
    out: dict[str, Any] = _set(root, split_path(path), value)
    return out


def delete_path(root: dict[str, Any], path: str) -> dict[str, Any]:
    """A copy of ``root`` without ``path`` (the same object when the path is absent)."""
    keys = split_path(path)
    if _walk(root, keys) is _MISSING:
        return root
    out: dict[str, Any] = _delete(root, keys)
    return out


def _walk(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if isinstance(node, dict):
            node = node.get(key, _MISSING)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _set(node: Any, keys: tuple[str, ...], value: Any) -> Any:
    key, rest = keys[0], keys[1:]
    if isinstance(node, list) and (key.isdigit() or key == "-1"):
        out = list(node)
        index = len(out) if key == "-1" else int(key)
        out.extend([None] * (index + 1 - len(out)))
        out[index] = _set(out[index], rest, value) if rest else value
        return out
    if node is None and key == "-1":
        return [_set(None, rest, value) if rest else value]
    out_map = dict(node) if isinstance(node, dict) else {}
    out_map[key] = _set(out_map.get(key), rest, value) if rest else value
    return out_map


def _delete(node: Any, keys: tuple[str, ...]) -> Any:
    key, rest = keys[0], keys[1:]
    if isinstance(node, list):
        out = list(node)
        if rest:
            out[int(key)] = _delete(out[int(key)], rest)
        else:
            del out[int(key)]
        return out
    out_map = dict(node)
    if rest:
        out_map[key] = _delete(out_map[key], rest)
    else:
        del out_map[key]
    return out_map
