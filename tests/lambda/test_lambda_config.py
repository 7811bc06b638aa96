"""handlers.lambda_config: the stack's secrets become the env that core.config reads, once, without leaks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import lambda_config


class FakeSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's argument name
        self.calls.append(SecretId)
        if SecretId not in self.values:
            raise RuntimeError(f"ResourceNotFoundException for {SecretId} with value hunter2")
        return {"SecretString": self.values[SecretId]}


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    names = (*lambda_config.SECRETS, *lambda_config.SECRETS.values())
    for name in names:
        monkeypatch.delenv(name, raising=False)
    lambda_config.reset()
    yield
    for name in names:  # export_secrets writes os.environ itself: nothing it exported outlives the test
        os.environ.pop(name, None)
    lambda_config.reset()


@pytest.mark.parametrize(("raw", "keys"), [
    ("sk-a,sk-b", "sk-a,sk-b"),
    (" sk-a , ,sk-b\n", "sk-a,sk-b"),
    ("sk-a\nsk-b", "sk-a,sk-b"),
    ('["sk-a", "sk-b"]', "sk-a,sk-b"),
])
def test_client_keys_secret_forms_normalise_to_a_comma_list(raw: str, keys: str) -> None:
    assert lambda_config.normalise_keys(raw) == keys


def test_secrets_named_in_env_are_exported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPROXY_API_KEYS_SECRET", "arn:keys")
    monkeypatch.setenv("CLIPROXY_ENCRYPTION_KEY_SECRET", "arn:enc")
    fake = FakeSecrets({"arn:keys": '["sk-a","sk-b"]', "arn:enc": "k" * 43 + "\n"})

    lambda_config.export_secrets(fake)
    lambda_config.export_secrets(fake)

    import os

    assert os.environ["CLIPROXY_API_KEYS"] == "sk-a,sk-b"
    assert os.environ["CLIPROXY_ENCRYPTION_KEY"] == "k" * 43
    assert fake.calls == ["arn:keys", "arn:enc"]


def test_preset_values_win_and_no_secret_is_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPROXY_API_KEYS_SECRET", "arn:keys")
    monkeypatch.setenv("CLIPROXY_API_KEYS", "sk-local")
    fake = FakeSecrets({})

    lambda_config.export_secrets(fake)

    assert fake.calls == []


def test_unreadable_secret_names_the_secret_but_not_the_error_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPROXY_ENCRYPTION_KEY_SECRET", "arn:missing")

    with pytest.raises(lambda_config.SecretError) as caught:
        lambda_config.export_secrets(FakeSecrets({}))

    assert "arn:missing" in str(caught.value) and "hunter2" not in str(caught.value)
