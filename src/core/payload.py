"""Payload rules (config ``payload``): defaults, overrides and filters on the upstream JSON body.

Rules run after thinking normalisation and before an executor's forced fields, in this order:
``default``, ``default-raw``, ``override``, ``override-raw``, ``filter`` (thinking-payload.md §8).
A default is written only when the *original* payload (the client request as translated, before any rule
or thinking step) lacks the path, so a rule never overwrites what the client sent.

Paths are dotted (``core.jsonpath``); every write copies, so the caller's body (and the client's original,
which may share nested values) is never mutated. The rules themselves are parsed with the config
(``core.config._payload``).
"""

from __future__ import annotations

import copy
import functools
import re
from typing import TYPE_CHECKING, Any

from core import jsonpath, models
from core.config import PROTOCOLS

if TYPE_CHECKING:
    from collections.abc import Iterable

    from core.config import PayloadConfig, PayloadRule


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
            if path not in written and not jsonpath.has_path(source, path):
                out = jsonpath.set_path(out, path, _fresh(value))
                written.add(path)
    for rule in _matching(cfg.override + cfg.override_raw, candidates, kind):
        for path, value in rule.params.items():
            out = jsonpath.set_path(out, path, _fresh(value))
    for rule in _matching(cfg.filter, candidates, kind):
        for path in rule.params:
            out = jsonpath.delete_path(out, path)
    return out


def _candidates(model: str, requested: str | None) -> list[str]:
    """Upstream base model, requested base model, requested with its suffix; de-duplicated ignoring case."""
    names = [models.parse_suffix(model)[0] if model else ""]
    if requested:
        base, suffix = models.parse_suffix(requested)
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
