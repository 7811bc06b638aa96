"""First run: `cliproxy serve` with no credentials names the local logins it could import, and
`cliproxy auth import --detect` imports them all (HOME is a temp dir holding the CLIs' login files)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

SECONDS = 60


def jwt(claims: dict) -> str:
    def seg(doc: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    return f"{seg({'alg': 'RS256'})}.{seg(claims)}.signature"


def write(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def logins(home: Path) -> None:
    """Codex CLI, Claude Code (account beside it), one CLIProxyAPI file and one file that is not a login."""
    id_token = jwt({"email": "codex@example.com", "https://api.openai.com/auth": {"chatgpt_account_id": "acct-1"}})
    write(home / ".codex" / "auth.json", {"tokens": {"id_token": id_token, "access_token": jwt({"exp": 1_900_000_000}),
                                                     "refresh_token": "rt-codex", "account_id": "acct-1"}})
    write(home / ".claude" / ".credentials.json", {"claudeAiOauth": {
        "accessToken": "sk-ant-oat01-SECRET", "refreshToken": "sk-ant-ort01-SECRET", "expiresAt": 1_900_000_000_000}})
    write(home / ".claude.json", {"oauthAccount": {"emailAddress": "claude@example.com"}})
    write(home / ".cli-proxy-api" / "claude-team@example.com.json", {
        "type": "claude", "access_token": "sk-ant-oat01-TEAM", "refresh_token": "sk-ant-ort01-TEAM",
        "email": "team@example.com", "expired": "2030-03-17T17:46:40Z"})
    write(home / ".cli-proxy-api" / "notes.json", {"hello": "world"})


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPROXY_", "AWS_"))}
    return {**env, "HOME": str(home)}


def cliproxy(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "handlers.cli", *args], cwd=home, env=env_for(home),
                          capture_output=True, text=True, timeout=SECONDS, check=False)


def serve_banner(config: Path, home: Path) -> str:
    """What `cliproxy serve` prints up to its listening banner (then it is stopped)."""
    proc = subprocess.Popen([sys.executable, "-m", "handlers.cli", "serve", "--config", str(config), "--port", "0"],
                            cwd=home, env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + SECONDS
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                break
            lines.append(line)
            if "Gemini CLI:" in line:  # the banner's last fixed line: everything before listening is out
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return "".join(lines)


def test_serve_lists_the_logins_and_detect_imports_them(tmp_path):
    home = tmp_path / "home"
    logins(home)
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {{backend: sqlite, path: '{tmp_path / 'state.db'}'}}\n")

    banner = serve_banner(config, home)
    assert "local logins found" in banner, banner
    assert "~/.codex/auth.json: codex login of codex@example.com" in banner
    assert "~/.claude/.credentials.json: claude login of claude@example.com" in banner
    assert "~/.cli-proxy-api/claude-team@example.com.json: claude login of team@example.com" in banner
    assert "notes.json" not in banner  # not a login: not offered
    assert f"import them with: cliproxy auth import --detect --config {config}" in banner
    assert "SECRET" not in banner

    imported = cliproxy("auth", "import", "--detect", "--config", str(config), home=home)
    assert imported.returncode == 0, imported.stderr
    said = imported.stdout
    assert "skipped ~/.cli-proxy-api/notes.json: cannot be imported" in said
    assert sum(line.startswith("imported ") for line in said.splitlines()) == 3 and "imported claude-claude@example.com" in said
    assert "SECRET" not in said + imported.stderr

    listed = cliproxy("auth", "list", "--config", str(config), home=home).stdout
    assert {"claude-claude@example.com", "claude-team@example.com"} <= {line.split()[0] for line in listed.splitlines()}
    assert "local logins found" not in serve_banner(config, home)  # stored credentials: nothing to suggest


def test_detect_with_nothing_to_import_says_where_it_looked(tmp_path):
    home = tmp_path / "empty-home"
    home.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {{backend: sqlite, path: '{tmp_path / 'state.db'}'}}\n")

    done = cliproxy("auth", "import", "--detect", "--config", str(config), home=home)
    assert done.returncode == 1
    assert done.stdout.strip() == ("no local logins found (looked for ~/.codex/auth.json, "
                                   "~/.claude/.credentials.json, ~/.cli-proxy-api/*.json)")
