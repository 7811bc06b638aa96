"""A warm Lambda instance picks up changed upstream API keys from their secret, without a cold start."""

from __future__ import annotations

from typing import Any

import orjson


def test_changed_upstream_keys_secret_is_used_after_the_cache_expires(on_lambda: Any) -> None:
    import boto3

    from handlers import api, runtime, secrets

    event = on_lambda.event("chat-completions.json")
    assert api.handler(event, on_lambda.context)["statusCode"] == 200
    first = [r for r in on_lambda.fake.requests if r.path.endswith("/chat/completions")][-1]
    assert first.headers["authorization"] == f"Bearer {on_lambda.upstream_keys['openai']}"

    manager = boto3.client("secretsmanager")
    arn = next(s["ARN"] for s in manager.list_secrets()["SecretList"] if s["Name"] == "cliproxy-upstream-keys")
    doc = orjson.loads(manager.get_secret_value(SecretId=arn)["SecretString"])
    doc["openai-compatibility"][0]["api-key-entries"] = [{"api-key": "sk-up-openai-rotated"}]
    manager.put_secret_value(SecretId=arn, SecretString=orjson.dumps(doc).decode())

    assert api.handler(event, on_lambda.context)["statusCode"] == 200  # within the cache: the old key
    sent = [r for r in on_lambda.fake.requests if r.path.endswith("/chat/completions")][-1]
    assert sent.headers["authorization"] == f"Bearer {on_lambda.upstream_keys['openai']}"

    secrets.reset()  # the 5-minute cache has expired
    rt = api.app.state.runtime
    rt._secrets_checked -= runtime.SECRETS_CHECK_S  # and the minute between checks has passed
    assert api.handler(event, on_lambda.context)["statusCode"] == 200
    sent = [r for r in on_lambda.fake.requests if r.path.endswith("/chat/completions")][-1]
    assert sent.headers["authorization"] == "Bearer sk-up-openai-rotated"
    assert rt.config.api_keys  # the client keys are left as they were
