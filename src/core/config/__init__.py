"""YAML config -> frozen dataclasses. Keys follow CLIProxyAPI. Errors read ``file: key: what is wrong``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.credentials import Credential


class ConfigError(Exception):
    """A config problem, already phrased as ``file: key: what is wrong``."""


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


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    strategy: str = "round-robin"  # or "fill-first"
    session_affinity: bool = True
    session_affinity_ttl: float = 3600.0  # seconds


@dataclass(frozen=True, slots=True)
class StoreConfig:
    backend: str = "sqlite"  # sqlite | dynamodb | memory
    path: str = "./data/cliproxy.db"
    table: str = "cliproxy"
    region: str = "us-east-1"
    endpoint_url: str | None = None


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    codex_token_url: str | None = None
    claude_token_url: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8317
    api_keys: tuple[str, ...] = ()
    request_retry: int = 3
    max_body_bytes: int = 32 * 1024 * 1024
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    credentials: tuple[Credential, ...] = ()  # from codex/claude/gemini-api-key and openai-compatibility
    payload: PayloadConfig = field(default_factory=PayloadConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    encryption_key: str | None = field(default=None, repr=False)  # CLIPROXY_ENCRYPTION_KEY overrides
    source: str = "<defaults>"  # the file this came from


def load(path: str) -> Config:
    """Read and validate ``path``. Raises ConfigError with a ``file: key: what is wrong`` message."""
    raise NotImplementedError  # written by the config/store work
