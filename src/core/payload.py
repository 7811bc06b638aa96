"""Payload rules (config ``payload``): defaults, overrides and filters on the upstream JSON body.

Rules run after thinking normalisation and before an executor's forced fields, in this order:
``default``, ``default-raw``, ``override``, ``override-raw``, ``filter`` (thinking-payload.md §8).
A default is written only when the *original* payload (the client request as translated, before any rule
or thinking step) lacks the path, so a rule never overwrites what the client sent.

Paths are dotted (``generationConfig.thinkingConfig.thinkingBudget``); ``\\.`` is a literal dot, a numeric
segment indexes an array and ``-1`` appends to one. Every write copies the containers along its path, so
the caller's body (and the client's original, which may share nested values) is never mutated.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import TYPE_CHECKING, Any

import orjson

from core import thinking
from core.config import ConfigError, PayloadConfig, PayloadRule

if TYPE_CHECKING:
    from collections.abc import Iterable

# Rule protocol name -> upstream kind.
PROTOCOLS: dict[str, str] = {"codex": "codex", "claude": "claude", "gemini": "gemini", "openai": "openai_compat"}
_SECTIONS = ("default", "default-raw", "override", "override-raw", "filter")
_MISSING = object()


# --- dotted paths -------------------------------------------------------------------------------------


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


# --- config -------------------------------------------------------------------------------------------


def parse_rules(raw: dict[str, Any] | None, source: str) -> PayloadConfig:
    """Validate the ``payload`` section; errors read ``<file>: payload.<kind>[i].<key>: what is wrong``.

    A rule's ``models`` entries become ``(name glob, upstream kind or None)``; raw params hold parsed JSON.
    """
    if raw is None:
        return PayloadConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: payload: must be a mapping")
    for key in raw:
        if key not in _SECTIONS:
            raise ConfigError(f"{source}: payload.{key}: unknown key (expected one of {', '.join(_SECTIONS)})")
    sections = {key: _parse_section(raw.get(key), key, source) for key in _SECTIONS}
    return PayloadConfig(
        default=sections["default"],
        default_raw=sections["default-raw"],
        override=sections["override"],
        override_raw=sections["override-raw"],
        filter=sections["filter"],
    )


def _parse_section(items: Any, section: str, source: str) -> tuple[PayloadRule, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ConfigError(f"{source}: payload.{section}: must be a list of rules")
    return tuple(_parse_rule(item, section, f"payload.{section}[{i}]", source) for i, item in enumerate(items))


def _parse_rule(item: Any, section: str, where: str, source: str) -> PayloadRule:
    if not isinstance(item, dict):
        raise ConfigError(f"{source}: {where}: must be a mapping with models and params")
    for key in item:
        if key not in ("models", "params"):
            raise ConfigError(f"{source}: {where}.{key}: unknown key (expected models, params)")
    models = _parse_models(item.get("models"), f"{where}.models", source)
    if section == "filter":
        return PayloadRule(models, dict.fromkeys(_parse_paths(item.get("params"), f"{where}.params", source)))
    params = item.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ConfigError(f"{source}: {where}.params: must be a mapping of path to value")
    out: dict[str, Any] = {}
    for path, value in params.items():
        if not isinstance(path, str) or not path:
            raise ConfigError(f"{source}: {where}.params: {path!r}: a path must be a non-empty string")
        out[path] = _raw_value(value, f"{where}.params.{path}", source) if section.endswith("-raw") else value
    return PayloadRule(models, out)


def _parse_models(entries: Any, where: str, source: str) -> tuple[tuple[str, str | None], ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: {where}: must be a list of {{name, protocol}}")
    out: list[tuple[str, str | None]] = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: {at}: must be a mapping with name and protocol")
        for key in entry:
            if key not in ("name", "protocol"):
                raise ConfigError(f"{source}: {at}.{key}: unknown key (expected name, protocol)")
        name, protocol = entry.get("name"), entry.get("protocol")
        if not isinstance(name, str):
            raise ConfigError(f"{source}: {at}.name: must be a string")
        if protocol is not None and (not isinstance(protocol, str) or protocol.lower() not in PROTOCOLS):
            raise ConfigError(f"{source}: {at}.protocol: must be one of {', '.join(PROTOCOLS)}")
        if name:  # an empty name never matches (CLIProxyAPI skips it)
            out.append((name, PROTOCOLS[protocol.lower()] if protocol else None))
    return tuple(out)


def _parse_paths(paths: Any, where: str, source: str) -> list[str]:
    if paths is None:
        return []
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise ConfigError(f"{source}: {where}: must be a list of non-empty path strings")
    return paths


def _raw_value(value: Any, where: str, source: str) -> Any:
    """Raw params are JSON text, used as parsed; other YAML values are taken as they are."""
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{source}: {where}: invalid JSON ({exc})") from None


# --- applying -----------------------------------------------------------------------------------------


def apply_rules(body: dict[str, Any], original: dict[str, Any] | None, model: str, protocol: str,
                cfg: PayloadConfig, *, requested: str | None = None) -> dict[str, Any]:
    """Return ``body`` with the matching rules applied (§8.3); ``body`` itself is not mutated.

    ``model`` is the upstream model, ``requested`` the name the client asked for (an alias, maybe with a
    thinking suffix); a rule matches either. ``protocol`` is an upstream kind or a rule protocol name.
    ``original`` is the client request as translated, before thinking and rules; empty means ``body``.
    """
    if not body or not (cfg.default or cfg.default_raw or cfg.override or cfg.override_raw or cfg.filter):
        return body
    candidates = _candidates(model, requested)
    if not candidates:
        return body
    kind = PROTOCOLS.get(protocol.lower(), protocol) if protocol else ""
    source = original or body
    out, written = body, set()
    for rule in _matching(cfg.default + cfg.default_raw, candidates, kind):
        for path, value in rule.params.items():
            if path not in written and not has_path(source, path):
                out = set_path(out, path, _fresh(value))
                written.add(path)
    for rule in _matching(cfg.override + cfg.override_raw, candidates, kind):
        for path, value in rule.params.items():
            out = set_path(out, path, _fresh(value))
    for rule in _matching(cfg.filter, candidates, kind):
        for path in rule.params:
            out = delete_path(out, path)
    return out


def _candidates(model: str, requested: str | None) -> list[str]:
    """Upstream base model, requested base model, requested with its suffix; de-duplicated ignoring case."""
    names = [thinking.parse_suffix(model)[0] if model else ""]
    if requested:
        base, suffix = thinking.parse_suffix(requested)
        names += [base, requested if suffix is not None else ""]
    seen: set[str] = set()
    out = []
    for name in names:
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def _matching(rules: Iterable[PayloadRule], candidates: list[str], kind: str) -> Iterable[PayloadRule]:
    for rule in rules:
        if any((not proto or not kind or proto == kind) and any(_glob(name).fullmatch(c) for c in candidates)
               for name, proto in rule.models):
            yield rule


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """Only ``*`` is special; matching is case-sensitive and anchored (``(`` and ``)`` are literal)."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _fresh(value: Any) -> Any:
    """Config values are shared by every request: never hand the same container to two bodies."""
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value
