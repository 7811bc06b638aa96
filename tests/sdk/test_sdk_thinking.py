"""Thinking settings through the running proxy with the real SDKs (issue: thinking normalisation).

Each client's own way of asking for reasoning must reach a different upstream family in that upstream's
form, converted and clamped to what the model supports; a same-family budget out of range is a 400.
"""

from __future__ import annotations

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from tests.conftest import CLIENT_KEY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_anthropic_budget_reaches_codex_as_reasoning_effort(sdk_proxy, upstream):
    with anthropic.Anthropic(base_url=sdk_proxy.url, api_key=CLIENT_KEY, max_retries=0, timeout=10) as client:
        client.messages.create(model="gpt-5-codex", max_tokens=32000, messages=[{"role": "user", "content": "hi"}],
                               thinking={"type": "enabled", "budget_tokens": 20000})
    body = upstream.requests[0].body
    assert body["reasoning"]["effort"] == "high"  # 20000 <= 24576: high, which gpt-5-codex supports
    assert "thinking" not in body and "max_tokens" not in body


@pytest.mark.parametrize(("effort", "budget"), [("low", 1024), ("high", 24576)])
def test_openai_reasoning_effort_reaches_gemini_as_thinking_config(sdk_proxy, upstream, effort, budget):
    with openai.OpenAI(base_url=sdk_proxy.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=10) as client:
        client.chat.completions.create(model="gemini-2.5-pro", reasoning_effort=effort,
                                       messages=[{"role": "user", "content": "hi"}])
    config = upstream.requests[0].body["generationConfig"]["thinkingConfig"]
    assert config == {"thinkingBudget": budget, "includeThoughts": True}  # Gemini 2.5 takes budgets, not levels


def test_same_family_budget_out_of_range_is_a_gemini_400(sdk_proxy, upstream):
    client = genai.Client(api_key=CLIENT_KEY, http_options={"base_url": sdk_proxy.url})
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=64000))
    with pytest.raises(genai_errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-pro", contents="hi", config=config)
    assert caught.value.code == 400
    assert caught.value.message == "budget 64000 out of range [128,32768]"
    assert upstream.requests == []  # refused before any credential was used


def test_model_suffix_wins_over_the_body_and_the_upstream_sees_the_base_name(sdk_proxy, upstream):
    with openai.OpenAI(base_url=sdk_proxy.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=10) as client:
        client.chat.completions.create(model="gpt-5-codex(low)", reasoning_effort="high",
                                       messages=[{"role": "user", "content": "hi"}])
    body = upstream.requests[0].body
    assert (body["model"], body["reasoning"]["effort"]) == ("gpt-5-codex", "low")
