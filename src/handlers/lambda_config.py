"""Lambda-only process setup: the config file, client keys, upstream keys and the encryption key.

The template and the bundle never hold a secret. The stack names three Secrets Manager secrets in the
environment; the first config load in a process (``runtime.load_config`` on Lambda) reads them all at once,
in parallel:

    CLIPROXY_API_KEYS_SECRET        -> CLIPROXY_API_KEYS        client keys, comma-separated or a JSON array
                                                                (of keys or api-keys objects: name, models, limits)
    CLIPROXY_ENCRYPTION_KEY_SECRET  -> CLIPROXY_ENCRYPTION_KEY  urlsafe base64 of 32 bytes
    CLIPROXY_UPSTREAM_KEYS_SECRET   -> upstream key sections    YAML/JSON mapping, added to the bundled config

The first two become the variables ``core.config.apply_env`` already reads. The third holds config sections
(``claude-api-key``, ``gemini-api-key``, ``codex-api-key``, ``openai-compatibility``) whose entries are added
after the config file's own. A variable that is already set wins (``sam local invoke --env-vars``), so tests and
local runs never call AWS. The client-keys and management-keys secrets are re-read later, for rotation
(``keys_secret``, ``handlers.clientkeys``; ``management_keys_secret``, ``handlers.management``). ``CLIPROXY_CONFIG`` may be relative: it is resolved under ``LAMBDA_TASK_ROOT``.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from handlers.on_lambda import on_lambda
from handlers.secrets import SecretError

if TYPE_CHECKING:
    from core.config import Config

__all__ = ["SECRETS", "UPSTREAM_SECRET", "SecretError", "config_path", "export_secrets", "load_config",
           "keys_secret", "management_keys_secret", "normalise_keys", "on_lambda", "read_secret", "read_secrets", "reset", "upstream_sections"]
log = logging.getLogger("cliproxy.lambda")

SECRETS = {
    "CLIPROXY_API_KEYS": "CLIPROXY_API_KEYS_SECRET",
    "CLIPROXY_ENCRYPTION_KEY": "CLIPROXY_ENCRYPTION_KEY_SECRET",
    "CLIPROXY_MANAGEMENT_KEYS": "CLIPROXY_MANAGEMENT_KEYS_SECRET",  # enables /v0/management/* once set
}
UPSTREAM_SECRET = "CLIPROXY_UPSTREAM_KEYS_SECRET"
UPSTREAM_SECTIONS = ("codex-api-key", "claude-api-key", "gemini-api-key", "openai-compatibility")

_exported = False
_upstream: dict[str, Any] = {}
_upstream_raw: str | None = None
_keys_secret: str | None = None  # the client-keys secret the keys came from
_management_secret: str | None = None  # the management-keys secret, likewise re-read for rotation


def export_secrets(client: Any = None) -> None:
    """Read the stack's secrets once per process: client keys and encryption key into the environment, the
    upstream key sections for ``load_config``. Also switches logging to Powertools' structured JSON."""
    global _exported, _upstream, _upstream_raw, _keys_secret, _management_secret
    if _exported:
        return
    from handlers import telemetry

    telemetry.configure_logging()
    wanted = {target: os.environ[source] for target, source in SECRETS.items()
              if os.environ.get(source) and not os.environ.get(target)}
    if os.environ.get(UPSTREAM_SECRET):
        wanted[UPSTREAM_SECRET] = os.environ[UPSTREAM_SECRET]
    values = read_secrets(wanted, client)
    for target in SECRETS:
        if target in values:
            os.environ[target] = normalise_keys(values[target]) if target.endswith("_KEYS") \
                else values[target].strip()
    if "CLIPROXY_API_KEYS" in values:
        _keys_secret = wanted["CLIPROXY_API_KEYS"]
    if "CLIPROXY_MANAGEMENT_KEYS" in values:
        _management_secret = wanted["CLIPROXY_MANAGEMENT_KEYS"]
    _upstream = upstream_sections(values[UPSTREAM_SECRET], wanted[UPSTREAM_SECRET]) \
        if UPSTREAM_SECRET in values else {}
    _upstream_raw = values.get(UPSTREAM_SECRET)
    _exported = True


def upstream_changed() -> bool:
    """Re-read the upstream keys secret (``handlers.secrets`` caches it for 5 minutes); True when its value
    differs from the one the config was built with, which ``load_config`` then uses. Blocking: call it from
    a worker thread."""
    global _upstream, _upstream_raw
    secret_id = os.environ.get(UPSTREAM_SECRET)
    if not _exported or not secret_id:
        return False
    from handlers import secrets

    value = secrets.secret_value(secret_id)
    if value == _upstream_raw:
        return False
    _upstream, _upstream_raw = upstream_sections(value, secret_id), value
    return True


