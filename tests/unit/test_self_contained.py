"""Nothing in the repository points outside it: a bare `git clone` must find everything it uses inside itself.

Every tracked file is read (binary files aside: a NUL byte in their first block) for the team's shared folder
beside the repository (SHARED below), the machine-specific roots this project was developed under, and this
checkout's own absolute location and its parent (wherever the clone lives, a path into it is a path that another
clone does not have)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# written in pieces, so this file does not match itself
SHARED = "../" + "shared"
MACHINE_ROOTS = ("/" + "work/", "/" + "root/")


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({type(exc).__name__})")
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name]


def outside_pointers() -> re.Pattern[str]:
    here = {str(ROOT) + "/", str(ROOT.parent) + "/"} - {"//"}
    words = [re.escape(SHARED)] + [rf"(?<![\w.~-]){re.escape(p)}" for p in (*MACHINE_ROOTS, *sorted(here))]
    return re.compile("|".join(words))


def test_no_tracked_file_points_outside_the_repository() -> None:
    pattern = outside_pointers()
    found = []
    for path in tracked_files():
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if match := pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r}")
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_the_check_sees_what_it_looks_for() -> None:
    pattern = outside_pointers()
    for line in (f"source {SHARED}/tools/x.sh", f"cat {MACHINE_ROOTS[0]}main/README.md",
                 f"open('{ROOT}/tests/fixtures/x.json')", f"{MACHINE_ROOTS[1]}.cache/x"):
        assert pattern.search(line), line
    for line in ("tests/fixtures/clients/x.json", "/var/task/config.yaml", "~/.codex/auth.json", "$HOME/.cache"):
        assert not pattern.search(line), line
