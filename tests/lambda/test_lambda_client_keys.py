"""Client keys on Lambda: the client-keys secret holds plain keys or api-keys objects, and a changed secret
takes effect once its cached value is older than max_age (rotation without a redeploy)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import pytest


def chat_as(env: Any, key: str, model: str | None = None) -> dict[str, Any]:
    from handlers import api

    event = env.event("chat-completions.json")
    event["headers"]["Authorization"] = f"Bearer {key}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {key}"]
    if model is not None:
        event["body"] = orjson.dumps({**orjson.loads(event["body"]), "model": model}).decode()
    return api.handler(event, env.context)


def put_keys(value: str) -> None:
    import boto3

    boto3.client("secretsmanager").put_secret_value(SecretId="cliproxy-client-keys", SecretString=value)


def test_a_key_removed_from_the_secret_stops_working_after_max_age(on_lambda: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "2")  # the deployed default is 300 s
    assert chat_as(on_lambda, on_lambda.client_key)["statusCode"] == 200  # the cold start
    time.sleep(2.1)
    assert chat_as(on_lambda, on_lambda.client_key)["statusCode"] == 200  # a warm request re-reads the secret
    rotated = [{"key": "sk-rotated-in", "name": "new-team", "models": ["gpt-4o*"]}]
    put_keys(orjson.dumps(rotated).decode())
    assert chat_as(on_lambda, on_lambda.client_key)["statusCode"] == 200  # cached: not re-read yet
    assert chat_as(on_lambda, "sk-rotated-in")["statusCode"] == 401
    time.sleep(2.1)
    refused = chat_as(on_lambda, on_lambda.client_key)
    assert refused["statusCode"] == 401
    assert orjson.loads(refused["body"])["error"]["code"] == "invalid_api_key"
    assert chat_as(on_lambda, "sk-rotated-in")["statusCode"] == 200
    assert chat_as(on_lambda, "sk-rotated-in", model="claude-sonnet-4-5")["statusCode"] == 403  # its models


def test_a_secret_that_no_longer_parses_keeps_the_keys_in_force(on_lambda: Any, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "1")
    assert chat_as(on_lambda, on_lambda.client_key)["statusCode"] == 200
    put_keys('[{"key": "sk-broken-secret", "requests-per-minute": 0}]')
    time.sleep(1.1)
    assert chat_as(on_lambda, on_lambda.client_key)["statusCode"] == 200
    assert "sk-broken-secret" not in caplog.text


def test_object_entries_in_the_secret_name_the_key(on_lambda: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from handlers import clientkeys

    secret = [{"key": on_lambda.client_key, "name": "ops", "tokens-per-day": 1}]
    boto3.client("secretsmanager").put_secret_value(SecretId="cliproxy-client-keys",
                                                    SecretString=orjson.dumps(secret).decode())
    assert chat_as(on_lambda, on_lambda.client_key)["statusCode"] == 200
    over = chat_as(on_lambda, on_lambda.client_key)  # its tokens for the day are spent: refused up front
    assert over["statusCode"] == 429
    assert "ops" in orjson.loads(over["body"])["error"]["message"]
    assert int({k.lower(): v for k, v in over["headers"].items()}["retry-after"]) >= 1
    assert clientkeys.client_label(None) == "local"


def test_a_secret_of_objects_is_exported_as_json() -> None:
    from handlers import lambda_config

    text = '[{"key": "sk-a", "name": "a", "tokens-per-day": 5}, "sk-b"]'
    assert orjson.loads(lambda_config.normalise_keys(text)) == orjson.loads(text)
    assert lambda_config.normalise_keys('["sk-a", "sk-b"]') == "sk-a,sk-b"
