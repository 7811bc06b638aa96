"""Named client keys through the running proxy with each dialect's SDK: model allowlists (403), the model
listing per key, limits (429 with Retry-After), disabled keys; all in the caller's own error envelope."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from tests.conftest import CLIENT_KEY
from tests.sdk.conftest import MODELS, start_module_proxy

if TYPE_CHECKING:
    from tests.servers import ThreadedServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK flags claude-sonnet-4-5

CLAUDE_ONLY = "sk-claude-only"
KEYS = [
    CLIENT_KEY,  # a plain string: unnamed, every model, no limits
    {"key": CLAUDE_ONLY, "name": "claude-team", "models": ["claude-*"]},
    {"key": "sk-rpm-openai", "name": "rpm-openai", "requests-per-minute": 1},
    {"key": "sk-rpm-anthropic", "name": "rpm-anthropic", "requests-per-minute": 1},
    {"key": "sk-rpm-gemini", "name": "rpm-gemini", "requests-per-minute": 1},
    {"key": "sk-tokens", "name": "tokens-team", "tokens-per-day": 30},
    {"key": "sk-tokens-stream", "name": "tokens-stream", "tokens-per-day": 30},
    {"key": "sk-one-at-a-time", "name": "serial", "max-concurrent": 1},
    {"key": "sk-disabled", "name": "gone", "disabled": True},
]


@pytest.fixture(scope="module")
def keyed_proxy(fake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    server = start_module_proxy(fake, tmp_path_factory.mktemp("keys"), **{"api-keys": KEYS})
    yield server
    server.stop()


def oai(proxy: ThreadedServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0, timeout=10)


def claude(proxy: ThreadedServer, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=key, max_retries=0, timeout=10)


def gem(proxy: ThreadedServer, key: str) -> genai.Client:
    return genai.Client(api_key=key, http_options={"base_url": proxy.url, "timeout": 10_000})


def hi(**kw: object) -> dict:
    return {"messages": [{"role": "user", "content": "hello"}], **kw}


def not_near_a_minute_boundary() -> None:
    """Per-minute windows are fixed: keep a short test inside one window."""
    into = time.time() % 60
    if into > 55:
        time.sleep(60.5 - into)


# --- model allowlists ------------------------------------------------------------------------------------


def test_openai_sdk_refused_outside_the_allowlist_with_403(keyed_proxy, upstream):
    with oai(keyed_proxy, CLAUDE_ONLY) as client:
        with pytest.raises(openai.PermissionDeniedError) as refused:
            client.chat.completions.create(model=MODELS["codex"], **hi())
        with pytest.raises(openai.PermissionDeniedError):
            client.responses.create(model=MODELS["gemini"], input="hello")
        assert client.chat.completions.create(model=MODELS["claude"], **hi()).choices[0].message.content
    assert refused.value.body["code"] == "model_not_allowed"
    assert len(upstream.requests) == 1  # only the allowed model reached an upstream


def test_anthropic_sdk_refused_outside_the_allowlist_with_403(keyed_proxy, upstream):
    with claude(keyed_proxy, CLAUDE_ONLY) as client:
        with pytest.raises(anthropic.PermissionDeniedError) as refused:
            client.messages.create(model=MODELS["codex"], max_tokens=64, **hi())
        assert client.messages.create(model=MODELS["claude"], max_tokens=64, **hi()).content
    assert refused.value.body["error"]["type"] == "permission_error"
    assert len(upstream.requests) == 1


def test_gemini_sdk_refused_outside_the_allowlist_with_403(keyed_proxy, upstream):
    client = gem(keyed_proxy, CLAUDE_ONLY)
    try:
        with pytest.raises(genai_errors.ClientError) as refused:
            client.models.generate_content(model=MODELS["gemini"], contents="hello")
        with pytest.raises(genai_errors.ClientError) as streamed:
            list(client.models.generate_content_stream(model=MODELS["gemini"], contents="hello"))
    finally:
        client.close()
    assert (refused.value.code, refused.value.status) == (403, "PERMISSION_DENIED")
    assert streamed.value.code == 403
    assert upstream.requests == []


# --- listing per key -------------------------------------------------------------------------------------


def test_each_dialects_listing_shows_a_key_only_its_models(keyed_proxy, upstream):
    with oai(keyed_proxy, CLIENT_KEY) as everything, oai(keyed_proxy, CLAUDE_ONLY) as limited:
        all_ids = {m.id for m in everything.models.list()}
        openai_ids = {m.id for m in limited.models.list()}
    with claude(keyed_proxy, CLAUDE_ONLY) as client:
        anthropic_ids = {m.id for m in client.models.list()}
    gemini = gem(keyed_proxy, CLAUDE_ONLY)
    try:
        gemini_ids = {m.name.removeprefix("models/") for m in gemini.models.list() if m.name}
    finally:
        gemini.close()
    assert MODELS["codex"] in all_ids and MODELS["gemini"] in all_ids
    assert openai_ids == anthropic_ids == gemini_ids == {m for m in all_ids if m.startswith("claude-")} != set()


# --- limits ----------------------------------------------------------------------------------------------


def test_openai_sdk_over_requests_per_minute_gets_429_with_retry_after(keyed_proxy, upstream):
    not_near_a_minute_boundary()
    with oai(keyed_proxy, "sk-rpm-openai") as client:
        client.chat.completions.create(model=MODELS["codex"], **hi())
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model=MODELS["codex"], **hi())
    assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60
    assert refused.value.body["type"] == "rate_limit_error"
    assert "rpm-openai" in refused.value.message and "sk-rpm-openai" not in refused.value.message
    assert len(upstream.requests) == 1


def test_anthropic_sdk_over_requests_per_minute_gets_429_with_retry_after(keyed_proxy, upstream):
    not_near_a_minute_boundary()
    with claude(keyed_proxy, "sk-rpm-anthropic") as client:
        client.messages.create(model=MODELS["claude"], max_tokens=64, **hi())
        with pytest.raises(anthropic.RateLimitError) as refused:
            client.messages.create(model=MODELS["claude"], max_tokens=64, stream=True, **hi())
    assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60
    assert refused.value.body["error"]["type"] == "rate_limit_error"
    assert len(upstream.requests) == 1


def test_gemini_sdk_over_requests_per_minute_gets_429_with_retry_after(keyed_proxy, upstream):
    not_near_a_minute_boundary()
    client = gem(keyed_proxy, "sk-rpm-gemini")
    config = types.GenerateContentConfig(automatic_function_calling={"disable": True})
    try:
        assert client.models.generate_content(model=MODELS["codex"], contents="hello", config=config).text
        with pytest.raises(genai_errors.ClientError) as refused:
            client.models.generate_content(model=MODELS["codex"], contents="hello", config=config)
    finally:
        client.close()
    assert (refused.value.code, refused.value.status) == (429, "RESOURCE_EXHAUSTED")
    # the SDK keeps no headers on its error: the same refusal seen raw carries Retry-After
    raw = httpx.post(f"{keyed_proxy.url}/v1beta/models/{MODELS['codex']}:generateContent",
                     headers={"x-goog-api-key": "sk-rpm-gemini"}, json={"contents": [{"parts": [{"text": "hi"}]}]})
    assert raw.status_code == 429 and 1 <= int(raw.headers["retry-after"]) <= 60
    assert len(upstream.requests) == 1


def test_tokens_counted_at_the_end_refuse_the_key_before_any_upstream_call(keyed_proxy, upstream):
    with oai(keyed_proxy, "sk-tokens") as client:
        first = client.chat.completions.create(model=MODELS["codex"], **hi())
        assert first.usage.total_tokens < 30  # under the day's 30: the next request may go
        client.chat.completions.create(model=MODELS["codex"], **hi())
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model=MODELS["codex"], **hi())
    assert "tokens" in refused.value.message
    assert int(refused.value.response.headers["retry-after"]) >= 1
    assert len(upstream.requests) == 2


def test_tokens_of_a_stream_are_counted_when_it_ends(keyed_proxy, upstream):
    with claude(keyed_proxy, "sk-tokens-stream") as client:
        for _ in range(2):
            with client.messages.stream(model=MODELS["claude"], max_tokens=64, **hi()) as stream:
                stream.until_done()
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model=MODELS["claude"], max_tokens=64, **hi())
    assert len(upstream.requests) == 2


def test_max_concurrent_refuses_a_second_stream_until_the_first_is_closed(keyed_proxy, upstream):
    upstream.delay(0.0, per_event=0.3, times=1)  # the first stream takes seconds
    with oai(keyed_proxy, "sk-one-at-a-time") as client:
        first = client.chat.completions.create(model=MODELS["codex"], stream=True, **hi())
        next(iter(first))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model=MODELS["codex"], **hi())
        first.close()  # the client hangs up: the proxy gives the slot back
        deadline = time.monotonic() + 10
        while True:
            try:
                assert client.chat.completions.create(model=MODELS["codex"], **hi()).choices
                break
            except openai.RateLimitError:
                assert time.monotonic() < deadline, "the slot was never given back"
                time.sleep(0.1)


def test_a_disabled_key_is_refused_in_every_dialect(keyed_proxy, upstream):
    with oai(keyed_proxy, "sk-disabled") as client, pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=MODELS["codex"], **hi())
    with claude(keyed_proxy, "sk-disabled") as client, pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=MODELS["claude"], max_tokens=64, **hi())
    assert upstream.requests == []
