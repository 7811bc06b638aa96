"""Upstream credentials: one value type for config API keys and imported OAuth records alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from core.ir import UpstreamKind

AuthType = Literal["api_key", "oauth"]


@dataclass(frozen=True, slots=True)
class ModelAlias:
    name: str  # the upstream model name
    alias: str  # what clients ask for (equal to name when no alias is given)


@dataclass(frozen=True, slots=True)
class ThinkingSupport:
    """A model's reasoning capability, as a registry entry or as declared in config for compat models."""

    levels: tuple[str, ...] = ()  # supported levels, e.g. ("low", "medium", "high")
    min_budget: int | None = None
    max_budget: int | None = None
    zero_allowed: bool = False
    dynamic_allowed: bool = False


@dataclass(frozen=True, slots=True)
class Credential:
    """One upstream credential. ``provider`` groups credentials serving the same catalog
    (``codex``, ``claude``, ``gemini``, or an ``openai-compatibility`` entry's name).

    Secrets (``api_key``, ``access_token``, ``refresh_token``) never appear in ``repr`` or logs.
    """

    id: str
    kind: UpstreamKind
    provider: str
    auth_type: AuthType = "api_key"
    api_key: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # unix seconds of access-token expiry
    account_id: str | None = None  # ChatGPT account id (Codex)
    email: str | None = None
    base_url: str | None = None
    prefix: str | None = None
    priority: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    models: tuple[ModelAlias, ...] = ()  # empty: the kind's built-in catalog
    excluded_models: tuple[str, ...] = ()  # globs with "*"
    model_thinking: dict[str, ThinkingSupport] = field(default_factory=dict)  # compat models' declared support
    disabled: bool = False
    needs_login: str | None = None  # why the refresh token is dead (invalid_grant, ...): unused until a new login
    version: int = 0  # optimistic-write version in the store
    source: Literal["config", "store"] = "config"
    extra: dict[str, Any] = field(default_factory=dict)  # non-secret metadata kept from imports (plan type, ...)

    @property
    def secret(self) -> str | None:
        """The value that authenticates upstream (access token for OAuth, else the API key)."""
        return self.access_token if self.auth_type == "oauth" else self.api_key
