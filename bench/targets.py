"""The processes under test: the fake upstream, the bare pass-through, cliproxy and (on request) LiteLLM.

Each runs as its own process on a free loopback port, so its RSS is its own and the load client's event
loop never shares a core's time slice with the server it measures more than the OS decides.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CLIENT_KEY = "sk-bench-5f0c2a7e9d1b4c6a8e3f7a2b9c4d1e6f"  # LiteLLM refuses weak master keys
CHAT_MODEL = "bench-chat"
CODEX_MODEL = "bench-codex"
LITELLM_VERSION = "1.108.7"
LITELLM_HOME = Path(".tools/litellm")


@dataclass
class Target:
    name: str
    port: int
    proc: subprocess.Popen[bytes]

    def rss_mb(self) -> float:
        """Resident memory of the process (VmRSS), in MiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start(name: str, argv: list[str], port: int, workdir: Path, *, probe: bytes = b"/",
                env: dict[str, str] | None = None, timeout: float = 60.0) -> Target:
    log = (workdir / f"{name}.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    target = Target(name, port, proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see {workdir / (name + '.log')}")
        if await _answers(port, probe):
            return target
        await asyncio.sleep(0.1)
    target.stop()
    raise RuntimeError(f"{name} did not start within {timeout:.0f}s; see {workdir / (name + '.log')}")


async def _answers(port: int, path: bytes) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"GET " + path + b" HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        line = await asyncio.wait_for(reader.readline(), 5)
        return line.startswith(b"HTTP/1.1 ")
    except (TimeoutError, OSError):
        return False
    finally:
        writer.close()


async def start_upstream(workdir: Path) -> Target:
    port = free_port()
    return await start("upstream", [sys.executable, "-m", "bench.upstream", str(port)], port, workdir)


async def start_passthrough(workdir: Path, upstream: int) -> Target:
    port = free_port()
    argv = [sys.executable, "-m", "bench.passthrough", str(port), f"http://127.0.0.1:{upstream}"]
    return await start("passthrough", argv, port, workdir)


def cliproxy_config(workdir: Path, upstream: int, *, port: int = 8317, store: str | None = None,
                    more_compat: str = "") -> Path:
    """An openai-compatibility entry and a codex-api-key entry, both on the fake upstream; client keys set.
    ``more_compat``: further openai-compatibility entries (YAML list items)."""
    base = f"http://127.0.0.1:{upstream}/v1"
    store = store or f"{{backend: sqlite, path: {workdir / 'cliproxy.db'}}}"
    path = workdir / "cliproxy.yaml"
    path.write_text(f"""host: 127.0.0.1
port: {port}
api-keys: [{CLIENT_KEY}]
request-retry: 3
routing: {{strategy: round-robin, session-affinity: true, session-affinity-ttl: 1h}}
openai-compatibility:
  - name: bench
    base-url: {base}
    api-key-entries: [{{api-key: sk-bench-upstream}}]
    models: [{{name: {CHAT_MODEL}, alias: {CHAT_MODEL}}}]
{more_compat}codex-api-key:
  - api-key: sk-bench-codex
    base-url: {base}
    models: [{{name: gpt-5-codex, alias: {CODEX_MODEL}}}]
store: {store}
""")
    return path


async def start_cliproxy(workdir: Path, upstream: int) -> Target:
    port = free_port()
    config = cliproxy_config(workdir, upstream, port=port)
    argv = [sys.executable, "-m", "handlers.cli", "serve", "--config", str(config), "--port", str(port)]
    return await start("cliproxy", argv, port, workdir, probe=b"/healthz")


def install_litellm(log: Path) -> Path:
    """LiteLLM's proxy in its own venv (its pins clash with ours); reused once installed."""
    python = LITELLM_HOME / "bin" / "python"
    exe = LITELLM_HOME / "bin" / "litellm"
    check = [str(python), "-c", f"import importlib.metadata as m; assert m.version('litellm') == '{LITELLM_VERSION}'"]
    if exe.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return exe
    print(f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_HOME} (once) ...", flush=True)
    with log.open("wb") as out:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(LITELLM_HOME)], check=True, stdout=out, stderr=out)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
                       check=True, stdout=out, stderr=out)
    return exe


async def start_litellm(workdir: Path, upstream: int) -> Target:
    """LiteLLM in its best case: no database, no callbacks, no retries, one worker; the same client key."""
    exe = install_litellm(workdir / "litellm-install.log")
    port = free_port()
    config = workdir / "litellm.yaml"
    config.write_text(f"""model_list:
  - model_name: {CHAT_MODEL}
    litellm_params:
      model: openai/{CHAT_MODEL}
      api_base: http://127.0.0.1:{upstream}/v1
      api_key: sk-bench-upstream
litellm_settings:
  num_retries: 0
  request_timeout: 60
  callbacks: []
  success_callback: []
  failure_callback: []
  set_verbose: false
  telemetry: false
router_settings:
  num_retries: 0
  allowed_fails: 1000000
general_settings:
  master_key: {CLIENT_KEY}
  disable_spend_logs: true
  disable_error_logs: true
""")
    argv = [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "DISABLE_ADMIN_UI": "True"}
    return await start("litellm", argv, port, workdir, probe=b"/health/liveliness", env=env, timeout=180)
