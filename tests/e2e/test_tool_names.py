"""MCP-style tool names from an OpenAI chat client reach Claude in the form Claude accepts, and come back as declared.

Claude refuses names outside ``^[a-zA-Z0-9_-]{1,128}$`` with a 400; OpenAI and Gemini clients routinely declare
``github.create_issue`` or ``server:tool``.
"""

from __future__ import annotations

import re

import openai
import pytest
from tests.conftest import CLIENT_KEY

_CLAUDE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_TOOLS = [{"type": "function", "function": {"name": "github.create_issue", "description": "Open an issue",
                                            "parameters": {"type": "object", "properties": {}}}}]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_openai_chat_tool_with_a_dotted_name_round_trips_through_claude(proxy, upstream, stream):
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=10) as client:
        kwargs = {"model": "claude-sonnet-4-5", "tools": _TOOLS,
                  "messages": [{"role": "user", "content": "please call tool"}]}
        if stream:
            chunks = list(client.chat.completions.create(**kwargs, stream=True))
            names = [c.function.name for ch in chunks for choice in ch.choices
                     for c in choice.delta.tool_calls or () if c.function and c.function.name]
        else:
            message = client.chat.completions.create(**kwargs).choices[0].message
            names = [c.function.name for c in message.tool_calls or ()]

    path, _headers, body, _query = upstream.requests[-1]
    assert path == "/v1/messages"
    sent = [t["name"] for t in body["tools"]]
    assert sent == ["github_create_issue"] and all(_CLAUDE_NAME.match(n) for n in sent)
    assert names == ["github.create_issue"]