def read_secrets(ids: dict[str, str], client: Any = None) -> dict[str, str]:
    """``{name: SecretString}`` for ``{name: secret id}``, read in parallel: a cold start waits for the slowest
    read, not their sum. Through ``handlers.secrets`` (cached 5 minutes) unless a client is given (tests)."""
    if not ids:
        return {}
    from handlers import secrets

    def read(secret_id: str) -> str:
        return read_secret(secret_id, client) if client is not None else secrets.secret_value(secret_id)

    with ThreadPoolExecutor(max_workers=len(ids), thread_name_prefix="secret") as pool:
        futures = {name: pool.submit(read, secret_id) for name, secret_id in ids.items()}
        return {name: future.result() for name, future in futures.items()}


def read_secret(secret_id: str, client: Any = None) -> str:
    """The SecretString of ``secret_id`` (name or ARN)."""
    if client is None:
        from core import awsclient

        client = awsclient.client("secretsmanager")
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except Exception as exc:  # botocore's errors are generated classes; report the kind, not the payload
        raise SecretError(f"cannot read secret {secret_id}: {type(exc).__name__}") from None
    value = answer.get("SecretString")
    if not isinstance(value, str) or not value.strip():
        raise SecretError(f"secret {secret_id} has no SecretString")
    return value


def keys_secret() -> str | None:
    """The client-keys secret, when ``export_secrets`` took the client keys from it."""
    return _keys_secret


def management_keys_secret() -> str | None:
    """The management-keys secret, when ``export_secrets`` took the management keys from it."""
    return _management_secret


def normalise_keys(value: str) -> str:
    """Client keys as ``a,b,c`` from a comma / newline separated string or a JSON array of strings; a JSON
    array holding api-keys objects stays JSON (``core.config.apply_env`` reads both)."""
    text = value.strip()
    if text.startswith("["):
        try:
            keys = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise SecretError("client API keys secret: invalid JSON array") from None
        if not isinstance(keys, list) or not all(isinstance(k, str | dict) for k in keys):
            raise SecretError("client API keys secret: expected a JSON array of keys or api-keys objects")
        if any(isinstance(k, dict) for k in keys):
            return orjson.dumps(keys).decode()
    else:
        keys = text.replace("\n", ",").split(",")
    return ",".join(k.strip() for k in keys if k.strip())


def upstream_sections(value: str, secret_id: str) -> dict[str, Any]:
    """The upstream key sections of the upstream keys secret (YAML or JSON; ``{}`` when empty)."""
    import yaml

    try:
        doc = yaml.safe_load(value)
    except yaml.YAMLError:
        raise SecretError(f"secret {secret_id}: not YAML or JSON") from None  # no excerpt: it holds keys
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise SecretError(f"secret {secret_id}: expected a mapping of {', '.join(UPSTREAM_SECTIONS)}")
    unknown = sorted(str(k) for k in doc if k not in UPSTREAM_SECTIONS)
    if unknown:
        raise SecretError(f"secret {secret_id}: only {', '.join(UPSTREAM_SECTIONS)} belong here, not {unknown}")
    return doc


def config_path(explicit: str | None = None) -> str:
    """The config file: ``explicit`` or ``$CLIPROXY_CONFIG``; a relative one lives under ``LAMBDA_TASK_ROOT``."""
    path = explicit or os.environ.get("CLIPROXY_CONFIG") or "config.lambda.yaml"
    return path if os.path.isabs(path) else os.path.join(os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()), path)


def load_config(explicit: str | None = None) -> Config:
    """The bundled config plus the upstream key sections of the stack's secret (after ``export_secrets``)."""
    from core import config as cfgmod

    cfg = cfgmod.load(config_path(explicit))
    if not any(_upstream.get(section) for section in UPSTREAM_SECTIONS):
        return cfg
    extra = cfgmod.parse(_upstream, "upstream keys secret").credentials
    known = {c.id for c in cfg.credentials}
    return replace(cfg, credentials=(*cfg.credentials, *(c for c in extra if c.id not in known)))


def reset() -> None:
    """Forget what was read (tests)."""
    global _exported, _upstream, _upstream_raw, _keys_secret, _management_secret
    _exported, _upstream, _upstream_raw, _keys_secret, _management_secret = False, {}, None, None, None
