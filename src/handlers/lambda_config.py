"""Lambda-only process setup: client API keys and the token encryption key from the stack's secrets.

The template never holds a secret in plain text. It names two Secrets Manager secrets in the environment,
and the first config load in a process (``runtime.load_config`` on Lambda) calls ``export_secrets``, which
copies their values into the variables ``core.config.apply_env`` already reads:

    CLIPROXY_API_KEYS_SECRET        -> CLIPROXY_API_KEYS        client keys, comma-separated
    CLIPROXY_ENCRYPTION_KEY_SECRET  -> CLIPROXY_ENCRYPTION_KEY  urlsafe base64 of 32 bytes

A variable that is already set wins (``sam local invoke --env-vars``), so tests and local runs never call AWS.
boto3 is imported only when a secret has to be fetched.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import orjson

from handlers.secrets import SecretError

__all__ = ["SECRETS", "SecretError", "export_secrets", "normalise_keys", "on_lambda", "read_secret", "reset"]
log = logging.getLogger("cliproxy.lambda")

SECRETS = {
    "CLIPROXY_API_KEYS": "CLIPROXY_API_KEYS_SECRET",
    "CLIPROXY_ENCRYPTION_KEY": "CLIPROXY_ENCRYPTION_KEY_SECRET",
}

_exported = False


def on_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def export_secrets(client: Any = None) -> None:
    """Fill CLIPROXY_API_KEYS / CLIPROXY_ENCRYPTION_KEY from their secrets, once per process.

    Also switches logging to Powertools' structured JSON, the other piece of Lambda-only setup.
    """
    global _exported
    if _exported:
        return
    from handlers import telemetry

    telemetry.configure_logging()
    for target, source in SECRETS.items():
        secret_id = os.environ.get(source)
        if os.environ.get(target) or not secret_id:
            continue
        value = read_secret(secret_id, client)
        os.environ[target] = normalise_keys(value) if target == "CLIPROXY_API_KEYS" else value.strip()
    _exported = True


def read_secret(secret_id: str, client: Any = None) -> str:
    """The SecretString of ``secret_id`` (name or ARN)."""
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except Exception as exc:  # botocore's errors are generated classes; report the kind, not the payload
        raise SecretError(f"cannot read secret {secret_id}: {type(exc).__name__}") from None
    value = answer.get("SecretString")
    if not isinstance(value, str) or not value.strip():
        raise SecretError(f"secret {secret_id} has no SecretString")
    return value


def normalise_keys(value: str) -> str:
    """Client keys as ``a,b,c`` from a comma / newline separated string or a JSON array of strings."""
    text = value.strip()
    if text.startswith("["):
        try:
            keys = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise SecretError("client API keys secret: invalid JSON array") from None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise SecretError("client API keys secret: expected a JSON array of strings")
    else:
        keys = text.replace("\n", ",").split(",")
    return ",".join(k.strip() for k in keys if k.strip())


def reset() -> None:
    """Forget that secrets were exported (tests)."""
    global _exported
    _exported = False
