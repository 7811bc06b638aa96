"""Model resolution: which credentials serve a model name, under which upstream name.

A client model name may carry a credential-group prefix (``team/gpt-5``), an alias from config, and a
thinking suffix (``gpt-5-codex(high)``, ``gemini-2.5-pro(8192)``). The index is built once per pool
snapshot, so resolving a request is a dict lookup. A name nobody lists but whose family is known
(``claude-*``, ``gpt-*``/``codex-*``/``o<digit>*``, ``gemini-*``) goes to that family's credentials that serve
the catalog (no ``models`` list of their own), under the client's own spelling: clients move their default
model before any catalog does.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast, get_args

from core import catalog, ir
from core.errors import ModelNotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.credentials import Credential

_INT64_MAX = 2**63 - 1
# Levels a suffix may name as words; none and auto have their own spellings below.
_SUFFIX_LEVELS = frozenset(get_args(ir.ThinkingLevel)) - {"none", "auto"}


@dataclass(frozen=True, slots=True)
class Route:
    cred: Credential
    upstream_model: str


@dataclass(frozen=True, slots=True)
class Target:
    requested: str  # as the client wrote it
    model: str  # without the thinking suffix (prefix kept): what the client sees echoed back
    group: str  # the model group for pins and cooldowns: upstream-neutral, prefix and suffix removed
    suffix: ir.Thinking | None
    routes: tuple[Route, ...]


@dataclass(frozen=True, slots=True)
class ListedModel:
    id: str
    owned_by: str
    created: int = 0


def served_models(cred: Credential, listed: tuple[str, ...] = ()) -> dict[str, str]:
    """Client-visible model id -> upstream model name for one credential (aliases, exclusions applied).
    ``listed``: what the credential's provider itself lists (core.model_lists), added to the catalog's."""
    if cred.models:
        pairs = {m.alias: m.name for m in cred.models}
    else:
        pairs = {m.id: m.id for m in catalog.models_for(cred.kind)}
        pairs.update((name, name) for name in listed if catalog.lookup(name) is None)
    if cred.excluded_models:
        pairs = {a: n for a, n in pairs.items() if not _excluded(a, n, cred.excluded_models)}
    return pairs


def _excluded(alias: str, name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(alias.lower(), p.lower()) or fnmatch.fnmatchcase(name.lower(), p.lower())
               for p in patterns)


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
    if word in _SUFFIX_LEVELS:
        return ir.Thinking(level=cast("ir.ThinkingLevel", word))
    if raw.isascii() and raw.isdigit() and int(raw) <= _INT64_MAX:
        return ir.Thinking(budget=int(raw))
    return None


class Index:
    """Model id -> routes, built from one snapshot of credentials."""

    def __init__(self, creds: tuple[Credential, ...], listed: Mapping[str, tuple[str, ...]] | None = None) -> None:
        listed = listed or {}
        self._routes: dict[str, list[Route]] = {}
        self._owner: dict[str, str] = {}
        self._family: dict[tuple[str, str], list[Credential]] = {}  # (prefix or "", kind) -> catalog credentials
        for cred in creds:
            if cred.disabled or cred.needs_login:
                continue
            for alias, name in served_models(cred, listed.get(cred.provider, ())).items():
                self._add(alias, Route(cred, name), cred.provider)
                if cred.prefix:
                    self._add(f"{cred.prefix}/{alias}", Route(cred, name), cred.provider)
            if not cred.models:
                self._family.setdefault(("", cred.kind), []).append(cred)
                if cred.prefix:
                    self._family.setdefault((cred.prefix, cred.kind), []).append(cred)

    def _add(self, model_id: str, route: Route, owner: str) -> None:
        self._routes.setdefault(model_id, []).append(route)
        self._owner.setdefault(model_id, owner)

    def resolve(self, requested: str) -> Target:
        base, suffix = parse_suffix(requested)
        routes = self._lookup(base)
        if routes is None and suffix is not None:
            base, suffix = requested, None  # a literal model id that happens to end in parentheses
            routes = self._lookup(base)
        if not routes:
            raise ModelNotFoundError(f"unknown provider for model {requested}", code="model_not_found",
                                     param="model")
        group = base.partition("/")[2] if "/" in base and base.split("/", 1)[0] in _prefixes(routes) else base
        return Target(requested, base, group, suffix, tuple(routes))

    def _lookup(self, model_id: str) -> list[Route] | None:
        """Exact id first, then the catalog's canonical id (``claude-sonnet-4-5`` is served by the credentials
        of its dated release). The upstream then gets the client's spelling, which it accepts, so answers
        name the model the client asked for (Claude Code keeps thinking blocks only for that name)."""
        routes = self._routes.get(model_id)
        if routes is None:
            prefix, sep, rest = model_id.rpartition("/")
            entry = catalog.lookup(rest)
            if entry is not None and (found := self._routes.get(f"{prefix}{sep}{entry.id}")):
                routes = [Route(r.cred, rest) if r.upstream_model == entry.id else r for r in found]
            elif entry is None:
                routes = self._family_routes(prefix, rest)
        return routes

    def _family_routes(self, prefix: str, model: str) -> list[Route] | None:
        """An unknown model of a known family: that family's catalog credentials (exclusions still apply)."""
        kind = catalog.family_of(model)
        creds = self._family.get((prefix, kind), []) if kind else []
        routes = [Route(cred, model) for cred in creds if not _excluded(model, model, cred.excluded_models)]
        return routes or None

    def listing(self) -> list[ListedModel]:
        return [ListedModel(mid, self._owner[mid]) for mid in sorted(self._routes)]


def _prefixes(routes: list[Route]) -> set[str]:
    return {r.cred.prefix for r in routes if r.cred.prefix}
