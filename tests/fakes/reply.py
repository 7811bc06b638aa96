"""What a request asks of the fake upstream, read the same way from every wire format, and the reply value.

The fake answers ``echo <model>: <last user text>`` (or ``echo <model>: tool said <result>`` after a tool
result), calls the first tool when the last user text contains "call tool", and two tools in parallel for
"call two tools", so tests can see that a translation reached the upstream intact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from core import sse


@dataclass(slots=True)
class Reply:
    status: int = 200
    json: Any = None  # a JSON answer, or
    frames: list[bytes] | None = None  # an SSE answer
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ask:
    model: str
    text: str  # the last user text, or the last tool result's text
    tool_names: tuple[str, ...] = ()
    tool_result: bool = False
    reasoning: bool = False
    stream: bool = False

    @property
    def calls(self) -> list[str]:
        """Names of the tools to call now (the same tool twice when only one is declared)."""
        if not self.tool_names or self.tool_result:
            return []
        wanted = 2 if "call two tools" in self.text else 1 if "call tool" in self.text else 0
        return [self.tool_names[i % len(self.tool_names)] for i in range(wanted)]

    @property
    def answer(self) -> str:
        said = f"tool said {self.text}" if self.tool_result else self.text
        return f"echo {self.model}: {said}"

    def arguments(self, index: int) -> str:
        return orjson.dumps({"index": index, "query": self.text}).decode()

    @property
    def counts(self) -> Counts:
        prompt = 16 + len(self.text)
        return Counts(prompt, cached=8, output=1 + len(self.answer) // 4, reasoning=12 if self.reasoning else 0)


@dataclass(frozen=True, slots=True)
class Counts:
    input: int  # all prompt tokens, cached ones included
    cached: int
    output: int  # reasoning included
    reasoning: int


REASONING_TEXT = "Thinking about the request."


def pieces(text: str, n: int = 3) -> list[str]:
    """``text`` in ``n`` consecutive non-empty pieces (fewer when it is shorter)."""
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def event(name: str | None, obj: Any) -> bytes:
    return sse.encode(orjson.dumps(obj), name)


def error_envelope(status: int, message: str, kind: str) -> dict[str, Any]:
    """The OpenAI / Codex error body."""
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def openai_error_type(status: int) -> str:
    return {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 429: "rate_limit_exceeded"}.get(status, "server_error")


def text_of(content: Any, *kinds: str) -> str:
    """Joined text of a string content or of the blocks whose type is in ``kinds``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") in kinds)
    return ""
