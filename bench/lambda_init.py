"""The streaming function started the way Lambda starts it, without Lambda: for the cold-start figure
(``make bench``) and the stream test (tests/lambda/test_lambda_stream.py).

Under the Lambda Web Adapter, Lambda runs the handler ``run.sh`` with the function's environment; the adapter
polls ``AWS_LWA_READINESS_CHECK_PATH`` on ``PORT`` until it answers (that is the init), then forwards each
invocation as an HTTP request carrying ``x-amzn-request-context`` / ``x-amzn-lambda-context`` and, in
``response_stream`` mode, passes each body chunk on as the app writes it. ``LambdaProcess`` does the same
with the built bundle (``.aws-sam/build/ApiFunction`` on python3.12 with the x86_64 twin of the layer) or,
when no bundle is built, with ``src/`` on the current interpreter. ``aws_on_moto`` puts the stack's
secrets and table on a moto server, so the init reads them as on AWS.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
BUILT = ROOT / ".aws-sam" / "build" / "ApiFunction"
TWIN = ROOT / ".aws-sam" / "x86-twin"
CLIENT_KEY = "sk-lambda-init-client-0123456789"
ENCRYPTION_KEY = "q0FhcV4s1h2Yb3wB8m5n6o7p8q9r0s1t2u3v4w5x6y8"


@dataclass
class Bundle:
    """Where the function's code is and which interpreter and paths run it."""

    root: Path
    python: str
    paths: list[str]
    built: bool


def bundle() -> Bundle:
    """The built bundle when `sam build` and `sam check` ran (twin present and python3.12 found), else src/
    (also with ``CLIPROXY_LAMBDA_BUNDLE=src``)."""
    if os.environ.get("CLIPROXY_LAMBDA_BUNDLE") != "src" and (BUILT / "run.sh").is_file() and (TWIN / "deps").is_dir():
        found = subprocess.run([str(ROOT / "scripts" / "sam.sh"), "python312"], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            return Bundle(BUILT, found.stdout.strip(), [str(TWIN / "deps"), str(TWIN / "runtime")], True)
    import sys

    return Bundle(ROOT / "src", sys.executable, [], False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AwsOnMoto:
    """A moto server holding the stack's table and its three secrets; ``env`` points boto3 at it."""

    server: Any
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        self.server.stop()


def aws_on_moto(upstream_sections: dict[str, Any]) -> AwsOnMoto:
    import uuid

    import boto3
    from moto.server import ThreadedMotoServer

    run = uuid.uuid4().hex[:8]  # moto's backends are process-wide: fresh names for every server
    table = f"cliproxy-init-{run}"
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing", "AWS_REGION": "us-east-1",
           "AWS_DEFAULT_REGION": "us-east-1"}
    kw = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": "us-east-1", "aws_access_key_id": "testing",
          "aws_secret_access_key": "testing"}
    dynamo = boto3.client("dynamodb", **kw)
    dynamo.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}])
    manager = boto3.client("secretsmanager", **kw)

    def secret(name: str, value: str) -> str:
        return str(manager.create_secret(Name=f"{name}-{run}", SecretString=value)["ARN"])

    env |= {"CLIPROXY_STORE_BACKEND": "dynamodb", "CLIPROXY_TABLE": table,
            "CLIPROXY_API_KEYS_SECRET": secret("client-keys", CLIENT_KEY),
            "CLIPROXY_ENCRYPTION_KEY_SECRET": secret("encryption-key", ENCRYPTION_KEY),
            "CLIPROXY_UPSTREAM_KEYS_SECRET": secret("upstream-keys", orjson.dumps(upstream_sections).decode())}
    return AwsOnMoto(server, env)


