"""The pinned CLIs install and run: the infrastructure the real-client tests stand on."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@pytest.mark.parametrize(("name", "says"), [("claude", "2.1.197 (Claude Code)"), ("codex", "codex-cli 0.171.0")])
def test_pinned_cli_runs(cli_path: Callable[[str], Path], name: str, says: str) -> None:
    done = subprocess.run([str(cli_path(name)), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == says
