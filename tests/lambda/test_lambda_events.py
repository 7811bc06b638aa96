"""Every events/*.json through its Lambda handler, as `sam local invoke` would run it (minus Docker)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

EVENTS = Path(__file__).resolve().parents[2] / "events"


def invoke_api(env: Any, event_name: str) -> dict[str, Any]:
    from handlers import api

    return api.handler(env.event(event_name), env.context)


def body_of(result: dict[str, Any]) -> bytes:
    body = result.get("body") or ""
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()


def header(result: dict[str, Any], name: str) -> str:
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    multi = {k.lower(): v for k, v in (result.get("multiValueHeaders") or {}).items()}
    return headers.get(name) or ",".join(multi.get(name, []))


def sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) per SSE frame."""
    frames = []
    for block in raw.decode().split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln and not ln.startswith(":")]
        if not lines:
            continue
        name = next((ln[6:].strip() for ln in lines if ln.startswith("event:")), None)
        data = "\n".join(ln[5:].lstrip() for ln in lines if ln.startswith("data:"))
        frames.append((name, data))
    return frames


def upstream_call(env: Any, suffix: str) -> Any:
    calls = [r for r in env.fake.requests if r.path.endswith(suffix)]
    assert len(calls) == 1, [r.path for r in env.fake.requests]
    return calls[0]


# --- checks per event -------------------------------------------------------------------------------------


