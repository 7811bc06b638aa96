"""One store suite over every backend: memory, SQLite (temp file) and DynamoDB (moto, table from template.yaml)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from tests import dynamo

from core import store as stores
from core.config import StoreConfig

TABLE = "cliproxy-test"
KEY = "Z5sH3pYV0xQm7W8bX2c4d6e8f0g2h4j6k8l0m2n4p6o="  # a fixed 32-byte test key


table_from_template = dynamo.table_properties


def create_test_table(client: Any, name: str = TABLE) -> None:
    dynamo.create_table(client, name)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def dynamodb_client(aws_env: None):  # type: ignore[no-untyped-def]
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    backend = request.param
    if backend == "dynamodb":
        client = request.getfixturevalue("dynamodb_client")
        create_test_table(client)
        opened = stores.open_store(StoreConfig(backend="dynamodb", table=TABLE), dynamodb_client=client,
                                   encryption_key=KEY)
    else:
        path = os.path.join(tmp_path, "state", "cliproxy.db")
        opened = stores.open_store(StoreConfig(backend=backend, path=path), encryption_key=KEY)
    yield opened
    asyncio.run(opened.close())
