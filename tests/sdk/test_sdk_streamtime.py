"""Keep-alives and the answer time limit, seen by the real SDKs (openai, anthropic, google-genai).

A transport under each SDK's httpx client stamps every read from the network, so a test can check the
gaps between bytes while the SDK parses the same bytes. Times are scaled down (keep-alive 0.5 s) except in
one test at the issue's figures: a 40 s silent upstream, a 5 s interval, no gap of 6 s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from tests.conftest import CLIENT_KEY
from tests.sdk.conftest import start_module_proxy

if TYPE_CHECKING:
    from tests.servers import ThreadedServer

MODEL = "gpt-5-codex"  # two Codex credentials: room for a silent failover
KEEPALIVE = 0.5


class Stamped:
    """Records when the request left, when the headers came, and when each chunk of the body arrived, under
    an httpx (openai, google-genai) or httpx2 (anthropic) client."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def client(self, lib: Any = httpx) -> Any:
        return lib.Client(transport=_transport(lib, self.times), timeout=60)

    def longest_gap(self) -> float:
        return max(b - a for a, b in zip(self.times, self.times[1:], strict=False))


def _transport(lib: Any, times: list[float]) -> Any:
    class Transport(lib.BaseTransport):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.inner = lib.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            times.clear()
            times.append(time.monotonic())
            resp = self.inner.handle_request(request)
            times.append(time.monotonic())
            raw = resp.stream

            class Body(lib.SyncByteStream):  # type: ignore[misc,name-defined]
                def __iter__(self) -> Iterator[bytes]:
                    for chunk in raw:
                        times.append(time.monotonic())
                        yield chunk

                def close(self) -> None:
                    raw.close()

            return lib.Response(resp.status_code, headers=resp.headers, stream=Body(), extensions=resp.extensions)

        def close(self) -> None:
            self.inner.close()

    return Transport()


def proxy(fake: Any, tmp: Any, **extra: Any) -> ThreadedServer:
    return start_module_proxy(fake, tmp, **{"stream-keepalive-seconds": KEEPALIVE, **extra})


