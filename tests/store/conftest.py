"""One store suite over every backend: memory, SQLite (temp file) and DynamoDB (moto, table from template.yaml)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from core import store as stores
from core.config import StoreConfig

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TABLE = "cliproxy-test"
KEY = "Z5sH3pYV0xQm7W8bX2c4d6e8f0g2h4j6k8l0m2n4p6o="  # a fixed 32-byte test key


def table_from_template(template: Path = TEMPLATE) -> dict[str, Any]:
    """``create_table`` arguments (plus ``TimeToLiveSpecification``) from template.yaml's DynamoDB table,
    so the tests run against the table the stack deploys. Falls back to pk/sk/ttl without the file."""
    props: dict[str, Any] = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
    }
    if template.exists():
        tables = [r["Properties"] for r in _cfn_resources(template).values()
                  if r.get("Type") == "AWS::DynamoDB::Table"]
        assert len(tables) == 1, "template.yaml should declare exactly one DynamoDB table"
        props = {k: tables[0][k] for k in ("BillingMode", "AttributeDefinitions", "KeySchema",
                                           "TimeToLiveSpecification", "GlobalSecondaryIndexes") if k in tables[0]}
    return props


def _cfn_resources(template: Path) -> dict[str, Any]:
    import yaml

    class CfnLoader(yaml.SafeLoader):
        """Reads CloudFormation short-form tags (!Ref, !Sub, !GetAtt...) as plain values."""

    def any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    CfnLoader.add_multi_constructor("!", any_tag)
    return yaml.load(template.read_text(), Loader=CfnLoader)["Resources"]


def create_test_table(client: Any, name: str = TABLE) -> None:
    props = table_from_template()
    ttl = props.pop("TimeToLiveSpecification", None)
    client.create_table(TableName=name, **props)
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


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
