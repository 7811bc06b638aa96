"""The one classifier table: every executor's HTTP and in-stream failures -> (class, kind, upstream status, hint).

The same table runs end to end, through the proxy and the fake upstream, in tests/e2e/test_failures.py.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
import pytest

from core import errors, executors
from core.executors import classify

J = orjson.dumps
NOW = time.time()


@pytest.fixture(autouse=True)
def _clock_at_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables' moments (resets_at, reset headers) were written at collection, relative to NOW; the
    classifier reads the clock at NOW too, so a slow suite before these tests cannot expire a hint."""
    monkeypatch.setattr(classify, "time", SimpleNamespace(time=lambda: NOW))


class Ahead(float):
    """A hint given as a moment (NOW + this): it shrinks while the tests run."""


def _rfc3339(seconds_ahead: float) -> str:
    return datetime.fromtimestamp(NOW + seconds_ahead, UTC).isoformat()


def _check_hint(got: float | None, hint: float | None) -> None:
    if hint is None:
        assert got is None
    elif isinstance(hint, Ahead):
        assert hint - (time.time() - NOW) - 2 <= got <= hint + 1e-3  # RFC 3339 keeps microseconds
    else:
        assert got == pytest.approx(hint)


# (executor, status, headers, body, class, kind, retry_after)
HTTP = [
    ("openai_compat", 401, {}, J({"error": {"message": "Incorrect API key provided: sk-abc***xyz"}}),
     errors.UpstreamAuthError, "auth", None),
    ("claude", 403, {}, b"forbidden", errors.UpstreamAuthError, "forbidden", None),
    ("openai_compat", 402, {}, b"", errors.UpstreamAuthError, "forbidden", None),
    ("gemini", 400, {}, J({"error": {"code": 400, "status": "FAILED_PRECONDITION", "message": "location"}}),
     errors.UpstreamAuthError, "forbidden", None),
    ("gemini", 400, {}, J({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "API key not valid",
                                     "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                  "reason": "API_KEY_INVALID"}]}}),
     errors.UpstreamAuthError, "auth", None),
    ("claude", 404, {}, J({"type": "error", "error": {"type": "not_found_error", "message": "model: x"}}),
     errors.UpstreamServerError, "not-found", None),
    ("openai_compat", 400, {}, J({"error": {"type": "invalid_request_error", "code": "model_not_found",
                                            "message": "no such model"}}),
     errors.UpstreamServerError, "not-found", None),
    ("codex", 429, {"retry-after": "1"}, J({"error": {"type": "usage_limit_reached", "resets_in_seconds": 1234}}),
     errors.UpstreamRateLimitError, "quota", 1234),
    ("codex", 429, {}, J({"error": {"type": "usage_limit_reached", "resets_at": NOW + 100, "resets_in_seconds": 5}}),
     errors.UpstreamRateLimitError, "quota", Ahead(100)),
    ("codex", 429, {}, J({"error": {"type": "usage_limit_reached", "resets_at": NOW - 100, "resets_in_seconds": 5}}),
     errors.UpstreamRateLimitError, "quota", 5),
    ("claude", 429, {"retry-after": "7"}, b"", errors.UpstreamRateLimitError, "rate-limit", 7),
    ("openai_compat", 429, {"retry-after-ms": "1500"}, b"", errors.UpstreamRateLimitError, "rate-limit", 1.5),
    ("claude", 429, {"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, b"",
     errors.UpstreamRateLimitError, "rate-limit", Ahead(30)),
    ("claude", 429, {"retry-after": "soon"}, b"", errors.UpstreamRateLimitError, "rate-limit", None),
    ("claude", 429, {"anthropic-ratelimit-unified-status": "rejected",
                     "anthropic-ratelimit-unified-reset": str(int(NOW + 600))},
     J({"type": "error", "error": {"type": "rate_limit_error", "message": "limit"}}),
     errors.UpstreamRateLimitError, "rate-limit", Ahead(600)),
    ("claude", 429, {"anthropic-ratelimit-tokens-remaining": "0", "anthropic-ratelimit-tokens-reset": _rfc3339(45),
                     "anthropic-ratelimit-requests-remaining": "10", "anthropic-ratelimit-requests-reset": _rfc3339(900)},
     b"", errors.UpstreamRateLimitError, "rate-limit", Ahead(45)),
    ("gemini", 429, {}, J({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.5s"}]}}),
     errors.UpstreamRateLimitError, "quota", 12.5),
    ("gemini", 429, {}, J({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
         "metadata": {"quotaResetDelay": "1m30.5s"}}]}}),
     errors.UpstreamRateLimitError, "rate-limit", 90.5),
    ("openai_compat", 400, {}, J({"error": {"type": "rate_limit_exceeded", "message": "x"}}),
     errors.UpstreamRateLimitError, "rate-limit", None),
    ("claude", 529, {}, J({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
     errors.UpstreamServerError, "overloaded", None),
    ("openai_compat", 503, {}, b"oops", errors.UpstreamServerError, "overloaded", None),
    ("codex", 500, {}, J({"error": {"type": "server_error", "message": "boom"}}),
     errors.UpstreamServerError, "server", None),
    ("gemini", 502, {}, b"<html>bad gateway</html>", errors.UpstreamServerError, "server", None),
    ("codex", 408, {}, b"", errors.UpstreamTimeoutError, "network", None),
    ("openai_compat", 400, {}, J({"error": {"message": "Unknown parameter: 'foo'.", "type": "invalid_request_error",
                                            "param": "foo", "code": "unknown_parameter"}}),
     errors.UpstreamRejectedError, "bad-request", None),
    ("codex", 400, {}, J({"detail": "Unsupported parameter: foo"}), errors.UpstreamRejectedError, "bad-request", None),
    ("claude", 413, {}, J({"type": "error", "error": {"type": "request_too_large", "message": "too big"}}),
     errors.UpstreamRejectedError, "bad-request", None),
    ("openai_compat", 422, {"retry-after": "9"}, b"unprocessable", errors.UpstreamRejectedError, "bad-request", None),
]

# (executor, payload, class, kind, upstream status, retry_after)
EVENTS = [
    ("codex", {"type": "response.failed", "response": {"status": "failed", "error": {
        "code": "rate_limit_exceeded", "message": "Rate limit reached. Please try again in 11.054s."}}},
     errors.UpstreamRateLimitError, "rate-limit", None, 11.054),
    ("codex", {"type": "response.failed", "response": {"error": {
        "code": "rate_limit_exceeded", "message": "Try again in 250ms."}}},
     errors.UpstreamRateLimitError, "rate-limit", None, 0.25),
    ("codex", {"type": "error", "error": {"type": "usage_limit_reached", "resets_in_seconds": 300}},
     errors.UpstreamRateLimitError, "quota", None, 300),
    ("codex", {"type": "error", "status": 429, "error": {"type": "usage_limit_reached", "resets_at": NOW + 60}},
     errors.UpstreamRateLimitError, "quota", 429, Ahead(60)),
    ("codex", {"type": "error", "code": "server_is_overloaded", "message": "busy"},
     errors.UpstreamServerError, "overloaded", None, None),
    ("codex", {"type": "response.failed", "response": {"error": {"code": "server_error", "message": "x"}}},
     errors.UpstreamServerError, "server", None, None),
    ("codex", {"type": "response.failed", "response": {"error": {"code": "context_length_exceeded", "message": "x"}}},
     errors.UpstreamRejectedError, "bad-request", None, None),
    ("claude", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     errors.UpstreamServerError, "overloaded", None, None),
    ("claude", {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
     errors.UpstreamRateLimitError, "rate-limit", None, None),
    ("claude", {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}},
     errors.UpstreamAuthError, "auth", None, None),
    ("gemini", [{"error": {"code": 503, "status": "UNAVAILABLE", "message": "overloaded"}}],
     errors.UpstreamServerError, "overloaded", 503, None),
    ("gemini", {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "40s"}]}},
     errors.UpstreamRateLimitError, "quota", 429, 40),
    ("gemini", {"error": {"code": 404, "message": "models/x is not found"}},
     errors.UpstreamServerError, "not-found", 404, None),
    ("openai_compat", {"error": {"message": "x", "type": "server_error"}},
     errors.UpstreamServerError, "server", None, None),
    ("openai_compat", {"error": {"message": "x", "type": "insufficient_quota"}},
     errors.UpstreamRateLimitError, "quota", None, None),
    ("openai_compat", {"error": {"message": "x"}}, errors.UpstreamServerError, "server", None, None),
]

NOT_ERRORS = [
    ("codex", {"type": "response.output_text.delta", "delta": "x"}),
    ("claude", {"type": "ping"}),
    ("gemini", {"candidates": []}),
    ("openai_compat", {"choices": []}),
]


@pytest.mark.parametrize(("kind", "status", "headers", "body", "cls", "failure", "hint"), HTTP,
                         ids=[f"{r[0]}-{r[1]}-{r[5]}-{i}" for i, r in enumerate(HTTP)])
def test_http_failures(kind, status, headers, body, cls, failure, hint):
    err = executors.get(kind).classify(status, headers, body)
    assert (type(err), err.kind, err.upstream_status) == (cls, failure, status)
    assert err.cools_down is (failure != "bad-request")
    _check_hint(err.retry_after, hint)


@pytest.mark.parametrize(("kind", "payload", "cls", "failure", "status", "hint"), EVENTS,
                         ids=[f"{r[0]}-{r[3]}-{i}" for i, r in enumerate(EVENTS)])
def test_in_stream_failures(kind, payload, cls, failure, status, hint):
    err = executors.get(kind).classify_event(payload)
    assert (type(err), err.kind, err.upstream_status) == (cls, failure, status)
    _check_hint(err.retry_after, hint)


@pytest.mark.parametrize(("kind", "payload"), NOT_ERRORS)
def test_ordinary_events_are_not_failures(kind, payload):
    assert executors.get(kind).classify_event(payload) is None


def test_success_is_not_a_failure():
    assert executors.get("claude").classify(200, {}, b"") is None


def test_rejected_keeps_status_and_lifts_message_code_and_param():
    body = J({"error": {"message": "Unknown parameter: 'foo'.", "type": "invalid_request_error", "param": "foo",
                        "code": "unknown_parameter"}})
    err = classify.status(400, {}, body, dialect="openai_chat")
    assert (err.status, err.message, err.code, err.param) == (400, "Unknown parameter: 'foo'.", "unknown_parameter", "foo")
    assert classify.status(422, {}, b"x", dialect="openai_chat").status == 422


def test_auth_errors_never_lift_the_upstream_message():
    body = J({"error": {"message": "Incorrect API key provided: sk-abc***xyz"}})
    err = classify.status(401, {}, body, dialect="openai_chat")
    assert "sk-abc" not in err.message and "401" in err.message
    assert err.status == 502  # what a client would see if it ever reached one


def test_long_upstream_messages_are_truncated():
    body = J({"error": {"type": "invalid_request_error", "message": "x" * 5000}})
    assert len(classify.status(400, {}, body, dialect="openai_chat").message) == 500


def test_in_stream_hints_read_the_stream_response_headers():
    limited = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    headers = {"retry-after": "20"}
    assert executors.get("claude").classify_event(limited, headers).retry_after == 20
