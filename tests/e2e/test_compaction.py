"""Compaction on every upstream, through a running proxy: a ``compaction_trigger`` turn and
``POST /v1/responses/compact`` pass to a Codex upstream as they are, and are emulated for every other kind
with one ``compaction`` item carrying the routed model's summary, which later turns expand back into text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from tests.conftest import CLIENT_KEY, UP

from core import compaction

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream
    from tests.servers import ThreadedServer

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}
HISTORY = [
    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "be brief"}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "build the parser"}]},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "parser built"}]},
]
TRIGGER = {"type": "compaction_trigger"}
# (model, the upstream path its turns reach)
EMULATED = [("claude-sonnet-4-5", "/v1/messages"), ("gemini-2.5-pro", ":generateContent"),
            ("compat-model", "/chat/completions")]


def post(proxy: ThreadedServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(proxy.url + path, content=orjson.dumps(body), headers=AUTH, timeout=15)


def events(resp: httpx.Response) -> list[dict[str, Any]]:
    return [orjson.loads(line[6:]) for line in resp.text.splitlines() if line.startswith("data: ")]


def upstream_calls(fake: FakeUpstream, marker: str) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith(marker) or marker in r.path]


def test_trigger_passes_to_codex_and_its_item_comes_back_byte_exact(proxy: ThreadedServer,
                                                                      upstream: FakeUpstream) -> None:
    resp = post(proxy, "/v1/responses", {"model": "gpt-5-codex", "stream": True, "input": [*HISTORY, TRIGGER]})
    assert resp.status_code == 200, resp.text
    done = [e["item"] for e in events(resp) if e["type"] == "response.output_item.done"]
    assert [i["type"] for i in done] == ["compaction"]
    sent = upstream_calls(upstream, "/responses")[-1].body
    assert sent["input"][-1] == TRIGGER
    item = done[0]
    resp = post(proxy, "/v1/responses", {"model": "gpt-5-codex", "input": [
        HISTORY[1], item, {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "next"}]}]})
    assert resp.status_code == 200, resp.text
    replayed = upstream_calls(upstream, "/responses")[-1].body["input"]
    assert item in replayed  # Codex's own opaque item goes back to Codex unchanged, every field


@pytest.mark.parametrize(("model", "path"), EMULATED)
def test_trigger_on_other_upstreams_answers_one_wrapped_summary_item(proxy: ThreadedServer, upstream: FakeUpstream,
                                                                    model: str, path: str) -> None:
    resp = post(proxy, "/v1/responses", {"model": model, "stream": True, "input": [*HISTORY, TRIGGER]})
    assert resp.status_code == 200, resp.text
    evs = events(resp)
    assert [e["type"] for e in evs] == ["response.created", "response.in_progress", "response.output_item.added",
                                        "response.output_item.done", "response.completed"]
    output = evs[-1]["response"]["output"]
    assert len(output) == 1 and output[0]["type"] == "compaction"
    summary = compaction.unwrap(output[0]["encrypted_content"])
    assert summary is not None and summary.startswith(f"echo {model}:")  # the routed model wrote it
    asked = orjson.dumps(upstream_calls(upstream, path)[-1].body).decode()
    assert "build the parser" in asked and "Context checkpoint" in asked and "compaction_trigger" not in asked

    # The next turn replays the item: the upstream gets the summary as text, never the wrapped item.
    upstream.reset()
    nxt = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go on"}]}
    resp = post(proxy, "/v1/responses", {"model": model, "input": [output[0], nxt]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["output"][-1]["content"][0]["text"].endswith("go on")
    sent = orjson.dumps(upstream.requests[-1].body).decode()
    assert compaction.PREAMBLE.strip()[:40] in sent and "echo " in sent
    assert output[0]["encrypted_content"] not in sent


def test_summary_item_replayed_to_codex_goes_as_text(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    item = compaction.item("we built the parser", "cmp_x")
    nxt = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go on"}]}
    resp = post(proxy, "/v1/responses", {"model": "gpt-5-codex", "input": [item, nxt]})
    assert resp.status_code == 200, resp.text
    sent = upstream_calls(upstream, "/responses")[-1].body
    assert all(i.get("type") != "compaction" for i in sent["input"])
    assert "we built the parser" in orjson.dumps(sent["input"]).decode()


def test_compact_endpoint_passes_to_codex_compact_with_continuity(proxy: ThreadedServer,
                                                                   upstream: FakeUpstream) -> None:
    body = {"model": "gpt-5-codex", "input": HISTORY, "instructions": "sys", "prompt_cache_key": "conv-1"}
    for path in ("/v1/responses/compact", "/backend-api/codex/responses/compact"):
        upstream.reset()
        resp = post(proxy, path, body)
        assert resp.status_code == 200, resp.text
        answer = resp.json()
        assert answer["object"] == "response.compaction"
        assert [i["type"] for i in answer["output"]][-1] == "compaction"
        (rec,) = upstream_calls(upstream, "/responses/compact")
        assert rec.path.endswith("/backend-api/codex/responses/compact")
        assert "stream" not in rec.body and rec.body["input"] == HISTORY and rec.body["instructions"] == "sys"
        assert rec.body["prompt_cache_key"] == "conv-1" == rec.headers["session_id"]
        assert rec.headers["accept"] == "application/json"
        assert rec.headers["authorization"] in (f"Bearer {UP['codex']}", f"Bearer {UP['codex2']}")


@pytest.mark.parametrize(("model", "path"), EMULATED)
def test_compact_endpoint_is_emulated_for_other_upstreams(proxy: ThreadedServer, upstream: FakeUpstream,
                                                          model: str, path: str) -> None:
    resp = post(proxy, "/v1/responses/compact", {"model": model, "input": HISTORY})
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["object"] == "response.compaction" and len(answer["output"]) == 1
    assert compaction.unwrap(answer["output"][0]["encrypted_content"]).startswith(f"echo {model}:")
    assert answer["usage"]["output_tokens"] > 0
    assert upstream_calls(upstream, path)


def test_compact_endpoint_refuses_streaming(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    resp = post(proxy, "/v1/responses/compact", {"model": "gpt-5-codex", "input": HISTORY, "stream": True})
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "streaming not supported for /responses/compact"
    assert not upstream.requests


def test_backend_api_alias_serves_responses(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    resp = post(proxy, "/backend-api/codex/responses", {"model": "gpt-5-codex", "input": "hi"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["output"][-1]["content"][0]["text"] == "echo gpt-5-codex: hi"
    plain_get = httpx.get(proxy.url + "/backend-api/codex/responses", headers=AUTH, timeout=5)
    assert plain_get.status_code == 426


def test_a_non_stream_trigger_turn_answers_one_response_object(proxy: ThreadedServer, upstream: FakeUpstream) -> None:
    resp = post(proxy, "/v1/responses", {"model": "gemini-2.5-pro", "input": [*HISTORY, TRIGGER]})
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["object"] == "response" and answer["status"] == "completed"
    (item,) = answer["output"]
    assert item["type"] == "compaction" and compaction.unwrap(item["encrypted_content"])
