"""The ``payload`` section: rules that default, override or filter fields of upstream bodies.

Parsed here with the rest of the config; applied per request by ``core.payload``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from core.config._reader import ConfigError

# Rule protocol name -> upstream kind.
PROTOCOLS: dict[str, str] = {"codex": "codex", "claude": "claude", "gemini": "gemini", "openai": "openai_compat"}
_SECTIONS = ("default", "default-raw", "override", "override-raw", "filter")


@dataclass(frozen=True, slots=True)
class PayloadRule:
    models: tuple[tuple[str, str | None], ...]  # (name glob, protocol or None)
    params: dict[str, Any] = field(default_factory=dict)  # dotted path -> value (filter: path -> None)


@dataclass(frozen=True, slots=True)
class PayloadConfig:
    default: tuple[PayloadRule, ...] = ()
    default_raw: tuple[PayloadRule, ...] = ()
    override: tuple[PayloadRule, ...] = ()
    override_raw: tuple[PayloadRule, ...] = ()
    filter: tuple[PayloadRule, ...] = ()


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
