"""The requests the bench sends: one ``Call`` per target for each scenario.

Same-dialect scenarios send identical bytes to every target. Cross-dialect ones (a chat or Anthropic client
on the Codex upstream) can only go through cliproxy; their baselines (direct, pass-through) send the
Responses request that produces the same upstream stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import upstream
from bench.client import Call
from bench.targets import CHAT_MODEL, CLIENT_KEY, CODEX_MODEL

SYSTEM = "You are a careful coding assistant. Answer briefly and show code when it helps."
PROMPT = "Write a Python function that returns the n-th Fibonacci number iteratively, with a docstring."
CHAT_EVENTS = upstream.TEXT_EVENTS + 4  # role, texts, finish, usage, [DONE]
CODEX_EVENTS = upstream.TEXT_EVENTS + 8  # created, in_progress, item/part added, texts, 4 closing events


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    stream: bool
    events: int  # upstream events per answer (0: not a stream)
    calls: dict[str, Call]  # target name -> request


def _headers() -> dict[str, str]:
    return {"authorization": f"Bearer {CLIENT_KEY}"}


def chat_body(model: str, stream: bool) -> dict:
    body: dict = {"model": model, "messages": [{"role": "system", "content": SYSTEM},
                                               {"role": "user", "content": PROMPT}], "max_tokens": 512}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


def chat(port: int, model: str = CHAT_MODEL, *, stream: bool, headers: dict[str, str] | None = None) -> Call:
    return Call.post(port, "/v1/chat/completions", chat_body(model, stream), {**_headers(), **(headers or {})},
                     b"[DONE]" if stream else b"Hello from the bench")


def responses(port: int) -> Call:
    body = {"model": CODEX_MODEL, "instructions": SYSTEM, "stream": True, "store": False,
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROMPT}]}]}
    return Call.post(port, "/v1/responses", body, _headers(), b"response.completed")


def anthropic(port: int) -> Call:
    body = {"model": CODEX_MODEL, "system": SYSTEM, "max_tokens": 512, "stream": True,
            "messages": [{"role": "user", "content": PROMPT}]}
    return Call.post(port, "/v1/messages", body, {**_headers(), "anthropic-version": "2023-06-01"}, b"message_stop")


def build(ports: dict[str, int]) -> list[Scenario]:
    """``ports``: target name -> port; ``direct`` is the fake upstream."""
    same = {name: p for name, p in ports.items()}
    codex = {name: p for name, p in ports.items() if name != "litellm"}
    ours = ports["cliproxy"]

    def baseline_then(call: Call) -> dict[str, Call]:
        return {**{name: responses(p) for name, p in codex.items() if name != "cliproxy"}, "cliproxy": call}

    return [
        Scenario("chat", False, 0, {n: chat(p, stream=False) for n, p in same.items()}),
        Scenario("chat_stream", True, CHAT_EVENTS, {n: chat(p, stream=True) for n, p in same.items()}),
        Scenario("responses_codex", True, CODEX_EVENTS, {n: responses(p) for n, p in codex.items()}),
        Scenario("chat_codex", True, CODEX_EVENTS, baseline_then(chat(ours, CODEX_MODEL, stream=True))),
        Scenario("anthropic_codex", True, CODEX_EVENTS, baseline_then(anthropic(ours))),
    ]


def session_calls(port: int, n: int, start: int = 0) -> list[Call]:
    """``n`` requests, alternately plain and streamed, each opening a new client session."""
    return [chat(port, stream=i % 2 == 1, headers={"x-session-id": f"bench-session-{i}"})
            for i in range(start, start + n)]
