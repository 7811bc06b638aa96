"""The deployment itself under `sam local` (scripts/sam_local.sh: the function derived from template.yaml, Docker
from scripts/lambda_docker.sh): skipped with the reason when Docker cannot be had here; these tests run last
because they are the slowest."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from tests import dynamo

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fakes.upstream import FakeUpstream

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sam_local.sh"
# Built here (shared, under the script's lock: its cache makes rebuilds quick), then copied per test session, so
# concurrent sessions never rebuild, reconfigure or log into the stack another one is running.
SHARED_BUILD = ROOT / ".aws-sam" / "samlocal-test"
CLIENT_KEY = "sk-cliproxy-test"  # the key events/*.json carry
ENCRYPTION_KEY = "q0FhcV4s1h2Yb3wB8m5n6o7p8q9r0s1t2u3v4w5x6y8"
UPSTREAM_KEYS = {"openai": "sk-up-openai", "claude": ("sk-up-claude-1", "sk-up-claude-2"), "codex": "sk-up-codex",
                 "gemini": "gm-up-gemini"}
TABLE = "cliproxy-samlocal"
REGION = "us-east-1"
UP_SECONDS = 600  # dockerd (apt-get install when missing) + the base image (a few minutes when built from scratch)
CANNOT = 3  # scripts/sam_local.sh up: Docker cannot be had on this machine (the reason on stderr)
BUILD_SECONDS = 900  # waiting for another session's build (the lock, at most 600 s) + our own
API_SECONDS = 120  # start-api answering its first request (a container start)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "samlocal: runs the deployment under sam local (Docker); runs last")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every samlocal test after all the others (stable order otherwise)."""
    items.sort(key=lambda item: item.get_closest_marker("samlocal") is not None)


def run(args: list[str], *, seconds: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run to completion; on timeout kill its whole process group (sam, pip, make), so no pipe keeps us waiting."""
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        stop_group(proc, signal.SIGKILL)
        proc.communicate(timeout=30)
        raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def stop_group(proc: subprocess.Popen[Any], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_doc(fake: FakeUpstream) -> dict[str, Any]:
    """Every upstream kind on the fake upstream (the container shares the host's loopback)."""
    return {
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


def write_config(path: Path, fake: FakeUpstream) -> None:
    path.write_bytes(orjson.dumps(config_doc(fake)))  # JSON is YAML


@pytest.fixture(scope="session")
def sam_stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Docker up, the local template built and copied into this session's own directory; skip (with the
    reason) when Docker cannot be started here."""
    if shutil.which("docker") is None and shutil.which("apt-get") is None:
        pytest.skip("sam local: no docker, and no apt-get to install it")
    try:
        up = run([str(SCRIPT), "up"], seconds=UP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.skip(f"sam local: Docker not ready within {UP_SECONDS}s")
    said = (up.stderr.strip() or up.stdout.strip()).splitlines()
    if up.returncode == CANNOT:
        pytest.skip(f"sam local: Docker cannot be had here: {said[-1] if said else 'no reason given'}")
    assert up.returncode == 0, f"scripts/sam_local.sh up failed (exit {up.returncode}): " + "\n".join(said[-20:])
    stack = tmp_path_factory.mktemp("samlocal") / "stack"
    started = time.monotonic()
    built = run([str(SCRIPT), "build", str(stack)], seconds=BUILD_SECONDS,
                env={"SAM_LOCAL_BUILD_DIR": str(SHARED_BUILD)})
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    print(f"sam build (derived from template.yaml, cached layer): {time.monotonic() - started:.1f}s")
    return stack


@pytest.fixture(scope="session")
def sam_fake(sam_stack: Path) -> Iterator[FakeUpstream]:
    from tests.fakes.upstream import FakeUpstream

    with FakeUpstream() as fake:
        write_config(sam_stack / "BufferedFunction" / "config.samlocal.yaml", fake)
        yield fake


@pytest.fixture(scope="session")
def moto_dynamodb(sam_stack: Path) -> Iterator[Any]:
    """A moto server on the host's loopback with the stack's table; the container reaches it at 127.0.0.1."""
    with dynamo.moto_server() as endpoint:
        client = dynamo.client(endpoint, region=REGION)
        dynamo.create_table(client, TABLE)
        client.endpoint = endpoint  # type: ignore[attr-defined]
        yield client


def function_env(store_endpoint: str) -> dict[str, str]:
    """What the function gets (scripts/sam_local.sh writes every variable the template declares into
    --env-vars) and the AWS settings SAM hands it: everything pinned, nothing left to this process's env."""
    return {"CLIPROXY_API_KEYS": CLIENT_KEY, "CLIPROXY_ENCRYPTION_KEY": ENCRYPTION_KEY,
            "CLIPROXY_STORE_BACKEND": "dynamodb", "CLIPROXY_TABLE": TABLE, "CLIPROXY_STORE_ENDPOINT": store_endpoint,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="session")
def sam_api(sam_stack: Path, sam_fake: FakeUpstream, moto_dynamodb: Any) -> Iterator[str]:
    """`sam local start-api` on 127.0.0.1 (a fresh container per request), DynamoDB store on the moto server.
    Depends on the moto server, so that server outlives it (session fixtures end in reverse order)."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(function_env(moto_dynamodb.endpoint), SAM_LOCAL_BUILD_DIR=str(sam_stack), SAM_LOCAL_PORT=str(port))
    log_path = sam_stack / "start-api.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(SCRIPT), "start-api"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(url, proc, log_path)
        yield url
    finally:
        stop_group(proc, signal.SIGTERM)  # SAM removes its containers on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stop_group(proc, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_for_api(url: str, proc: subprocess.Popen[Any], log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + API_SECONDS
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/healthz", timeout=max(1.0, deadline - time.monotonic())).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"sam local start-api did not answer /healthz within {API_SECONDS}s (exit {proc.poll()}): "
                + log_path.read_text()[-3000:])
