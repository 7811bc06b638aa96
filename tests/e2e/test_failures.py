"""The classifier table end to end: each failure shape the upstreams send, HTTP or inside a 200 stream, reaches
the proxy through the fake upstream and ends as the stored cooldown of its kind, its reset hint honoured.

The clock stands still, so the client's Retry-After (every credential of the model is cooling) is exactly the
cooldown. The unit table is tests/unit/executors/test_classify.py; cooldowns over time: test_cooldowns.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from tests.conftest import UP
from tests.e2e.clocked import MODELS, Rig, retry_after

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream

Inject = Callable[["FakeUpstream"], None]


def http(status: int, **kw: Any) -> Inject:
    return lambda fake: fake.fail(status, times=None, **_now(kw))


def event(**kw: Any) -> Inject:
    inject = lambda fake: fake.error_event_in_200(times=None, **_now(kw))  # noqa: E731
    inject.in_stream = True  # type: ignore[attr-defined]
    return inject


def _now(kw: dict[str, Any]) -> dict[str, Any]:
    """Headers given as a function of the moment of injection (resets are points in time)."""
    return {k: v() if callable(v) else v for k, v in kw.items()}


def drop(fake: FakeUpstream) -> None:
    fake.drop_before_first_byte(times=None)


def ANTHROPIC_RESET() -> dict[str, str]:  # noqa: N802 - reads as the constant it stands for
    return {"anthropic-ratelimit-unified-status": "rejected",
            "anthropic-ratelimit-unified-reset": str(int(time.time()) + 300)}

GEMINI_RETRY = {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "33s"}]}

# (upstream, injected failure, stored reason, where: "*" every model / "model", seconds cooled)
ROWS = [
    ("claude", http(401), "auth", "*", 1800),
    ("gemini", http(403), "forbidden", "*", 1800),
    ("openai", http(404), "not-found", "model", 12 * 3600),
    ("codex", http(429, retry_after=120), "quota", "model", 120),  # Codex usage_limit_reached, resets_in_seconds
    ("claude", http(429, headers=ANTHROPIC_RESET), "rate-limit", "model", 300),
    ("gemini", http(429, retry_after=45), "quota", "model", 45),  # RetryInfo
    ("openai", http(429, retry_after=30), "rate-limit", "model", 30),  # Retry-After
    ("claude", http(529), "overloaded", "model", 1),
    ("openai", http(500), "server", "model", 1),
    ("codex", drop, "network", "model", 1),
    ("codex", http(408), "network", "model", 1),
    ("codex", event(error={"code": "rate_limit_exceeded", "message": "Rate limit reached. Please try again in 20s."}),
     "rate-limit", "model", 20),
    ("codex", event(error={"code": "usage_limit_reached", "message": "limit", "resets_in_seconds": 600}),
     "quota", "model", 600),
    ("codex", event(code="server_is_overloaded"), "overloaded", "model", 1),
    ("claude", event(code="overloaded_error"), "overloaded", "model", 1),
    ("claude", event(code="rate_limit_error", headers=ANTHROPIC_RESET), "rate-limit", "model", 300),
    ("claude", event(code="authentication_error"), "auth", "*", 1800),
    ("gemini", event(error=GEMINI_RETRY), "quota", "model", 33),
    ("gemini", event(code="NOT_FOUND"), "not-found", "model", 12 * 3600),
    ("openai", event(code="server_error"), "server", "model", 1),
]


def _cases() -> list[Any]:
    """Every row for a streaming client; HTTP rows and Codex (which always streams upstream) for a
    non-streaming one too. An error event only ever comes inside a stream."""
    cases = []
    for i, (kind, inject, reason, where, seconds) in enumerate(ROWS):
        for stream in (False, True):
            if stream or kind == "codex" or not getattr(inject, "in_stream", False):
                label = f"{kind}-{reason}-{i}-{'stream' if stream else 'whole'}"
                cases.append(pytest.param(kind, inject, reason, where, seconds, stream, id=label))
    return cases


@pytest.mark.parametrize(("kind", "inject", "reason", "where", "seconds", "stream"), _cases())
def test_each_failure_shape_cools_by_its_kind(rig: Rig, kind: str, inject: Inject, reason: str, where: str,
                                              seconds: float, stream: bool) -> None:
    inject(rig.fake)
    resp = rig.ask(MODELS[kind], stream=stream)
    waited = retry_after(resp)  # every credential of the model is cooling, this long
    stored = rig.cooldowns()
    assert {item["reason"] for item in stored.values()} == {reason}
    assert {key.split("#", 1)[1] for key in stored} == {"*" if where == "*" else MODELS[kind]}
    left = {item["seconds"] for item in stored.values()}
    if seconds == 300:  # a reset given as a moment (whole seconds), read a little later
        assert seconds - 2 <= waited <= seconds and all(seconds - 2 <= s <= seconds for s in left)
    else:
        assert waited == seconds and left == {seconds}


@pytest.mark.parametrize("inject", [
    http(400, body={"error": {"type": "invalid_request_error", "message": "max_tokens too large"}}),
    event(error={"code": "context_length_exceeded", "message": "max_tokens too large"}),
], ids=["http", "event"])
def test_a_bad_request_is_the_clients_answer_and_cools_nothing(rig: Rig, inject: Inject) -> None:
    inject(rig.fake)
    resp = rig.ask(MODELS["codex"], stream=True)
    assert resp.status_code == 400 and "max_tokens too large" in resp.text
    assert len([r for r in rig.fake.requests if r.path.endswith("/responses")]) == 1  # no other credential tried
    assert rig.cooldowns() == {}
    assert UP["codex"]  # both Codex credentials stay usable
    rig.fake.reset()
    assert rig.ask(MODELS["codex"]).status_code == 200
