"""The ``google-genai`` SDK against the running proxy: generate_content, its stream, count_tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai
from google.genai import errors, types
from tests.conftest import CLIENT_KEY, UP
from tests.sdk.conftest import MODELS, start_module_proxy

# Same dialect (Gemini) and cross dialect.
KINDS = ["gemini", "codex", "claude", "openai_compat"]
ASK = "please call two tools"
LOOKUP = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="lookup", description="Look something up",
    parameters_json_schema={"type": "object", "properties": {"q": {"type": "string"}}})])
# The SDK decodes thoughtSignature as base64, as real Gemini signatures are. The fake signs with
# "sig-fake-<upstream model>", which is valid base64 only for some names, so the Gemini credential here
# serves gemini-2.5-pro under the upstream name "gemini-test" ("sig-fake-gemini-test": 20 base64 chars).
GEMINI_UPSTREAM = "gemini-test"


@pytest.fixture(scope="module")
def sdk_proxy(fake, tmp_path_factory):
    entry = {"api-key": UP["gemini"], "base-url": fake.url,
             "models": [{"name": GEMINI_UPSTREAM, "alias": MODELS["gemini"]}]}
    server = start_module_proxy(fake, tmp_path_factory.mktemp("sdk-gemini"), **{"gemini-api-key": [entry]})
    yield server
    server.stop()


@pytest.fixture
def client(sdk_proxy) -> Iterator[genai.Client]:
    c = genai.Client(api_key=CLIENT_KEY, http_options={"base_url": sdk_proxy.url, "timeout": 10_000})
    yield c
    c.close()


def _config(**kw) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(automatic_function_calling={"disable": True}, **kw)


@pytest.mark.parametrize("kind", KINDS)
def test_generate_content_answer_and_cached_usage(client, upstream, kind):
    resp = client.models.generate_content(model=MODELS[kind], contents="hello there", config=_config())
    assert resp.text.startswith("echo ") and resp.text.endswith(": hello there")
    assert resp.candidates[0].finish_reason == types.FinishReason.STOP
    usage = resp.usage_metadata
    assert usage.prompt_token_count == 16 + len("hello there")  # Gemini counts cached tokens inside the prompt
    assert usage.cached_content_token_count == 8
    assert usage.total_token_count >= usage.prompt_token_count + (usage.candidates_token_count or 0)


@pytest.mark.parametrize("kind", KINDS)
def test_generate_content_stream_chunks_end_with_finish_reason(client, upstream, kind):
    chunks = list(client.models.generate_content_stream(model=MODELS[kind], contents="hello there",
                                                        config=_config()))
    assert len(chunks) >= 2
    text = "".join(c.text or "" for c in chunks)
    assert text.startswith("echo ") and text.endswith(": hello there")
    assert [c.candidates[0].finish_reason for c in chunks][-1] == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert chunks[-1].usage_metadata.cached_content_token_count == 8


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_function_calls_then_function_responses(client, upstream, kind):
    first = client.models.generate_content(model=MODELS[kind], contents=ASK, config=_config(tools=[LOOKUP]))
    calls = first.function_calls
    assert [(c.name, c.args) for c in calls] == [("lookup", {"index": 0, "query": ASK}),
                                                 ("lookup", {"index": 1, "query": ASK})]
    history = [types.Content(role="user", parts=[types.Part(text=ASK)]), first.candidates[0].content,
               types.Content(role="user", parts=[
                   types.Part(function_response=types.FunctionResponse(id=c.id, name=c.name,
                                                                       response={"result": f"result {i}"}))
                   for i, c in enumerate(calls)])]
    second = client.models.generate_content(model=MODELS[kind], contents=history, config=_config(tools=[LOOKUP]))
    assert "tool said" in second.text and "result 1" in second.text
    assert not second.function_calls


@pytest.mark.parametrize("kind", KINDS)
def test_stream_parallel_function_calls(client, upstream, kind):
    chunks = list(client.models.generate_content_stream(model=MODELS[kind], contents=ASK,
                                                        config=_config(tools=[LOOKUP])))
    calls = [call for chunk in chunks for call in chunk.function_calls or []]
    assert [(c.name, c.args) for c in calls] == [("lookup", {"index": 0, "query": ASK}),
                                                 ("lookup", {"index": 1, "query": ASK})]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


@pytest.mark.parametrize("kind", ["gemini", "codex"])
def test_count_tokens(client, upstream, kind):
    count = client.models.count_tokens(model=MODELS[kind], contents="hello there")
    assert count.total_tokens > 0


def test_bad_key_is_401(sdk_proxy, upstream):
    bad = genai.Client(api_key="sk-wrong", http_options={"base_url": sdk_proxy.url})
    try:
        with pytest.raises(errors.ClientError) as err:
            bad.models.generate_content(model=MODELS["gemini"], contents="hi", config=_config())
        with pytest.raises(errors.ClientError) as streamed:
            list(bad.models.generate_content_stream(model=MODELS["gemini"], contents="hi", config=_config()))
    finally:
        bad.close()
    assert err.value.code == 401 and err.value.status == "UNAUTHENTICATED"
    assert streamed.value.code == 401
    assert upstream.requests == []


def test_unknown_model_is_404(client, upstream):
    with pytest.raises(errors.ClientError) as err:
        client.models.generate_content(model="no-such-model", contents="hi", config=_config())
    with pytest.raises(errors.ClientError) as streamed:
        list(client.models.generate_content_stream(model="no-such-model", contents="hi", config=_config()))
    assert err.value.code == 404 and err.value.status == "NOT_FOUND"
    assert streamed.value.code == 404
    assert upstream.requests == []


def test_models_list_reads_the_gemini_listing(client):
    """google-genai lists on GET /v1/models (its default API version), authenticated with x-goog-api-key:
    the proxy answers that in Gemini's shape, not OpenAI's."""
    models = list(client.models.list())
    names = {m.name for m in models}
    assert {f"models/{MODELS['gemini']}", f"models/{MODELS['codex']}"} <= names
    assert all("generateContent" in (m.supported_actions or ()) for m in models)


def test_models_get_one_model(client):
    model = client.models.get(model=MODELS["gemini"])
    assert model.name == f"models/{MODELS['gemini']}"
    with pytest.raises(errors.ClientError) as missing:
        client.models.get(model="no-such-model")
    assert missing.value.code == 404
