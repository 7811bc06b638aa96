"""scripts/check_bundle.py (`make sam-check`) refuses a bundle whose config holds a secret."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import script

ROOT = Path(__file__).resolve().parents[2]


def check_bundle() -> Any:
    return script("check_bundle")


def test_the_shipped_configs_hold_no_secret(tmp_path: Path) -> None:
    for config in (ROOT / "deploy").glob("config*.yaml"):  # what deploy/Makefile copies into every function
        shutil.copy(config, tmp_path)
    assert list(tmp_path.iterdir())
    assert check_bundle().config_secrets(tmp_path) == []


@pytest.mark.parametrize(("text", "where"), [
    ("claude-api-key:\n  - api-key: plain-upstream-key\n", "config.mine.yaml:2 (api-key)"),
    ('{"gemini-api-key": [{"api-key": "k1"}]}', "config.mine.yaml:1 (api-key)"),
    ("api-keys:\n  - sk-client-0123456789\n", "config.mine.yaml:2 (key-shaped value)"),
    ("encryption-key: q0FhcV4s1h2Yb3wB8m5n6o7p8q9r0s1t2u3v4w5x6y8\n", "config.mine.yaml:1 (encryption-key)"),
    ("openai-compatibility:\n  - name: x\n    headers: {x-goog-api-key: AIzaSyA0123456789abcdefghij}\n",
     "config.mine.yaml:3 (api-key)"),
])
def test_a_key_shaped_value_fails_the_check_without_being_printed(tmp_path: Path, text: str, where: str) -> None:
    (tmp_path / "config.mine.yaml").write_text(text)
    found = check_bundle().config_secrets(tmp_path)
    assert found == [where]


@pytest.mark.parametrize("text", [
    "claude-api-key:\n  - api-key: \"\"\n", "api-keys: []\n", "# api-key: sk-only-a-comment-000\n",
    "request-retry: 3\nstore: {backend: dynamodb}\n",
])
def test_empty_or_commented_fields_pass(tmp_path: Path, text: str) -> None:
    (tmp_path / "config.lambda.yaml").write_text(text)
    assert check_bundle().config_secrets(tmp_path) == []
