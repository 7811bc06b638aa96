"""Client keys (``api-keys``): plain strings, or objects naming a key and giving it a model list and limits.

    api-keys:
      - sk-plain-key                         # unnamed, every model, no limits
      - key: sk-team-a
        name: team-a                         # the client-key dimension of usage and metrics
        models: ["claude-*", "gpt-5*"]       # globs; absent: every model
        max-concurrent: 4                    # requests in flight at once, across every instance
        requests-per-minute: 60
        tokens-per-day: 2000000              # input + output, counted when a response ends
        disabled: false

The same list arrives as text from the environment or the client-keys secret: a JSON array (of strings or of
these objects) or the plain comma / newline separated form.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.config._reader import _shown

if TYPE_CHECKING:
    from core.config._reader import Reader

_KEYS = frozenset({"key", "name", "models", "max-concurrent", "requests-per-minute", "tokens-per-day", "disabled"})


@dataclass(frozen=True, slots=True)
class ClientKey:
    key: str = field(repr=False)
    name: str | None = None
    models: tuple[str, ...] = ()  # globs, lower-cased; empty: every model
    max_concurrent: int | None = None
    requests_per_minute: int | None = None
    tokens_per_day: int | None = None
    disabled: bool = False

    @property
    def label(self) -> str:
        """How usage, metrics and limit counters name this key: its name, else a short hash of it."""
        return self.name or key_label(self.key)

    @property
    def limited(self) -> bool:
        return bool(self.max_concurrent or self.requests_per_minute or self.tokens_per_day)

    def allows(self, model: str) -> bool:
        if not self.models:
            return True
        name = model.lower()
        return any(fnmatch.fnmatchcase(name, glob) for glob in self.models)


def key_label(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:8]


def client_keys(c: Reader, raw: Any, at: str) -> tuple[ClientKey, ...]:
    """The ``api-keys`` list. Names must be unique (they are the usage dimension) and so must keys."""
    out: list[ClientKey] = []
    names: set[str] = set()
    keys: set[str] = set()
    for i, item in enumerate(c.sequence(raw, at, secret=True)):
        where = f"{at}[{i}]"
        entry = _entry(c, item, where)
        if entry.key in keys:
            raise c.error(where, "repeats an earlier key")
        if entry.name is not None:
            if entry.name in names:
                raise c.error(f"{where}.name", f"duplicate name {entry.name!r}")
            names.add(entry.name)
        keys.add(entry.key)
        out.append(entry)
    return tuple(out)


def parse_text(c: Reader, text: str, at: str) -> tuple[ClientKey, ...]:
    """Client keys from the environment or a secret: a JSON array, or ``a,b`` / one key a line."""
    stripped = text.strip()
    if stripped.startswith("["):
        import orjson

        try:
            raw = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            raise c.error(at, "invalid JSON array") from None
        return client_keys(c, raw, at)
    return client_keys(c, [k.strip() for k in re.split(r"[,\n]", stripped) if k.strip()], at)


def _entry(c: Reader, item: Any, where: str) -> ClientKey:
    if isinstance(item, str) and item.strip():
        return ClientKey(key=item.strip())
    if not isinstance(item, dict):
        raise c.error(where, f"expected a non-empty string or a mapping, got {_shown(item, True)}")
    entry = c.mapping(item, where)
    c.known_keys(entry, where, set(_KEYS))
    key = c.required_string(entry.get("key"), f"{where}.key", secret=True).strip()
    name = c.opt_string(entry.get("name"), f"{where}.name")
    if name is not None and not name.strip():
        raise c.error(f"{where}.name", "must not be empty")
    models = tuple(m.lower() for m in c.strings(entry.get("models"), f"{where}.models"))
    return ClientKey(
        key=key, name=name.strip() if name else None, models=models,
        max_concurrent=c.integer(entry.get("max-concurrent"), f"{where}.max-concurrent", default=None, low=1),
        requests_per_minute=c.integer(entry.get("requests-per-minute"), f"{where}.requests-per-minute",
                                      default=None, low=1),
        tokens_per_day=c.integer(entry.get("tokens-per-day"), f"{where}.tokens-per-day", default=None, low=1),
        disabled=c.boolean(entry.get("disabled"), f"{where}.disabled", False),
    )
