"""The real Claude Code (pinned, tests/clis/conftest.py) through the proxy against the fake upstream, as a user's
first run: no --model flag and no ANTHROPIC_MODEL, so it asks for its own default model (claude-opus-4-8 in
2.1.197, newer than the built-in catalog), which the Claude family fallback serves. Two turns: the second
continues the first, so the whole conversation travels back."""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

import pytest
from tests.conftest import CLIENT_KEY, UP

from core import catalog

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.fakes.upstream import FakeUpstream
    from tests.servers import ThreadedServer

pytestmark = pytest.mark.timeout(300)
TURN_SECONDS = 120


def claude_env(home: Path, proxy_url: str) -> dict[str, str]:
    """Nothing from the caller's environment but PATH: no ANTHROPIC_MODEL, no user settings (HOME is empty)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "ANTHROPIC_BASE_URL": proxy_url,
            "ANTHROPIC_API_KEY": CLIENT_KEY, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1"}


def turn(claude: Path, prompt: str, cwd: Path, env: dict[str, str], *more: str) -> dict:
    done = subprocess.run([str(claude), "-p", *more, prompt, "--output-format", "json"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TURN_SECONDS, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)


def test_claude_code_default_model_two_turns(cli_path: Callable[[str], Path], proxy: ThreadedServer,
                                             upstream: FakeUpstream, tmp_path: Path) -> None:
    claude = cli_path("claude")
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = claude_env(home, proxy.url)

    first = turn(claude, "first question", work, env)
    second = turn(claude, "second question", work, env, "--continue")

    assert not first["is_error"] and not second["is_error"]
    assert "first question" in first["result"] and second["result"].endswith("second question")
    assert second["session_id"] == first["session_id"]
    asked = [r for r in upstream.requests if r.path == "/v1/messages"]
    models = {r.body["model"] for r in asked}
    assert len(models) == 1, models
    model = models.pop()  # its own default, not one we chose, and one the built-in catalog does not list
    assert model.startswith("claude-") and catalog.lookup(model) is None, model
    assert all(UP["claude"] in (r.headers.get("x-api-key"), r.headers.get("authorization", "").removeprefix("Bearer "))
               for r in asked)
    history = asked[-1].body["messages"]
    said = json.dumps(history)
    assert len(history) >= 3 and "first question" in said and "second question" in said
