"""The stack's DynamoDB table for tests: created from template.yaml, so every test runs against what deploys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """CloudFormation YAML with its short-form tags (!Ref, !Sub, !GetAtt, !If...) read as ``{"!Tag": value}``."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        value: Any = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_scalar(node)
    return {f"!{suffix}": value}


CfnLoader.add_multi_constructor("!", _any_tag)


def load_template(template: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(template.read_text(), Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass


def table_properties(template: Path = TEMPLATE) -> dict[str, Any]:
    """``create_table`` arguments plus ``TimeToLiveSpecification``, from the template's one DynamoDB table."""
    tables = [r["Properties"] for r in load_template(template)["Resources"].values()
              if r.get("Type") == "AWS::DynamoDB::Table"]
    assert len(tables) == 1, "template.yaml should declare exactly one DynamoDB table"
    return {k: tables[0][k] for k in ("BillingMode", "AttributeDefinitions", "KeySchema",
                                      "TimeToLiveSpecification", "GlobalSecondaryIndexes") if k in tables[0]}


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on loopback for the length of the block; yields its endpoint URL. Port 0: the kernel's
    free port at bind time (a port probed beforehand may be gone by then). ``start()`` never returns when the
    bind fails, hence the bounded wait on a thread."""
    import threading

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    starting = threading.Thread(target=server.start, daemon=True)
    starting.start()
    starting.join(timeout=30)
    assert not starting.is_alive(), "moto server did not start within 30s"
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(endpoint: str, service: str = "dynamodb", region: str = "us-east-1") -> Any:
    """A boto3 client for a moto server, with the dummy credentials moto accepts."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def create_table(client: Any, name: str) -> None:
    """Create the stack's table under ``name`` with ``client`` (moto in-process or a moto server)."""
    props = table_properties()
    ttl = props.pop("TimeToLiveSpecification", None)
    client.create_table(TableName=name, **props)
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def atomic_moto_writes() -> None:
    """Make moto's DynamoDB writes atomic, as DynamoDB's are per item. moto checks a write's condition and
    applies an ``ADD`` without a lock, so writes racing on threads (the store's worker threads, or a moto
    server's request threads) can both pass one condition or lose an increment. Tests that race writes
    would then measure moto, not our code. Idempotent; applies to in-process mocks and moto servers alike."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_cliproxy_atomic", False):
        return
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend._cliproxy_atomic = True  # type: ignore[attr-defined]
