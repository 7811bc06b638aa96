"""The deployed streaming path, without AWS: the built bundle's run.sh under a stand-in for the Lambda Web
Adapter (bench/lambda_init.py: readiness check, then the invocation forwarded with the adapter's context
headers and each body chunk passed on as it arrives), with the stack's secrets and table on a moto server.

The fake upstream spaces its events; the client must see them spaced too. A buffering layer anywhere on the
path (uvicorn, the app, the relay) would deliver them in one burst at the end. Without a `sam build` (plain
pytest run) the same run.sh runs from src/ on this interpreter; `make test` builds first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from bench import lambda_init

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fakes.upstream import FakeUpstream

GAP_S = 0.3  # between the fake's events


@pytest.fixture
def function(tmp_path: Path, fake_upstream: FakeUpstream) -> Iterator[lambda_init.LambdaProcess]:
    fake_upstream.reset()
    sections = {"openai-compatibility": [{"name": "openai", "base-url": fake_upstream.openai_base_url,
                                          "api-key-entries": [{"api-key": "sk-up-openai-stream"}],
                                          "models": [{"name": "gpt-4o-mini"}]}],
                "claude-api-key": [{"api-key": "sk-up-claude-stream", "base-url": fake_upstream.url}]}
    aws = lambda_init.aws_on_moto(sections)
    config = lambda_init.write_config(tmp_path / "config.lambda.yaml", fake_upstream.url + "/oauth/token")
    proc = lambda_init.LambdaProcess(lambda_init.bundle(), aws.env, config).start()
    try:
        proc.wait_ready(timeout=120)
        yield proc
    finally:
        output = proc.stop()
        aws.stop()
        assert "sk-up-openai-stream" not in output and lambda_init.CLIENT_KEY not in output


def _data_chunks(chunks: list[tuple[float, int, bytes]]) -> list[tuple[float, bytes]]:
    return [(at, chunk) for at, _, chunk in chunks if b"data:" in chunk]


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("path", "body", "last"), [
    ("/v1/chat/completions", {"model": "gpt-4o-mini", "stream": True,
                              "messages": [{"role": "user", "content": "count to five"}]}, b"[DONE]"),
    ("/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": True,
                      "messages": [{"role": "user", "content": "count to five"}]}, b"message_stop"),
])
def test_chunks_reach_the_client_as_the_upstream_produces_them(
        function: lambda_init.LambdaProcess, fake_upstream: FakeUpstream, path: str, body: dict[str, Any],
        last: bytes) -> None:
    fake_upstream.delay(0.0, per_event=GAP_S)
    chunks = list(function.invoke("POST", path, body, headers={"anthropic-version": "2023-06-01"}))

    assert {status for _, status, _ in chunks} == {200}
    text = b"".join(chunk for _, _, chunk in chunks)
    assert last in text
    data = _data_chunks(chunks)
    events = text.count(b"data:")
    assert events >= 4, text[:500]
    # Spread like the upstream's events (every gap shows), not one burst at the end.
    spread = data[-1][0] - data[0][0]
    assert spread >= (events - 2) * GAP_S * 0.6, f"{len(data)} chunks over {spread:.2f}s for {events} events"
    gaps = [b[0] - a[0] for a, b in zip(data, data[1:], strict=False)]
    assert sum(g >= GAP_S * 0.5 for g in gaps) >= events // 2, [round(g, 3) for g in gaps]


def test_init_reads_the_secrets_and_answers_models_with_the_secret_upstreams(
        function: lambda_init.LambdaProcess) -> None:
    chunks = list(function.invoke("GET", "/v1/models", None))
    assert {status for _, status, _ in chunks} == {200}
    ids = {m["id"] for m in orjson.loads(b"".join(c for _, _, c in chunks))["data"]}
    assert "gpt-4o-mini" in ids  # from the upstream keys secret, not from the bundle
    bad = list(function.invoke("GET", "/v1/models", None, headers={"authorization": "Bearer sk-wrong"}))
    assert {status for _, status, _ in bad} == {401}


def test_a_websocket_upgrade_is_answered_over_http(function: lambda_init.LambdaProcess) -> None:
    """Neither API Gateway nor the adapter upgrades, so run.sh's server has no WebSocket protocol: Codex's
    attempt is a plain GET answered 426, on which it uses HTTP."""
    upgrade = {"connection": "Upgrade", "upgrade": "websocket", "sec-websocket-version": "13",
               "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
    chunks = list(function.invoke("GET", "/v1/responses", None, headers=upgrade))
    assert {status for _, status, _ in chunks} == {426}
    assert "WebSocket" in orjson.loads(b"".join(c for _, _, c in chunks))["error"]["message"]


def test_init_fails_on_a_config_it_cannot_serve(tmp_path: Path) -> None:
    """No encryption key for the DynamoDB store: run.sh exits (Lambda reports a failed init) with the line."""
    aws = lambda_init.aws_on_moto({})
    env = {k: v for k, v in aws.env.items() if k != "CLIPROXY_ENCRYPTION_KEY_SECRET"}
    config = lambda_init.write_config(tmp_path / "config.lambda.yaml", "http://127.0.0.1:9/oauth/token")
    proc = lambda_init.LambdaProcess(lambda_init.bundle(), env, config).start()
    try:
        with pytest.raises(RuntimeError, match="encryption-key: required with store.backend dynamodb") as failed:
            proc.wait_ready(timeout=120)
        assert "run.sh exited with 1" in str(failed.value)
    finally:
        proc.stop()
        aws.stop()
