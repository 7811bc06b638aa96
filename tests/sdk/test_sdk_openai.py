"""The ``openai`` SDK (chat completions and Responses) against the running proxy, stream and not."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from tests.conftest import CLIENT_KEY
from tests.sdk.conftest import MODELS

TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "Look something up",
                                           "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]
RESPONSE_TOOLS = [{"type": "function", "name": "lookup", "description": "Look something up",
                   "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]
# Chat: same dialect (openai-compatible), and three cross-dialect upstreams.
CHAT_KINDS = ["openai_compat", "codex", "claude", "gemini"]
# Responses: same dialect (Codex) and cross dialect.
RESPONSES_KINDS = ["codex", "claude", "gemini"]


@pytest.fixture
def client(sdk_proxy) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=sdk_proxy.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=10) as c:
        yield c


def _args(index: int, text: str) -> dict:
    return {"index": index, "query": text}


# --- chat completions ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_chat_answer_and_cached_usage(client, upstream, kind):
    resp = client.chat.completions.create(model=MODELS[kind], messages=[{"role": "user", "content": "hello there"}])
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content.startswith("echo ") and choice.message.content.endswith(": hello there")
    assert resp.usage.prompt_tokens == 16 + len("hello there")
    assert resp.usage.prompt_tokens_details.cached_tokens == 8
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    assert len(upstream.requests) == 1


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_chat_stream_text_with_usage_chunk(client, upstream, kind):
    chunks = list(client.chat.completions.create(
        model=MODELS[kind], messages=[{"role": "user", "content": "hello there"}], stream=True,
        stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("echo ") and text.endswith(": hello there")
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert usage_chunks == [chunks[-1]] and chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 8


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_chat_parallel_tool_calls_then_tool_results(client, upstream, kind):
    ask = "please call two tools"
    first = client.chat.completions.create(model=MODELS[kind], messages=[{"role": "user", "content": ask}],
                                           tools=TOOLS)
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in message.tool_calls] == ["lookup", "lookup"]
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [_args(0, ask), _args(1, ask)]
    assert len({c.id for c in message.tool_calls}) == 2

    history = [{"role": "user", "content": ask}, message.model_dump(exclude_none=True)]
    history += [{"role": "tool", "tool_call_id": c.id, "content": f"result {i}"}
                for i, c in enumerate(message.tool_calls)]
    second = client.chat.completions.create(model=MODELS[kind], messages=history, tools=TOOLS)
    assert second.choices[0].finish_reason == "stop"
    assert "tool said" in second.choices[0].message.content
    assert "result 1" in second.choices[0].message.content  # Gemini wraps it as {"result": ...}
    sent = json.dumps(upstream.requests[-1].body)
    assert "result 0" in sent and "result 1" in sent


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_chat_stream_parallel_tool_calls_with_streamed_arguments(client, upstream, kind):
    ask = "please call two tools"
    chunks = list(client.chat.completions.create(
        model=MODELS[kind], messages=[{"role": "user", "content": ask}], tools=TOOLS, stream=True))
    calls: dict[int, dict] = {}
    argument_chunks = 0
    for chunk in chunks:
        for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(tc.index, {"id": tc.id, "name": tc.function.name, "arguments": ""})
            if tc.function.arguments:
                call["arguments"] += tc.function.arguments
                argument_chunks += 1
    assert sorted(calls) == [0, 1]
    assert [calls[i]["name"] for i in (0, 1)] == ["lookup", "lookup"]
    assert all(calls[i]["id"] for i in (0, 1))
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [_args(0, ask), _args(1, ask)]
    assert argument_chunks >= 2  # the arguments arrived in pieces, not as one blob per call
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


# --- Responses -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", RESPONSES_KINDS)
def test_responses_answer_and_cached_usage(client, upstream, kind):
    resp = client.responses.create(model=MODELS[kind], input="hello there")
    assert resp.status == "completed"
    assert resp.output_text.startswith("echo ") and resp.output_text.endswith(": hello there")
    assert resp.usage.input_tokens == 16 + len("hello there")
    assert resp.usage.input_tokens_details.cached_tokens == 8
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens


@pytest.mark.parametrize("kind", RESPONSES_KINDS)
def test_responses_stream_text_events_and_final_response(client, upstream, kind):
    with client.responses.stream(model=MODELS[kind], input="hello there") as stream:
        events = [event.type for event in stream]
        final = stream.get_final_response()
    assert events[:2] == ["response.created", "response.in_progress"]
    assert events[-1] == "response.completed"
    deltas = [e for e in events if e == "response.output_text.delta"]
    assert len(deltas) >= 2
    assert final.output_text.endswith(": hello there")
    assert final.usage.input_tokens_details.cached_tokens == 8


@pytest.mark.parametrize("kind", RESPONSES_KINDS)
def test_responses_stream_parallel_calls_then_function_outputs(client, upstream, kind):
    ask = "please call two tools"
    with client.responses.stream(model=MODELS[kind], input=ask, tools=RESPONSE_TOOLS) as stream:
        arg_deltas = sum(1 for event in stream if event.type == "response.function_call_arguments.delta")
        final = stream.get_final_response()
    calls = [item for item in final.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["lookup", "lookup"]
    assert [json.loads(c.arguments) for c in calls] == [_args(0, ask), _args(1, ask)]
    assert arg_deltas >= 2

    follow = [{"role": "user", "content": ask}]
    follow += [{"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments}
               for c in calls]
    follow += [{"type": "function_call_output", "call_id": c.call_id, "output": f"result {i}"}
               for i, c in enumerate(calls)]
    second = client.responses.create(model=MODELS[kind], input=follow, tools=RESPONSE_TOOLS)
    assert "tool said" in second.output_text and "result 1" in second.output_text


# --- refusals and the model list -----------------------------------------------------------------

def test_bad_key_raises_authentication_error(sdk_proxy, upstream):
    with openai.OpenAI(base_url=sdk_proxy.url + "/v1", api_key="sk-wrong", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError) as chat:
            bad.chat.completions.create(model="gpt-5-codex", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.AuthenticationError):
            bad.responses.create(model="gpt-5-codex", input="hi", stream=True)
    assert chat.value.status_code == 401
    assert chat.value.body["type"] == "authentication_error"
    assert upstream.requests == []


def test_unknown_model_raises_not_found(client, upstream):
    with pytest.raises(openai.NotFoundError) as chat:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}],
                                       stream=True)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="no-such-model", input="hi")
    assert chat.value.body["code"] == "model_not_found"
    assert upstream.requests == []


def test_models_list_names_every_configured_kind(client):
    ids = {m.id for m in client.models.list()}
    assert {"gpt-5-codex", "gemini-2.5-pro", "compat-model"} <= ids
    assert any(i.startswith("claude-sonnet-4-5") for i in ids)


def test_models_retrieve_one_and_a_missing_one_is_not_found(client):
    model = client.models.retrieve("gpt-5-codex")
    assert (model.id, model.object) == ("gpt-5-codex", "model")
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("no-such-model")
    assert "no-such-model" in missing.value.message
