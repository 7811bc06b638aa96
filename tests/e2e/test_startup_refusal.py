"""A configuration the proxy cannot serve with stops it before it listens: `cliproxy serve` (a real process)
exits 2 with `file: key: what is wrong`, Lambda's init fails with the same line, and `GET /healthz?deep=1`
(client key required) says which part is not ready while plain `/healthz` stays cheap."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import httpx
from tests import dynamo
from tests.conftest import CLIENT_KEY

if TYPE_CHECKING:
    from pathlib import Path

KEY = "Z5sH3pYV0xQm7W8bX2c4d6e8f0g2h4j6k8l0m2n4p6o="
OTHER_KEY = "q0FhcV4s1h2Yb3wB8m5n6o7p8q9r0s1t2u3v4w5x6y8="
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_REGION": "us-east-1"}
CLAUDE_LOGIN = ('{"type": "claude", "access_token": "sk-ant-oat01-SECRET", "refresh_token": "sk-ant-ort01-SECRET",'
                ' "email": "dev@example.com", "expired": "2030-03-17T17:46:40Z"}')
SECONDS = 60


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPROXY_", "AWS_"))}
    return {**env, **AWS, **extra}


def cliproxy(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "handlers.cli", *args], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=SECONDS, check=False)


def refused(config: Path, key: str, why: str, *, env: dict[str, str] | None = None) -> None:
    """`cliproxy serve` exits 2 before listening, with one `file: key: what is wrong` line naming key."""
    done = cliproxy("serve", "--config", str(config), "--port", "0", cwd=config.parent, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "listening" not in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"cliproxy: {config}: {key}: "), lines[0]
    assert why in lines[0]


def test_dynamodb_without_an_encryption_key(tmp_path, moto_endpoint):
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {{backend: dynamodb, table: cliproxy, endpoint-url: '{moto_endpoint}'}}\n")
    refused(config, "encryption-key", "required with store.backend dynamodb")


def test_a_malformed_key(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"encryption-key: not-a-key\nstore: {{backend: sqlite, path: '{tmp_path / 'db'}'}}\n")
    refused(config, "encryption-key", "expected urlsafe base64 of 32 bytes")


def test_a_table_that_does_not_exist(tmp_path, moto_endpoint):
    config = tmp_path / "config.yaml"
    config.write_text(f"encryption-key: {KEY}\n"
                      f"store: {{backend: dynamodb, table: no-such-table, endpoint-url: '{moto_endpoint}'}}\n")
    refused(config, "store.table", "DynamoDB table 'no-such-table' does not exist")


def test_an_unreadable_store_file(tmp_path):
    garbage = tmp_path / "state.db"
    garbage.write_bytes(b"this is not an SQLite database, not even close" * 100)
    config = tmp_path / "config.yaml"
    config.write_text(f"encryption-key: {KEY}\nstore: {{backend: sqlite, path: '{garbage}'}}\n")
    refused(config, "store.path", "file is not a database")


def test_credentials_stored_under_another_key(tmp_path):
    login = tmp_path / "claude.json"
    login.write_text(CLAUDE_LOGIN)
    store = f"store: {{backend: sqlite, path: '{tmp_path / 'state.db'}'}}\n"
    importing = tmp_path / "import.yaml"
    importing.write_text(f"encryption-key: {KEY}\n{store}")
    assert cliproxy("auth", "import", str(login), "--config", str(importing), cwd=tmp_path).returncode == 0
    config = tmp_path / "config.yaml"
    config.write_text(f"encryption-key: {OTHER_KEY}\n{store}")
    refused(config, "encryption-key", "opens none of the 1 stored credentials")


def test_lambda_init_fails_with_the_same_line(tmp_path, moto_endpoint):
    config = tmp_path / "config.lambda.yaml"
    config.write_text(f"store: {{backend: dynamodb, table: cliproxy, endpoint-url: '{moto_endpoint}'}}\n")
    env = clean_env(AWS_LAMBDA_FUNCTION_NAME="cliproxy-test", CLIPROXY_CONFIG=str(config))
    done = subprocess.run([sys.executable, "-c", "import handlers.api as api; api.handler"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=SECONDS, check=False)
    assert done.returncode != 0
    assert f"cliproxy: {config}: encryption-key: required with store.backend dynamodb" in done.stderr


def test_deep_health_names_the_store_when_the_table_goes(start_proxy, moto_endpoint, monkeypatch):
    for name, value in AWS.items():
        monkeypatch.setenv(name, value)
    client = dynamo.client(moto_endpoint)
    dynamo.create_table(client, "deep-health")
    proxy = start_proxy(**{"encryption-key": KEY, "store": {"backend": "dynamodb", "table": "deep-health",
                                                            "endpoint-url": moto_endpoint}})
    auth = {"authorization": f"Bearer {CLIENT_KEY}"}

    assert httpx.get(proxy.url + "/healthz?deep=1", timeout=10).status_code == 401  # the key is required
    ok = httpx.get(proxy.url + "/healthz?deep=1", headers=auth, timeout=10)
    assert ok.status_code == 200 and ok.json() == {"status": "ok", "checks": {"config": "ok", "store": "ok"}}

    client.delete_table(TableName="deep-health")
    shallow = httpx.get(proxy.url + "/healthz", timeout=10)
    assert shallow.status_code == 200  # stays cheap: no store call
    deep = httpx.get(proxy.url + "/healthz?deep=1", headers=auth, timeout=10)
    assert deep.status_code == 503
    body = deep.json()
    assert body["status"] == "not ready" and body["checks"] == {"config": "ok", "store": "not ready"}
    assert len(body["problems"]) == 1 and ": store.table: DynamoDB table 'deep-health' does not exist" in \
        body["problems"][0]
