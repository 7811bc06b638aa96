"""handlers.secrets: cached secret reads on moto (Secrets Manager and SSM SecureString), re-read after max_age."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import secrets


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    secrets.reset()
    with mock_aws():
        yield boto3
    secrets.reset()


def test_secrets_manager_value_is_cached_for_max_age_then_re_read(aws: Any) -> None:
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name="client-keys", SecretString="sk-one")["ARN"]
    assert secrets.secret_value(arn, max_age=1) == "sk-one"
    sm.put_secret_value(SecretId=arn, SecretString="sk-two")
    assert secrets.secret_value(arn, max_age=1) == "sk-one"  # cached: a warm instance asks nothing
    time.sleep(1.1)
    assert secrets.secret_value(arn, max_age=1) == "sk-two"
    assert secrets.secret_value("client-keys") == "sk-two"  # by name as well as by ARN


def test_ssm_secure_string_by_prefix_and_by_path(aws: Any) -> None:
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/cliproxy/keys", Value="sk-ssm", Type="SecureString")
    ssm.put_parameter(Name="plain-name", Value="sk-plain", Type="SecureString")
    assert secrets.secret_value("/cliproxy/keys") == "sk-ssm"
    assert secrets.secret_value("ssm:plain-name") == "sk-plain"


def test_a_missing_secret_is_named_without_any_value(aws: Any) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="present", SecretString="hunter2")
    with pytest.raises(secrets.SecretError) as err:
        secrets.secret_value("absent")
    assert "absent" in str(err.value) and "hunter2" not in str(err.value)
    assert "ResourceNotFound" in str(err.value)


@pytest.mark.parametrize(("name", "found"), [
    ("ssm:/a/b", ("ssm", "/a/b")),
    ("ssm:name", ("ssm", "name")),
    ("/a/b", ("ssm", "/a/b")),
    ("arn:aws:ssm:us-east-1:1:parameter/x", ("ssm", "arn:aws:ssm:us-east-1:1:parameter/x")),
    ("arn:aws:secretsmanager:us-east-1:1:secret:x", ("secretsmanager", "arn:aws:secretsmanager:us-east-1:1:secret:x")),
    ("plain", ("secretsmanager", "plain")),
])
def test_where_a_name_is_read(name: str, found: tuple[str, str]) -> None:
    assert secrets.where(name) == found
