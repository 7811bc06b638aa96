"""Management keys on Lambda come from their own secret and are re-read through the cached secret reader:
a rotated key takes effect on a warm instance once the cached value is older than max_age."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import pytest

SECRET = "cliproxy-management-keys"


def credentials_as(env: Any, key: str) -> dict[str, Any]:
    from handlers import api

    event = env.event("healthz.json")
    headers = {**event["headers"], "X-Management-Key": key}
    event.update(path="/v0/management/credentials", httpMethod="GET", headers=headers,
                 multiValueHeaders={k: [v] for k, v in headers.items()},
                 pathParameters={"proxy": "v0/management/credentials"})
    return api.handler(event, env.context)


def test_a_rotated_management_key_takes_effect_after_max_age(on_lambda: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    manager = boto3.client("secretsmanager")
    arn = manager.create_secret(Name=SECRET, SecretString="mk-old-key")["ARN"]
    monkeypatch.setenv("CLIPROXY_MANAGEMENT_KEYS_SECRET", arn)
    monkeypatch.setenv("CLIPROXY_MANAGEMENT_KEYS", "")
    monkeypatch.delenv("CLIPROXY_MANAGEMENT_KEYS")  # so it is restored after the handler exports it
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "1")  # the deployed default is 300 s

    first = credentials_as(on_lambda, "mk-old-key")  # the cold start reads the secret
    assert first["statusCode"] == 200, first["body"]
    manager.put_secret_value(SecretId=SECRET, SecretString='["mk-new-key"]')
    assert credentials_as(on_lambda, "mk-old-key")["statusCode"] == 200  # cached: not re-read yet
    time.sleep(1.1)
    refused = credentials_as(on_lambda, "mk-old-key")
    assert refused["statusCode"] == 401
    assert orjson.loads(refused["body"]) == {"error": "missing or invalid management key"}
    answered = credentials_as(on_lambda, "mk-new-key")
    assert answered["statusCode"] == 200
    assert "mk-" not in answered["body"] + refused["body"]
