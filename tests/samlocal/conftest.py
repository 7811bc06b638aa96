"""The deployment itself under `sam local` (Docker from ../shared/tools/sam-local.sh): skipped with the reason
when Docker cannot be started; these tests run last because they are the slowest."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fakes.upstream import FakeUpstream

ROOT = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("SAM_LOCAL_TOOL", ROOT.parent / "shared" / "tools" / "sam-local.sh"))
SCRIPT = ROOT / "scripts" / "sam_local.sh"
BUILD = ROOT / ".aws-sam" / "samlocal-test"
CLIENT_KEY = "sk-cliproxy-test"  # the key events/*.json carry
ENCRYPTION_KEY = "q0FhcV4s1h2Yb3wB8m5n6o7p8q9r0s1t2u3v4w5x6y8"
UPSTREAM_KEYS = {"openai": "sk-up-openai", "claude": ("sk-up-claude-1", "sk-up-claude-2"), "codex": "sk-up-codex",
                 "gemini": "gm-up-gemini"}
UP_SECONDS = 420  # dockerd + the base image (about a minute when built from scratch)
BUILD_SECONDS = 300


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "samlocal: runs the deployment under sam local (Docker); runs last")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every samlocal test after all the others (stable order otherwise)."""
    items.sort(key=lambda item: item.get_closest_marker("samlocal") is not None)


def run(args: list[str], *, seconds: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=seconds, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, fake: FakeUpstream) -> None:
    """Every upstream kind on the fake upstream (the container shares the host's loopback)."""
    doc = {
        "request-retry": 1,
        "routing": {"strategy": "round-robin", "session-affinity": True, "session-affinity-ttl": "1h"},
        "openai-compatibility": [{"name": "openai", "base-url": fake.openai_base_url,
                                  "api-key-entries": [{"api-key": UPSTREAM_KEYS["openai"]}],
                                  "models": [{"name": "gpt-4o-mini"}]}],
        "claude-api-key": [{"api-key": key, "base-url": fake.url} for key in UPSTREAM_KEYS["claude"]],
        "codex-api-key": [{"api-key": UPSTREAM_KEYS["codex"], "base-url": fake.codex_base_url}],
        # the fake signs with "sig-fake-<upstream model>", which the Gemini SDK decodes as base64
        "gemini-api-key": [{"api-key": UPSTREAM_KEYS["gemini"], "base-url": fake.url,
                            "models": [{"name": "gemini-test", "alias": "gemini-2.5-pro"}]}],
    }
    path.write_bytes(orjson.dumps(doc))  # JSON is YAML


@pytest.fixture(scope="session")
def sam_stack() -> Path:
    """Docker up, the local template built into BUILD; skip (with the reason) when that cannot happen here."""
    if not TOOL.is_file():
        pytest.skip(f"sam local: {TOOL} is missing (Docker stand-in tool)")
    if shutil.which("debootstrap") is None and shutil.which("apt-get") is None:
        pytest.skip("sam local: cannot install Docker here (no apt-get)")
    try:
        up = run([str(SCRIPT), "up"], seconds=UP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.skip(f"sam local: Docker not ready within {UP_SECONDS}s")
    if up.returncode != 0:
        pytest.skip(f"sam local: Docker cannot be started here: {up.stderr.strip().splitlines()[-1:]}")
    built = run([str(SCRIPT), "build"], seconds=BUILD_SECONDS, env={"SAM_LOCAL_BUILD_DIR": str(BUILD)})
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return BUILD


@pytest.fixture(scope="session")
def sam_fake(sam_stack: Path) -> Iterator[FakeUpstream]:
    from tests.fakes.upstream import FakeUpstream

    with FakeUpstream() as fake:
        write_config(sam_stack / "BufferedFunction" / "config.samlocal.yaml", fake)
        yield fake


@pytest.fixture(scope="session")
def moto_dynamodb() -> Iterator[Any]:
    """A moto server on the host's loopback with the stack's table; the container reaches it at 127.0.0.1."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_table(TableName="cliproxy-samlocal", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}])
    client.endpoint = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield client
    server.stop()


@pytest.fixture(scope="session")
def sam_api(sam_stack: Path, sam_fake: FakeUpstream, moto_dynamodb: Any) -> Iterator[str]:
    """`sam local start-api` on 127.0.0.1 (a fresh container per request), DynamoDB store on the moto server."""
    import httpx

    port = free_port()
    env = {**os.environ, "SAM_LOCAL_BUILD_DIR": str(sam_stack), "SAM_LOCAL_PORT": str(port),
           "CLIPROXY_API_KEYS": CLIENT_KEY, "CLIPROXY_ENCRYPTION_KEY": ENCRYPTION_KEY,
           "CLIPROXY_STORE_BACKEND": "dynamodb", "CLIPROXY_TABLE": "cliproxy-samlocal",
           "CLIPROXY_STORE_ENDPOINT": moto_dynamodb.endpoint,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    log = (sam_stack / "start-api.log").open("w")
    proc = subprocess.Popen([str(SCRIPT), "start-api"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(url + "/healthz", timeout=30)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("sam local start-api did not answer: " + (sam_stack / "start-api.log").read_text()[-2000:])
        yield url
    finally:
        proc.terminate()  # SIGTERM: SAM removes its containers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
