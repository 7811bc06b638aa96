from __future__ import annotations

import orjson
import pytest

from core import errors, ir
from core.credentials import Credential
from core.executors import gemini
from core.executors.base import CallContext

EX = gemini.EXECUTOR
REQ = ir.Request(model="gemini-2.5-pro", messages=(), dialect="gemini")
KEY = Credential(id="g1", kind="gemini", provider="gemini", api_key="AIza-1", headers={"X-Team": "blue"})
PROXIED = Credential(id="g2", kind="gemini", provider="gemini", api_key="AIza-2", base_url="http://gw.test/")


def ctx(**kw) -> CallContext:
    return CallContext(**{"stream": False, "upstream_model": "gemini-2.5-pro", **kw})


def test_generate_content_url_and_api_key_header():
    ureq = EX.build({"contents": []}, REQ, KEY, ctx())
    assert ureq.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"
    assert ureq.headers == {"content-type": "application/json", "x-goog-api-key": "AIza-1", "x-team": "blue"}
    assert orjson.loads(ureq.body) == {"contents": []}
    assert ureq.stream is False


def test_stream_asks_for_sse_and_count_tokens_has_its_own_method():
    assert EX.build({}, REQ, PROXIED, ctx(stream=True)).url == (
        "http://gw.test/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse")
    assert EX.build({}, REQ, PROXIED, ctx(count_tokens=True)).url == (
        "http://gw.test/v1beta/models/gemini-2.5-pro:countTokens")


def test_finalize_removes_model_and_session_id():
    body = {"model": "alias", "session_id": "s", "contents": [], "generationConfig": {"temperature": 1}}
    assert EX.finalize(body, REQ, ctx()) == {"contents": [], "generationConfig": {"temperature": 1}}


def test_count_tokens_wraps_a_full_request_and_keeps_bare_contents():
    contents = [{"role": "user", "parts": [{"text": "hi"}]}]
    assert EX.finalize({"contents": contents}, REQ, ctx(count_tokens=True)) == {"contents": contents}
    body = {"model": "x", "contents": contents, "systemInstruction": {"parts": [{"text": "s"}]}}
    assert EX.finalize(body, REQ, ctx(count_tokens=True)) == {"generateContentRequest": {
        "model": "models/gemini-2.5-pro", "contents": contents, "systemInstruction": {"parts": [{"text": "s"}]}}}





async def test_gemini_keys_cannot_be_refreshed():
    with pytest.raises(errors.UpstreamAuthError):
        await EX.refresh(KEY, None, None)  # type: ignore[arg-type]
