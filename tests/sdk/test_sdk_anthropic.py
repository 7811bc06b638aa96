"""The ``anthropic`` SDK against the running proxy: messages (stream and not), count_tokens, models."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import pytest
from tests.conftest import CLIENT_KEY
from tests.sdk.conftest import MODELS

TOOLS = [{"name": "lookup", "description": "Look something up",
          "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]
# Same dialect (Claude) and cross dialect.
KINDS = ["claude", "codex", "gemini", "openai_compat"]
ASK = "please call two tools"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK flags claude-sonnet-4-5


@pytest.fixture
def client(sdk_proxy) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=sdk_proxy.url, api_key=CLIENT_KEY, max_retries=0, timeout=10) as c:
        yield c


def _text(message: anthropic.types.Message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


@pytest.mark.parametrize("kind", KINDS)
def test_message_answer_and_cache_usage(client, upstream, kind):
    msg = client.messages.create(model=MODELS[kind], max_tokens=256,
                                 messages=[{"role": "user", "content": "hello there"}])
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.stop_reason == "end_turn"
    assert _text(msg).startswith("echo ") and _text(msg).endswith(": hello there")
    # Anthropic counts cached tokens apart from input_tokens: 27 prompt tokens, 8 of them read from cache.
    assert msg.usage.cache_read_input_tokens == 8
    assert msg.usage.input_tokens == 16 + len("hello there") - 8
    assert msg.usage.cache_creation_input_tokens == 0
    assert msg.usage.output_tokens > 0


@pytest.mark.parametrize("kind", KINDS)
def test_stream_text_events_and_final_message(client, upstream, kind):
    with client.messages.stream(model=MODELS[kind], max_tokens=256,
                                messages=[{"role": "user", "content": "hello there"}]) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start"
    assert events[-2:] == ["message_delta", "message_stop"]
    assert "text" in events  # the SDK's own per-delta text event: deltas arrived
    assert _text(final).endswith(": hello there")
    assert final.stop_reason == "end_turn"
    assert final.usage.cache_read_input_tokens == 8


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_tool_use_then_tool_results(client, upstream, kind):
    first = client.messages.create(model=MODELS[kind], max_tokens=256, tools=TOOLS,
                                   messages=[{"role": "user", "content": ASK}])
    uses = [b for b in first.content if b.type == "tool_use"]
    assert first.stop_reason == "tool_use"
    assert [(u.name, u.input) for u in uses] == [("lookup", {"index": 0, "query": ASK}),
                                                 ("lookup", {"index": 1, "query": ASK})]
    results = [{"type": "tool_result", "tool_use_id": u.id, "content": f"result {i}"} for i, u in enumerate(uses)]
    history = [{"role": "user", "content": ASK},
               {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
               {"role": "user", "content": results}]
    second = client.messages.create(model=MODELS[kind], max_tokens=256, tools=TOOLS, messages=history)
    assert second.stop_reason == "end_turn"
    assert "tool said" in _text(second) and "result 1" in _text(second)
    sent = json.dumps(upstream.requests[-1].body)
    assert "result 0" in sent and "result 1" in sent


@pytest.mark.parametrize("kind", KINDS)
def test_stream_parallel_tool_use_with_streamed_input(client, upstream, kind):
    with client.messages.stream(model=MODELS[kind], max_tokens=256, tools=TOOLS,
                                messages=[{"role": "user", "content": ASK}]) as stream:
        json_deltas = sum(1 for e in stream if e.type == "content_block_delta" and e.delta.type == "input_json_delta")
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [u.input for u in uses] == [{"index": 0, "query": ASK}, {"index": 1, "query": ASK}]
    assert len({u.id for u in uses}) == 2
    assert json_deltas >= 2
    assert final.stop_reason == "tool_use"


@pytest.mark.parametrize("kind", ["claude", "codex"])
def test_count_tokens_answers_a_positive_count(client, upstream, kind):
    count = client.messages.count_tokens(model=MODELS[kind], messages=[{"role": "user", "content": "hello there"}])
    assert count.input_tokens > 0


def test_models_list_in_anthropic_shape(client):
    page = client.models.list()
    ids = [m.id for m in page.data]
    assert all(m.type == "model" for m in page.data)
    assert "gpt-5-codex" in ids and any(i.startswith("claude-sonnet-4-5") for i in ids)


def test_models_retrieve_in_anthropic_shape(client):
    model = client.models.retrieve("gpt-5-codex")
    assert (model.id, model.type) == ("gpt-5-codex", "model")
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("no-such-model")


def test_bad_key_raises_authentication_error(sdk_proxy, upstream):
    with anthropic.Anthropic(base_url=sdk_proxy.url, api_key="sk-wrong", max_retries=0) as bad:
        with pytest.raises(anthropic.AuthenticationError) as err:
            bad.messages.create(model=MODELS["claude"], max_tokens=16, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(anthropic.AuthenticationError):
            with bad.messages.stream(model=MODELS["claude"], max_tokens=16,
                                     messages=[{"role": "user", "content": "hi"}]) as stream:
                list(stream)
    assert err.value.status_code == 401
    assert err.value.body["error"]["type"] == "authentication_error"
    assert upstream.requests == []


def test_unknown_model_raises_not_found(client, upstream):
    with pytest.raises(anthropic.NotFoundError) as err:
        client.messages.create(model="no-such-model", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["error"]["type"] == "not_found_error"
    assert upstream.requests == []
