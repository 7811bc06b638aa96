"""Cached reads of secrets for the Lambda handlers: Powertools parameters with a ``max_age``.

``secret_value(name)`` returns a secret's text, fetched at most once per ``max_age`` seconds per process,
so a rotated secret takes effect within that time without a redeploy, and a warm instance pays nothing.

Where the value lives is read from the name:

    ssm:<name>                SSM Parameter Store (SecureString decrypted); the prefix is dropped
    /<path>                   SSM Parameter Store (a parameter path)
    arn:aws:ssm:...           SSM Parameter Store (a parameter ARN)
    anything else             Secrets Manager (secret name or ARN), its SecretString

boto3 and Powertools are imported on the first read, never at import, so importing this module is free.
Errors name the secret and the kind of failure, never the value (nor the SDK's message, which may quote it).
"""

from __future__ import annotations

import os
import threading
from typing import Any

DEFAULT_MAX_AGE = 300  # seconds

_providers: dict[str, Any] = {}
_lock = threading.Lock()


class SecretError(Exception):
    """A named secret could not be read. The message names the secret, never its value."""


def secret_value(name: str, max_age: int | None = None) -> str:
    """The text of secret ``name`` (see the module docstring for SSM names), cached for ``max_age`` seconds
    (default: ``$POWERTOOLS_PARAMETERS_MAX_AGE``, else 300). A value is cached with the max_age of the read
    that fetched it, so every reader of one secret should leave the default."""
    if max_age is None:
        raw = os.environ.get("POWERTOOLS_PARAMETERS_MAX_AGE", "")
        max_age = int(raw) if raw.isdigit() else DEFAULT_MAX_AGE
    store, key = where(name)
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    options = {"decrypt": True} if store == "ssm" else {}
    try:
        value = _provider(store).get(key, max_age=max_age, **options)
    except GetParameterError as exc:
        cause = exc.__context__ or exc  # Powertools wraps the botocore error; report its kind only
        raise SecretError(f"cannot read secret {name}: {type(cause).__name__}") from None
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            raise SecretError(f"secret {name} is binary, not text") from None
    if not isinstance(value, str) or not value.strip():
        raise SecretError(f"secret {name} is empty")
    return value


def where(name: str) -> tuple[str, str]:
    """``("ssm" | "secretsmanager", the name to ask that service for)``."""
    if name.startswith("ssm:"):
        return "ssm", name.removeprefix("ssm:")
    if name.startswith("/") or name.startswith("arn:aws:ssm:"):
        return "ssm", name
    return "secretsmanager", name


def _provider(store: str) -> Any:
    with _lock:  # the first reads of a cold start may race; build each provider once
        found = _providers.get(store)
        if found is None:
            from aws_lambda_powertools.utilities import parameters

            from core import awsclient  # explicit timeouts and standard retries, not botocore's 60 s

            provider = parameters.SSMProvider if store == "ssm" else parameters.SecretsProvider
            # awsclient's client, not one from a session of the provider's own: the store's client shares
            # that session and its loaded models (~60 ms less on a cold start)
            found = provider(boto3_client=awsclient.client(store))
            _providers[store] = found
        return found


def reset() -> None:
    """Forget every provider and cached value (tests; a new AWS mock needs new clients)."""
    with _lock:
        _providers.clear()
