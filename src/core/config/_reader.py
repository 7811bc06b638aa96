"""Typed reads of decoded YAML, each failing with a ``file: key: what is wrong`` ConfigError."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger("cliproxy.config")


class ConfigError(Exception):
    """A config problem, already phrased as ``file: key: what is wrong``."""


# CLIProxyAPI keys we accept in provider entries so its configs load, but do not act on.
_IGNORED_ENTRY_KEYS = frozenset({"proxy-url", "websockets", "cloak", "weight", "note", "disable-cooling"})

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


class Reader:
    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {what}" if key else f"{self.source}: {what}")

    def mapping(self, raw: Any, key: str) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.error(key, f"expected a mapping, got {_shown(raw)}")
        return {str(k): v for k, v in raw.items()}

    def sequence(self, raw: Any, key: str, *, secret: bool = False) -> list[Any]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.error(key, f"expected a list, got {_shown(raw, secret)}")
        return raw

    def known_keys(self, doc: Mapping[str, Any], at: str, allowed: set[str]) -> None:
        for key in doc:
            if key not in allowed:
                raise self.error(f"{at}.{key}", "unknown key")

    def entry_keys(self, doc: Mapping[str, Any], at: str, allowed: set[str] | frozenset[str]) -> None:
        for key in doc:
            if key in _IGNORED_ENTRY_KEYS:
                log.warning("%s: %s.%s: not supported; ignored", self.source, at, key)
            elif key not in allowed:
                raise self.error(f"{at}.{key}", "unknown key")

    def string(self, raw: Any, key: str, *, default: str) -> str:
        value = self.opt_string(raw, key)
        return default if value is None else value

    def opt_string(self, raw: Any, key: str, *, secret: bool = False) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise self.error(key, f"expected a string, got {_shown(raw, secret)}")
        return raw

    def required_string(self, raw: Any, key: str, *, secret: bool = False) -> str:
        value = self.opt_string(raw, key, secret=secret)
        if not value:
            raise self.error(key, "required")
        return value

    def scalar_string(self, raw: Any, key: str) -> str:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise self.error(key, f"expected a string, got {_shown(raw)}")
        return str(raw)

    def strings(self, raw: Any, key: str, *, secret: bool = False) -> list[str]:
        out = []
        for i, item in enumerate(self.sequence(raw, key, secret=secret)):
            if not isinstance(item, str) or not item.strip():
                raise self.error(f"{key}[{i}]", f"expected a non-empty string, got {_shown(item, secret)}")
            out.append(item.strip())
        return out

    def integer(self, raw: Any, key: str, *, default: Any, low: int | None = None, high: int | None = None) -> Any:
        if raw is None:
            return default
        value = raw
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
            value = int(raw)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {_shown(raw)}")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.error(key, f"must be {bounds}, got {value}")
        return value

    def boolean(self, raw: Any, key: str, default: bool) -> bool:
        if raw is None:
            return default
        if not isinstance(raw, bool):
            raise self.error(key, f"expected true or false, got {_shown(raw)}")
        return raw

    def duration(self, raw: Any, key: str, default: float) -> float:
        """Seconds from a number or a Go-style duration (``1h``, ``30m``, ``90s``, ``1h30m``, ``500ms``)."""
        if raw is None:
            return default
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            seconds = float(raw)
        elif isinstance(raw, str) and raw.strip() and _DURATION_PART.sub("", raw.strip()) == "":
            units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
            seconds = sum(float(n) * units[u] for n, u in _DURATION_PART.findall(raw.strip()))
        else:
            raise self.error(key, f"expected a duration like 1h, 30m or 90s, got {_shown(raw)}")
        if seconds <= 0:
            raise self.error(key, f"must be positive, got {_shown(raw)}")
        return seconds


def _shown(raw: Any, secret: bool = False) -> str:
    """A value for an error message: scalars as-is, secrets and containers by their type only."""
    if secret and raw is not None:
        return f"a value of type {type(raw).__name__}"
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, list):
        return "a list"
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."