def check_chat(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 200
    assert header(result, "content-type").startswith("application/json")
    body = orjson.loads(body_of(result))
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["message"]["content"]
    sent = upstream_call(env, "/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {env.upstream_keys['openai']}"  # client key swapped out
    assert sent.body["messages"][-1] == {"role": "user", "content": "Say hello in five words."}


def check_chat_stream(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 200
    assert header(result, "content-type").startswith("text/event-stream")
    frames = sse_events(body_of(result))
    assert frames[-1] == (None, "[DONE]")
    chunks = [orjson.loads(data) for _, data in frames[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text
    assert upstream_call(env, "/chat/completions").body["stream"] is True


def check_responses(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 200
    assert header(result, "content-type").startswith("application/json")
    body = orjson.loads(body_of(result))
    assert body["object"] == "response"
    assert body["status"] == "completed"
    assert any(item["type"] == "message" for item in body["output"])
    sent = upstream_call(env, "/backend-api/codex/responses")
    assert sent.headers["authorization"] == f"Bearer {env.upstream_keys['codex']}"


def check_responses_stream(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 200
    assert header(result, "content-type").startswith("text/event-stream")
    names = [name for name, _ in sse_events(body_of(result))]
    assert names[0] == "response.created"
    assert names[-1] == "response.completed"
    assert "response.output_text.delta" in names
    upstream_call(env, "/backend-api/codex/responses")


def check_messages(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 200
    assert header(result, "content-type").startswith("application/json")
    body = orjson.loads(body_of(result))
    assert body["type"] == "message"
    assert body["role"] == "assistant"
    assert body["content"][0]["type"] == "text" and body["content"][0]["text"]
    sent = upstream_call(env, "/v1/messages")
    key = env.upstream_keys["claude"]  # x-api-key on api.anthropic.com, Bearer on other base URLs
    assert key in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "").removeprefix("Bearer "))
    assert env.client_key not in json.dumps(sent.headers)


def check_messages_stream(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 200
    assert header(result, "content-type").startswith("text/event-stream")
    names = [name for name, _ in sse_events(body_of(result))]
    assert names[0] == "message_start"
    assert names[-1] == "message_stop"
    assert "content_block_delta" in names
    upstream_call(env, "/v1/messages")


def check_models(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 200
    body = orjson.loads(body_of(result))
    assert body["object"] == "list"
    ids = {m["id"] for m in body["data"]}
    assert {"gpt-4o-mini", "gpt-5", "claude-sonnet-4-5-20250929"} <= ids
    assert env.fake.requests == []


def check_healthz(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 200
    assert orjson.loads(body_of(result)) == {"status": "ok"}


def check_bad_key(result: dict[str, Any], env: Any) -> None:
    assert result["statusCode"] == 401
    body = orjson.loads(body_of(result))
    assert body["error"]["type"] == "authentication_error"
    assert "sk-not-a-valid-key" not in body_of(result).decode()
    assert env.fake.requests == []


def check_websocket_upgrade(result: dict[str, Any], env: Any) -> None:
    """API Gateway cannot upgrade: Codex's WebSocket attempt gets the 426 it falls back to HTTP on."""
    assert result["statusCode"] == 426
    assert "WebSocket" in orjson.loads(body_of(result))["error"]["message"]
    assert env.fake.requests == []


API_EVENTS: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "chat-completions.json": check_chat,
    "chat-completions-stream.json": check_chat_stream,
    "responses.json": check_responses,
    "responses-stream.json": check_responses_stream,
    "responses-websocket-upgrade.json": check_websocket_upgrade,
    "messages.json": check_messages,
    "messages-stream.json": check_messages_stream,
    "models.json": check_models,
    "healthz.json": check_healthz,
    "bad-key.json": check_bad_key,
}
SCHEDULE_EVENTS = {"refresh-schedule.json"}  # invoked in test_refresher.py


def test_every_event_file_has_a_check() -> None:
    assert {p.name for p in EVENTS.glob("*.json")} == set(API_EVENTS) | SCHEDULE_EVENTS


@pytest.mark.parametrize("event_name", sorted(API_EVENTS))
def test_api_event_through_mangum_handler(event_name: str, on_lambda: Any) -> None:
    result = invoke_api(on_lambda, event_name)
    API_EVENTS[event_name](result, on_lambda)


def test_client_keys_come_from_the_secret_not_the_config(on_lambda: Any) -> None:
    event = on_lambda.event("chat-completions.json")
    event["headers"]["Authorization"] = event["multiValueHeaders"]["Authorization"][0] = "Bearer sk-other"
    from handlers import api

    assert api.handler(event, on_lambda.context)["statusCode"] == 200


def test_request_metrics_are_emitted_as_emf_on_lambda(on_lambda: Any, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert invoke_api(on_lambda, "messages.json")["statusCode"] == 200
    records = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(records) == 2
    total, emf = records
    assert total["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert total["Requests"] == [1.0] and total["Errors"] == [0.0]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "cliproxy"
    (dimensions,) = emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert set(dimensions) == {"service", "provider", "model", "status_class"}
    assert emf["provider"] == "claude" and emf["model"] == "claude-sonnet-4-5-20250929"
    assert emf["status_class"] == "2xx"
    assert emf["Requests"] == [1.0] and emf["Errors"] == [0.0] and emf["Streams"] == [0.0]
    assert emf["InputTokens"][0] > 0 and emf["OutputTokens"][0] > 0
    assert emf["AddedLatency"][0] >= 0
    assert emf["requestId"] == total["requestId"] and emf["lambdaRequestId"] == on_lambda.context.aws_request_id


def test_metric_dimensions_stay_bounded_whatever_model_a_client_sends(
        on_lambda: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Any string a client sends as the model becomes `other`; a known model keeps its catalog id."""
    from handlers import api

    capsys.readouterr()
    seen = []
    for model in ("made-up-model-1", "made-up-model-2", "claude-sonnet-4-5(high)"):
        event = on_lambda.event("messages.json")
        event["body"] = orjson.dumps({**orjson.loads(event["body"]), "model": model}).decode()
        api.handler(event, on_lambda.context)
        records = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        seen.append({(r.get("model"), r.get("status_class")) for r in records if "model" in r})
    assert seen[0] == seen[1] == {("other", "4xx")} or seen[0] == seen[1] == {("other", "5xx")}
    assert seen[2] == {("claude-sonnet-4-5-20250929", "2xx")}


def test_log_records_carry_the_request_ids(on_lambda: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Under the web adapter the ids arrive in its context headers; the app's log lines carry both."""
    import logging

    from starlette.testclient import TestClient

    from handlers import api, lambda_config

    lambda_config.export_secrets()  # switches logging to Powertools JSON, as the first config load does
    app = api.create_app()

    async def probe(request: Any) -> Any:
        from starlette.responses import Response

        logging.getLogger("cliproxy.api").warning("probe")
        return Response(b"ok")

    app.router.add_route("/log-probe", probe, methods=["GET"])

    headers = {"x-amzn-request-context": orjson.dumps({"requestId": "apigw-req-1", "stage": "prod"}).decode(),
               "x-amzn-lambda-context": orjson.dumps({"request_id": "lambda-req-1"}).decode()}
    capsys.readouterr()
    with TestClient(app) as client:
        assert client.get("/log-probe", headers=headers).text == "ok"
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if '"probe"' in line]
    assert lines and lines[0]["requestId"] == "apigw-req-1" and lines[0]["lambdaRequestId"] == "lambda-req-1"


def test_init_builds_the_store_client_and_pool_so_the_first_request_does_not(on_lambda: Any) -> None:
    """uvicorn's startup (before the adapter's readiness check passes) warms what the first request needs."""
    import asyncio

    from handlers import api, telemetry

    rt = api.create_app().state.runtime

    async def start_then_serve() -> None:
        await telemetry.warm_up(rt)
        assert rt._deps is not None  # built during init
        deps = await rt.deps()
        assert deps is rt._deps  # the request reuses it

    asyncio.run(start_then_serve())
    rt_off = api.create_app().state.runtime
    import os

    name = os.environ.pop("AWS_LAMBDA_FUNCTION_NAME")
    try:
        asyncio.run(telemetry.warm_up(rt_off))
    finally:
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = name
    assert rt_off._deps is None  # off Lambda nothing is built early
