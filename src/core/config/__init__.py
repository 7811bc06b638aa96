"""YAML config -> frozen dataclasses. Keys follow CLIProxyAPI. Errors read ``file: key: what is wrong``.

``load(path)`` reads one file; ``load_or_defaults(path)`` is what entry points call: it finds the file
(``--config``, then ``$CLIPROXY_CONFIG``, then ``./config.yaml``) and falls back to built-in defaults.
Environment overrides (Lambda reads secrets into env) are applied last by ``apply_env``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from core.config import _clients, _entries, _payload
from core.config._clients import ClientKey
from core.config._payload import PROTOCOLS, PayloadConfig, PayloadRule
from core.config._reader import ConfigError, Reader

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.credentials import Credential

__all__ = ["PROTOCOLS", "ClientKey", "Config", "ConfigError", "OAuthConfig", "PayloadConfig", "PayloadRule",
           "RoutingConfig", "StoreConfig", "apply_env", "credential_id", "defaults", "load", "load_or_defaults",
           "locate", "parse", "parse_payload_rules"]
credential_id = _entries.credential_id
parse_payload_rules = _payload.parse_rules
log = logging.getLogger("cliproxy.config")


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
    encryption_key: str | None = field(default=None, repr=False)  # copy of Config.encryption_key for open_store


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    codex_token_url: str | None = None
    claude_token_url: str | None = None
    codex_authorize_url: str | None = None  # login endpoints (tests point them at a loopback fake)
    claude_authorize_url: str | None = None
    codex_device_usercode_url: str | None = None  # Codex's device flow: the user code is issued here,
    codex_device_token_url: str | None = None  # polled for here,
    codex_device_verify_url: str | None = None  # and typed in there (the URL shown to the user)

    def token_url(self, kind: str) -> str | None:
        """The token endpoint configured for an OAuth upstream kind (None: the executor's default)."""
        return {"codex": self.codex_token_url, "claude": self.claude_token_url}.get(kind)


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8317
    api_keys: tuple[str, ...] = field(default=(), repr=False)  # every client key (plain or named)
    clients: tuple[ClientKey, ...] = field(default=(), repr=False)  # their names, models, limits (api-keys objects)
    management_keys: tuple[str, ...] = field(default=(), repr=False)  # enable /v0/management/*
    request_retry: int = 3
    max_body_bytes: int = 32 * 1024 * 1024  # on Lambda at most LAMBDA_MAX_BODY_BYTES (apply_env)
    stream_keepalive_seconds: float = 15.0  # an SSE keep-alive after this long without a byte (core.streamtime)
    max_stream_seconds: float = 840.0  # an answer running longer ends with the dialect's error (504 non-stream)
    websocket: bool = True  # Responses over WebSocket where the host can upgrade; false: 426 (HTTP only)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    credentials: tuple[Credential, ...] = ()  # from codex/claude/gemini-api-key and openai-compatibility
    payload: PayloadConfig = field(default_factory=PayloadConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    encryption_key: str | None = field(default=None, repr=False)  # CLIPROXY_ENCRYPTION_KEY overrides
    source: str = "<defaults>"  # the file this came from


# ---------------------------------------------------------------------------------------------------
# Entry points


def load(path: str) -> Config:
    """Read and validate ``path``. Raises ConfigError with a ``file: key: what is wrong`` message."""
    import yaml  # pyyaml is not needed by importers of the dataclasses alone

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ConfigError(f"{path}: invalid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    return apply_env(parse(raw if raw is not None else {}, path), os.environ)


def locate(explicit: str | None = None) -> str | None:
    """The config file to use: ``explicit``, else ``$CLIPROXY_CONFIG``, else ``./config.yaml`` if it exists."""
    if explicit:
        return explicit
    if os.environ.get("CLIPROXY_CONFIG"):
        return os.environ["CLIPROXY_CONFIG"]
    return "config.yaml" if os.path.isfile("config.yaml") else None


def load_or_defaults(explicit: str | None = None) -> Config:
    """``load(locate(explicit))``, or ``defaults()`` when no file is found."""
    path = locate(explicit)
    return load(path) if path else defaults()


def defaults() -> Config:
    """The built-in defaults with the environment overrides applied."""
    return apply_env(Config(), os.environ)


def parse(raw: Any, source: str) -> Config:
    """Validate an already-decoded YAML document."""
    c = Reader(source)
    doc = c.mapping(raw, "")
    for key in doc:
        if key not in _TOP_KEYS:
            log.warning("%s: %s: unknown key ignored", source, key)
    routing = c.mapping(doc.get("routing"), "routing")
    creds = [
        *_entries.api_key_credentials(c, doc, "codex-api-key", "codex"),
        *_entries.api_key_credentials(c, doc, "claude-api-key", "claude"),
        *_entries.api_key_credentials(c, doc, "gemini-api-key", "gemini"),
        *_entries.compat_credentials(c, doc.get("openai-compatibility"), "openai-compatibility"),
    ]
    enc_key = _encryption_key(c, doc.get("encryption-key"), "encryption-key")
    clients = _clients.client_keys(c, doc.get("api-keys"), "api-keys")
    return Config(
        host=c.string(doc.get("host"), "host", default="127.0.0.1"),
        port=c.integer(doc.get("port"), "port", default=8317, low=0, high=65535),
        api_keys=tuple(k.key for k in clients),
        clients=clients,
        management_keys=tuple(c.strings(doc.get("management-keys"), "management-keys", secret=True)),
        request_retry=c.integer(doc.get("request-retry"), "request-retry", default=3, low=0),
        max_body_bytes=c.integer(doc.get("max-body-bytes"), "max-body-bytes", default=32 * 1024 * 1024, low=1),
        stream_keepalive_seconds=c.duration(doc.get("stream-keepalive-seconds"), "stream-keepalive-seconds", 15.0),
        max_stream_seconds=c.duration(doc.get("max-stream-seconds"), "max-stream-seconds", 840.0),
        websocket=c.boolean(doc.get("websocket"), "websocket", True),
        routing=RoutingConfig(
            strategy=_strategy(c, routing.get("strategy")),
            session_affinity=c.boolean(routing.get("session-affinity"), "routing.session-affinity", True),
            session_affinity_ttl=c.duration(routing.get("session-affinity-ttl"), "routing.session-affinity-ttl", 3600.0),
        ),
        credentials=_entries.dedupe(c, creds),
        payload=_payload.parse_rules(doc.get("payload"), source),
        store=replace(_store(c, doc.get("store")), encryption_key=enc_key),
        oauth=_oauth(c, doc.get("oauth")),
        encryption_key=enc_key,
        source=source,
    )


def apply_env(cfg: Config, env: Mapping[str, str]) -> Config:
    """Environment wins over the file: on Lambda the keys come from a secret, the table from the stack."""
    if env.get("CLIPROXY_API_KEYS"):  # a JSON array (strings or api-keys objects) or "a,b"
        clients = _clients.parse_text(Reader("CLIPROXY_API_KEYS"), env["CLIPROXY_API_KEYS"], "api-keys")
        cfg = replace(cfg, api_keys=tuple(k.key for k in clients), clients=clients)
    if env.get("CLIPROXY_MANAGEMENT_KEYS"):
        keys = tuple(k.strip() for k in env["CLIPROXY_MANAGEMENT_KEYS"].split(",") if k.strip())
        cfg = replace(cfg, management_keys=keys)
    if env.get("CLIPROXY_ENCRYPTION_KEY"):
        key = _encryption_key(Reader("env"), env["CLIPROXY_ENCRYPTION_KEY"], "CLIPROXY_ENCRYPTION_KEY")
        cfg = replace(cfg, encryption_key=key)
    if env.get("CLIPROXY_MAX_STREAM_SECONDS"):
        raw: Any = env["CLIPROXY_MAX_STREAM_SECONDS"].strip()
        raw = float(raw) if re.fullmatch(r"\d+(\.\d+)?", raw) else raw  # the template passes a plain number
        seconds = Reader("env").duration(raw, "CLIPROXY_MAX_STREAM_SECONDS", 840.0)
        cfg = replace(cfg, max_stream_seconds=seconds)
    if env.get("AWS_LAMBDA_FUNCTION_NAME") and cfg.max_body_bytes > LAMBDA_MAX_BODY_BYTES:
        cfg = replace(cfg, max_body_bytes=LAMBDA_MAX_BODY_BYTES)  # the platform refuses more before we run
    store = cfg.store
    if env.get("CLIPROXY_STORE_BACKEND"):
        backend = env["CLIPROXY_STORE_BACKEND"].strip().lower()
        if backend not in _BACKENDS:
            raise ConfigError(f"CLIPROXY_STORE_BACKEND: expected one of {', '.join(_BACKENDS)}, got {backend!r}")
        store = replace(store, backend=backend)
    if env.get("CLIPROXY_TABLE"):
        store = replace(store, table=env["CLIPROXY_TABLE"])
    if env.get("CLIPROXY_STORE_ENDPOINT"):
        store = replace(store, endpoint_url=env["CLIPROXY_STORE_ENDPOINT"])
    if env.get("AWS_REGION"):
        store = replace(store, region=env["AWS_REGION"])
    return replace(cfg, store=replace(store, encryption_key=cfg.encryption_key))


# ---------------------------------------------------------------------------------------------------
# Sections

# Lambda refuses an invocation payload (the whole API Gateway event, body included) over this many bytes.
LAMBDA_MAX_BODY_BYTES = 6 * 1024 * 1024

_TOP_KEYS = frozenset({
    "host", "port", "api-keys", "management-keys", "request-retry", "max-body-bytes", "stream-keepalive-seconds",
    "max-stream-seconds", "websocket", "routing", "codex-api-key",
    "claude-api-key", "gemini-api-key", "openai-compatibility", "payload", "store", "oauth", "encryption-key",
})
_BACKENDS = ("sqlite", "dynamodb", "memory")
_STRATEGIES = {"round-robin": "round-robin", "roundrobin": "round-robin", "rr": "round-robin",
               "fill-first": "fill-first", "fillfirst": "fill-first", "ff": "fill-first"}


def _strategy(c: Reader, raw: Any) -> str:
    name = c.string(raw, "routing.strategy", default="round-robin").strip().lower()
    if name not in _STRATEGIES:
        raise c.error("routing.strategy", f"expected round-robin or fill-first, got {raw!r}")
    return _STRATEGIES[name]


_DEFAULT_STORE = StoreConfig()


def _encryption_key(c: Reader, raw: Any, key: str) -> str | None:
    from core import crypto

    value = c.opt_string(raw, key, secret=True)
    problem = crypto.check_key(value) if value else None
    if problem:
        raise c.error(key, problem)
    return value or None


def _store(c: Reader, raw: Any) -> StoreConfig:
    doc = c.mapping(raw, "store")
    c.known_keys(doc, "store", {"backend", "path", "table", "region", "endpoint-url"})
    backend = c.string(doc.get("backend"), "store.backend", default="sqlite").strip().lower()
    if backend not in _BACKENDS:
        raise c.error("store.backend", f"expected one of {', '.join(_BACKENDS)}, got {backend!r}")
    return StoreConfig(
        backend=backend,
        path=c.string(doc.get("path"), "store.path", default=_DEFAULT_STORE.path),
        table=c.string(doc.get("table"), "store.table", default=_DEFAULT_STORE.table),
        region=c.string(doc.get("region"), "store.region", default=_DEFAULT_STORE.region),
        endpoint_url=c.opt_string(doc.get("endpoint-url"), "store.endpoint-url"),
    )


def _oauth(c: Reader, raw: Any) -> OAuthConfig:
    doc = c.mapping(raw, "oauth")
    c.known_keys(doc, "oauth", {"codex-token-url", "claude-token-url", "codex-authorize-url",
                                "claude-authorize-url", *_DEVICE_KEYS})
    return OAuthConfig(
        codex_token_url=c.opt_string(doc.get("codex-token-url"), "oauth.codex-token-url"),
        claude_token_url=c.opt_string(doc.get("claude-token-url"), "oauth.claude-token-url"),
        codex_authorize_url=c.opt_string(doc.get("codex-authorize-url"), "oauth.codex-authorize-url"),
        claude_authorize_url=c.opt_string(doc.get("claude-authorize-url"), "oauth.claude-authorize-url"),
        **{key.replace("-", "_"): c.opt_string(doc.get(key), f"oauth.{key}") for key in _DEVICE_KEYS},
    )


_DEVICE_KEYS = ("codex-device-usercode-url", "codex-device-token-url", "codex-device-verify-url")

