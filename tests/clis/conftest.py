"""The real coding CLIs (pinned, from npm) for tests that drive them through the proxy.

`cli_path("claude")` / `cli_path("codex")` -> the binary, installed by scripts/install_clis.sh into .tools/clis
(`make test` runs it first; here it runs again, a no-op when installed). Skips with the reason when Node.js/npm
is missing or the install fails, so the rest of the suite still runs on such a machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install_clis.sh"
INSTALL_SECONDS = 600
BINARIES = {"claude": "claude", "codex": "codex"}  # fixture name -> the npm package's bin


@cache
def install() -> str | None:
    """Run the install script once per session: None when ready, else why not (the skip reason)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"real CLIs: {' and '.join(missing)} not found (install Node.js 18+ with npm)"
    try:
        done = subprocess.run([str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=INSTALL_SECONDS,
                              check=False)
    except subprocess.TimeoutExpired:
        return f"real CLIs: scripts/install_clis.sh did not finish within {INSTALL_SECONDS}s"
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        return f"real CLIs: scripts/install_clis.sh failed: {said[-1] if said else f'exit {done.returncode}'}"
    return None


def clis_dir() -> Path:
    return Path(os.environ.get("CLIPROXY_CLIS_DIR") or ROOT / ".tools" / "clis")


@pytest.fixture(scope="session")
def cli_path() -> Callable[[str], Path]:
    """name ("claude", "codex") -> the installed binary; skips the test with the reason when it cannot be had."""

    def path(name: str) -> Path:
        if name not in BINARIES:
            raise ValueError(f"unknown CLI {name!r}: one of {sorted(BINARIES)}")
        reason = install()
        if reason:
            pytest.skip(reason)
        binary = clis_dir() / "node_modules" / ".bin" / BINARIES[name]
        if not os.access(binary, os.X_OK):
            pytest.skip(f"real CLIs: {binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary} "
                        "missing after install")
        return binary

    return path