class LambdaProcess:
    """``run.sh`` under a stand-in for the web adapter's readiness check and streaming forwarder."""

    def __init__(self, code: Bundle, env: dict[str, str], config: Path) -> None:
        self.code, self.port = code, free_port()
        self._bin = Path(tempfile.mkdtemp(prefix="lambda-bin-"))
        # run.sh execs `python3`, Lambda's runtime interpreter. A wrapper, not a symlink: a venv's python
        # reached through a symlink elsewhere does not find its pyvenv.cfg, so it loses the venv's packages.
        wrapper = self._bin / "python3"
        wrapper.write_text(f'#!/bin/sh\nexec "{code.python}" "$@"\n')
        wrapper.chmod(0o755)
        self.env = {
            "PATH": f"{self._bin}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": os.environ.get("HOME", "/tmp"),
            "LAMBDA_TASK_ROOT": str(code.root), "PORT": str(self.port), "AWS_LAMBDA_FUNCTION_NAME": "cliproxy-ApiFunction",
            "AWS_LWA_INVOKE_MODE": "response_stream", "AWS_LWA_READINESS_CHECK_PATH": "/healthz",
            "POWERTOOLS_SERVICE_NAME": "cliproxy", "POWERTOOLS_METRICS_NAMESPACE": "cliproxy",
            "CLIPROXY_CONFIG": str(config), "PYTHONPATH": os.pathsep.join(code.paths),
            "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        import httpx

        # One client, made before the process starts, as the adapter's is: a new httpx client loads the CA
        # bundle (~20 ms of this process's CPU), so one per poll would make polls ~3x further apart than
        # the adapter's 10 ms and add its cost to each measured start.
        self._http = httpx.Client(timeout=60.0)

    def start(self) -> LambdaProcess:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(["bash", str(self.code.root / "run.sh")], env=self.env, cwd=self.code.root,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Poll the readiness path as the adapter does; seconds from start to the first 2xx (the init)."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""
                raise RuntimeError(f"run.sh exited with {self.proc.returncode}:\n{out[-3000:]}")
            try:
                if self._http.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1.0).status_code < 300:
                    return time.perf_counter() - self.started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
        raise TimeoutError(f"run.sh not ready on port {self.port} within {timeout} s")

    def invoke(self, method: str, path: str, body: Any, headers: dict[str, str] | None = None,
               request_id: str = "req-1") -> Iterator[tuple[float, int, bytes]]:
        """Forward one invocation; yield ``(perf_counter time, status, chunk)`` for each body chunk as it arrives."""
        context = {"requestId": f"apigw-{request_id}", "stage": "prod", "path": f"/prod{path}"}
        sent = {"authorization": f"Bearer {CLIENT_KEY}", "content-type": "application/json",
                "x-amzn-request-context": orjson.dumps(context).decode(),
                "x-amzn-lambda-context": orjson.dumps({"request_id": request_id}).decode(), **(headers or {})}
        with self._http.stream(
                method, f"http://127.0.0.1:{self.port}{path}", headers=sent,
                content=orjson.dumps(body) if body is not None else None) as response:
            for chunk in response.iter_raw():
                yield time.perf_counter(), response.status_code, chunk

    def stop(self) -> str:
        """Stop the process group; what it printed."""
        out = ""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                out = self.proc.communicate(timeout=10)[0].decode(errors="replace")
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                out = self.proc.communicate()[0].decode(errors="replace")
        self._http.close()
        shutil.rmtree(self._bin, ignore_errors=True)
        return out


def write_config(path: Path, token_url: str) -> Path:
    """A config like the bundled one: routing only, nothing secret (keys come from the secrets)."""
    path.write_bytes(orjson.dumps({"request-retry": 1, "routing": {"strategy": "round-robin"},
                                   "store": {"backend": "dynamodb", "table": "from-the-stack"},
                                   "oauth": {"codex-token-url": token_url, "claude-token-url": token_url}}))
    return path


@dataclass
class ColdStart:
    init_ms: float  # run.sh started -> readiness check answered (Lambda's Init Duration under the adapter)
    first_answer_ms: float  # run.sh started -> the first chat completion fully answered
    built: bool  # the built bundle (python3.12 + layer twin), or src/ on this interpreter


def cold_start(upstream_port: int, model: str, workdir: Path, *, runs: int = 3) -> ColdStart:
    """Best of ``runs`` cold starts of the streaming function: init and first answer, secrets and table on moto,
    one chat completion to the upstream on ``upstream_port`` serving ``model``."""
    sections = {"openai-compatibility": [{"name": "bench", "base-url": f"http://127.0.0.1:{upstream_port}/v1",
                                          "api-key-entries": [{"api-key": "sk-bench-cold-start"}],
                                          "models": [{"name": model}]}]}
    code = bundle()
    config = write_config(workdir / "config.coldstart.yaml", f"http://127.0.0.1:{upstream_port}/oauth/token")
    best_init = best_first = float("inf")
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(runs):
        aws = aws_on_moto(sections)
        proc = LambdaProcess(code, aws.env, config).start()
        try:
            init = proc.wait_ready()
            statuses = {status for _, status, _ in proc.invoke("POST", "/v1/chat/completions", body)}
            first = time.perf_counter() - proc.started
            if statuses != {200}:
                raise RuntimeError(f"cold start answered {statuses}:\n{proc.stop()[-2000:]}")
        finally:
            proc.stop()
            aws.stop()
        best_init, best_first = min(best_init, init * 1000), min(best_first, first * 1000)
    return ColdStart(best_init, best_first, code.built)
