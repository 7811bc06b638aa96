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


def test_all_secrets_are_read_at_once_in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold start waits for the slowest secret, not their sum: the reads overlap."""
    import threading

    monkeypatch.setenv("CLIPROXY_API_KEYS_SECRET", "arn:keys")
    monkeypatch.setenv("CLIPROXY_ENCRYPTION_KEY_SECRET", "arn:enc")
    monkeypatch.setenv("CLIPROXY_UPSTREAM_KEYS_SECRET", "arn:up")
    barrier = threading.Barrier(3, timeout=5)  # breaks (and fails the test) unless all three are in flight

    class Overlapping(FakeSecrets):
        def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803
            barrier.wait()
            return super().get_secret_value(SecretId)

    fake = Overlapping({"arn:keys": "sk-a", "arn:enc": "k" * 43, "arn:up": "{}"})
    lambda_config.export_secrets(fake)
    assert sorted(fake.calls) == ["arn:enc", "arn:keys", "arn:up"]
    os.environ.pop("CLIPROXY_UPSTREAM_KEYS_SECRET", None)


def test_upstream_keys_come_from_their_secret_not_the_bundle(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Any) -> None:
    (tmp_path / "config.lambda.yaml").write_text(
        "claude-api-key:\n  - api-key: sk-ant-from-file\n    base-url: http://127.0.0.1:9/file\n")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("CLIPROXY_CONFIG", "config.lambda.yaml")  # relative: under the task root
    monkeypatch.setenv("CLIPROXY_UPSTREAM_KEYS_SECRET", "arn:up")
    secret = ('{"claude-api-key": [{"api-key": "sk-ant-from-secret", "base-url": "http://127.0.0.1:9/s"}],'
              ' "gemini-api-key": [{"api-key": "AIzaFromTheSecret0000000000"}]}')
    lambda_config.export_secrets(FakeSecrets({"arn:up": secret}))

    cfg = lambda_config.load_config()

    assert cfg.source == str(tmp_path / "config.lambda.yaml")
    assert sorted(c.api_key or "" for c in cfg.credentials) == [
        "AIzaFromTheSecret0000000000", "sk-ant-from-file", "sk-ant-from-secret"]


def test_absolute_config_path_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert lambda_config.config_path("/mnt/config/c.yaml") == "/mnt/config/c.yaml"
    assert lambda_config.config_path("c.yaml") == "/var/task/c.yaml"


@pytest.mark.parametrize("value", ["api-keys: [sk-leak-me]", "- sk-leak-me", "{bad: [sk-leak-me"])
def test_upstream_secret_with_other_content_is_refused_without_its_value(value: str) -> None:
    with pytest.raises(lambda_config.SecretError) as caught:
        lambda_config.upstream_sections(value, "arn:up")
    assert "arn:up" in str(caught.value) and "sk-leak-me" not in str(caught.value)
