from __future__ import annotations

import orjson
import pytest

from core import errors, ir
from core.credentials import Credential
from core.executors import openai_compat
from core.executors.base import CallContext

EX = openai_compat.EXECUTOR
REQ = ir.Request(model="qwen", messages=(), dialect="openai_chat")
KEY = Credential(id="o1", kind="openai_compat", provider="local", api_key="sk-o", base_url="http://host.test/v1/",
                 headers={"HTTP-Referer": "https://x"})


def ctx(**kw) -> CallContext:
    return CallContext(**{"stream": False, "upstream_model": "qwen2.5", **kw})


def test_build_posts_chat_completions_under_the_configured_base():
    ureq = EX.build({"model": "qwen2.5"}, REQ, KEY, ctx())
    assert ureq.url == "http://host.test/v1/chat/completions"
    assert ureq.headers == {"content-type": "application/json", "authorization": "Bearer sk-o",
                            "http-referer": "https://x"}
    assert orjson.loads(ureq.body) == {"model": "qwen2.5"}


def test_stream_build_accepts_sse_and_keyless_credentials_send_no_authorization():
    keyless = Credential(id="o2", kind="openai_compat", provider="local", base_url="http://host.test/v1")
    ureq = EX.build({}, REQ, keyless, ctx(stream=True))
    assert ureq.headers == {"content-type": "application/json", "accept": "text/event-stream"}
    assert ureq.stream is True


def test_missing_base_url_is_a_credential_error():
    with pytest.raises(errors.UpstreamAuthError):
        EX.build({}, REQ, Credential(id="o3", kind="openai_compat", provider="local", api_key="k"), ctx())


def test_finalize_streams_always_ask_for_usage_and_keep_other_stream_options():
    body = {"model": "alias", "stream_options": {"include_obfuscation": False}}
    assert EX.finalize(body, REQ, ctx(stream=True)) == {
        "model": "qwen2.5", "stream": True, "stream_options": {"include_obfuscation": False, "include_usage": True}}


def test_finalize_non_stream_drops_stream_options():
    body = {"model": "alias", "stream": True, "stream_options": {"include_usage": True}}
    assert EX.finalize(body, REQ, ctx()) == {"model": "qwen2.5", "stream": False}