@pytest.fixture(scope="module")
def quick(fake: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    server = proxy(fake, tmp_path_factory.mktemp("keepalive"), **{"max-stream-seconds": 30})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def short(fake: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    server = proxy(fake, tmp_path_factory.mktemp("short"), **{"max-stream-seconds": 3})
    yield server
    server.stop()


@pytest.fixture
def stamped(fake: Any) -> Iterator[Stamped]:
    yield Stamped()
    fake.reset()  # no lasting delay or failure left for the next test


def openai_client(server: ThreadedServer, transport: Stamped) -> openai.OpenAI:
    return openai.OpenAI(api_key=CLIENT_KEY, base_url=server.url + "/v1", max_retries=0,
                         http_client=transport.client())


def openai_chat(server: ThreadedServer, transport: Stamped, model: str = MODEL) -> str:
    stream = openai_client(server, transport).chat.completions.create(
        model=model, stream=True, messages=[{"role": "user", "content": "hello"}])
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def openai_responses(server: ThreadedServer, transport: Stamped) -> str:
    stream = openai_client(server, transport).responses.create(model=MODEL, input="hello", stream=True)
    return "".join(e.delta for e in stream if e.type == "response.output_text.delta")


def anthropic_messages(server: ThreadedServer, transport: Stamped) -> str:
    import httpx2

    client = anthropic.Anthropic(api_key=CLIENT_KEY, base_url=server.url, max_retries=0,
                                 http_client=transport.client(httpx2))
    with client.messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hello"}]) as s:
        return "".join(s.text_stream)


def gemini_generate(server: ThreadedServer, transport: Stamped) -> str:
    client = genai.Client(api_key=CLIENT_KEY, http_options={
        "base_url": server.url, "timeout": 60_000, "httpx_client": transport.client()})
    return "".join(chunk.text or "" for chunk in client.models.generate_content_stream(model=MODEL, contents="hello"))


SDKS = [openai_chat, openai_responses, anthropic_messages, gemini_generate]


def answer(fake: Any, server: ThreadedServer, model: str = MODEL) -> str:
    """What the same SDK call gets with nothing in the way (the reference answer)."""
    fake.reset()
    return openai_chat(server, Stamped(), model)


@pytest.mark.parametrize("ask", SDKS, ids=lambda f: f.__name__)
def test_a_silent_upstream_gets_keep_alives_and_the_whole_answer(fake: Any, quick: ThreadedServer,
                                                                 stamped: Stamped, ask: Any) -> None:
    fake.reset()
    fake.delay(2.0, times=1)  # silent before its first byte
    text = ask(quick, stamped)
    assert text == answer(fake, quick)
    assert stamped.times[-1] - stamped.times[0] >= 2.0
    assert stamped.longest_gap() < KEEPALIVE + 0.5


def test_keep_alives_fill_silences_between_output_events(fake: Any, quick: ThreadedServer, stamped: Stamped) -> None:
    reference = answer(fake, quick, "compat-model")
    fake.delay(0, per_event=0.9, times=1)  # the first frame comes within the interval, then silences of 0.9 s
    assert openai_chat(quick, stamped, "compat-model") == reference
    assert stamped.longest_gap() < KEEPALIVE + 0.5


def test_failover_behind_keep_alives_stays_silent(fake: Any, quick: ThreadedServer, stamped: Stamped) -> None:
    fake.reset()
    fake.delay(1.2, times=1)  # the first credential is slow, then fails: the 200 is already committed
    fake.fail(500, times=1)
    text = openai_chat(quick, stamped)
    assert text
    assert len([r for r in fake.requests if r.path.endswith("/responses")]) == 2


def test_every_credential_failing_after_a_keep_alive_is_an_in_stream_error(fake: Any, quick: ThreadedServer,
                                                                            stamped: Stamped) -> None:
    fake.reset()
    fake.delay(1.2, times=1)
    fake.fail(500, times=None)
    with pytest.raises(openai.APIError, match="upstream failed|cooling down"):
        openai_chat(quick, stamped)
    assert stamped.times[1] - stamped.times[0] < KEEPALIVE + 0.5  # the 200 went out with the first keep-alive
    with pytest.raises(anthropic.APIStatusError) as info:  # no silence now: the failure keeps its HTTP status
        anthropic_messages(quick, Stamped())
    assert info.value.status_code in (429, 502)


def test_a_failure_within_the_first_interval_keeps_its_http_status(fake: Any, quick: ThreadedServer,
                                                                    stamped: Stamped) -> None:
    fake.reset()
    fake.fail(400, times=1, body={"error": {"type": "invalid_request_error", "message": "bad input here"}})
    with pytest.raises(openai.BadRequestError, match="bad input here"):
        openai_chat(quick, stamped, "compat-model")


def test_a_stream_over_max_stream_seconds_ends_with_the_error_event(fake: Any, short: ThreadedServer,
                                                                     stamped: Stamped,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    fake.reset()
    fake.delay(0, per_event=0.6, times=1)  # ten or more frames 0.6 s apart: past the 3 s limit
    with caplog.at_level(logging.WARNING, logger="cliproxy.streamtime"), \
            pytest.raises(anthropic.APIStatusError, match="max-stream-seconds"):
        anthropic_messages(short, stamped)
    assert any("max-stream-seconds" in r.getMessage() for r in caplog.records)
    deadline = time.monotonic() + 5
    while fake.aborted_streams == 0 and time.monotonic() < deadline:  # the upstream was let go
        time.sleep(0.1)
    assert fake.aborted_streams == 1


def test_max_stream_seconds_before_any_output(fake: Any, short: ThreadedServer, stamped: Stamped) -> None:
    fake.reset()
    fake.delay(6.0, times=None)
    with pytest.raises(openai.APIError, match="max-stream-seconds"):
        openai_chat(short, stamped)
    assert stamped.longest_gap() < KEEPALIVE + 0.5


def test_a_non_stream_answer_over_the_limit_is_a_504_in_the_dialects_envelope(fake: Any,
                                                                             short: ThreadedServer) -> None:
    fake.reset()
    fake.delay(6.0, times=None)
    client = anthropic.Anthropic(api_key=CLIENT_KEY, base_url=short.url, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hello"}])
    assert info.value.status_code == 504
    assert info.value.body["error"]["type"] == "timeout_error"
    assert "max-stream-seconds" in info.value.body["error"]["message"]


def test_forty_silent_seconds_at_a_five_second_interval(fake: Any, tmp_path: Any, stamped: Stamped) -> None:
    """The issue's figures: the client sees bytes at least every 6 s and gets the whole answer."""
    server = start_module_proxy(fake, tmp_path, **{"stream-keepalive-seconds": 5})
    try:
        reference = answer(fake, server)
        fake.delay(40.0, times=1)
        assert openai_chat(server, stamped) == reference
        assert stamped.times[-1] - stamped.times[0] >= 40
        assert stamped.longest_gap() < 6
    finally:
        server.stop()
        fake.reset()
