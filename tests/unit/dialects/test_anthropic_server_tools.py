"""Which raw (non-function) tools a Claude upstream receives: its own server tools only."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES

from core import dialects

FIXTURE = FIXTURES / "codex-cli-request-1.json"


def test_codex_cli_tools_reach_claude_as_functions_plus_web_search_only():
    body = json.loads(FIXTURE.read_text())["body"]
    req = dialects.get("openai_responses").parse_request(body)
    tools = dialects.get("anthropic").render_request(req)["tools"]
    raw = [t for t in tools if "input_schema" not in t]
    assert raw == [{"type": "web_search_20250305", "name": "web_search"}]  # the namespace group is dropped
    assert "multi_agent_v1" not in {t["name"] for t in tools}
    assert {"exec_command", "write_stdin"} <= {t["name"] for t in tools}


def test_claude_server_tools_from_a_claude_client_are_kept_verbatim():
    bash = {"type": "bash_20250124", "name": "bash"}
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "tools": [bash],
            "messages": [{"role": "user", "content": "hi"}]}
    req = dialects.get("anthropic").parse_request(body)
    assert dialects.get("anthropic").render_request(req)["tools"] == [bash]
