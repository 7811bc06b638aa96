"""Client-key limits hold for the sum of two proxy processes sharing one DynamoDB table (moto server), and a
killed instance's concurrency lease frees itself once it expires."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import openai
import pytest
import yaml
from tests import dynamo
from tests.conftest import proxy_config
from tests.e2e.test_cross_instance import Instance

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream

TABLE = "cliproxy-cross-limits"
LEASE_SECONDS = 8
MODEL = "gpt-5-codex"
KEYS = [
    {"key": "sk-rpm", "name": "rpm-team", "requests-per-minute": 4},
    {"key": "sk-tokens", "name": "tokens-team", "tokens-per-day": 40},
    {"key": "sk-serial", "name": "serial-team", "max-concurrent": 1},
]


@dataclass
class Pair:
    a: Instance
    b: Instance


@pytest.fixture(scope="module")
def pair(fake: FakeUpstream, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("cross-limits")
    doc = proxy_config(fake, tmp, **{"api-keys": KEYS, "store": {
        "backend": "dynamodb", "table": TABLE, "region": "us-east-1", "endpoint-url": moto_endpoint}})
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(doc))
    dynamo.create_table(dynamo.client(moto_endpoint), TABLE)
    pair = Pair(Instance("la", config, tmp), Instance("lb", config, tmp))
    os.environ["CLIPROXY_LEASE_SECONDS"] = str(LEASE_SECONDS)  # copied into both processes' environment
    try:
        with ThreadPoolExecutor(2) as starting:
            list(starting.map(Instance.start, (pair.a, pair.b)))
    finally:
        os.environ.pop("CLIPROXY_LEASE_SECONDS", None)
    try:
        yield pair
    finally:
        pair.a.stop()
        pair.b.stop()


def client(via: Instance, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=via.url + "/v1", api_key=key, max_retries=0, timeout=20)


def ask(via: Instance, key: str, **kw: Any) -> Any:
    with client(via, key) as c:
        return c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}], **kw)


def answered(upstream: FakeUpstream) -> list[Any]:
    """The model calls the upstream saw; an instance's background refresh of the model lists is not one."""
    return [r for r in upstream.requests if not r.path.endswith("/models")]


def test_requests_per_minute_hold_for_both_instances_together(pair: Pair, upstream: FakeUpstream) -> None:
    if time.time() % 60 > 50:  # one fixed window for the whole test
        time.sleep(60.5 - time.time() % 60)
    for via in (pair.a, pair.b, pair.a, pair.b):
        ask(via, "sk-rpm")
    for via in (pair.a, pair.b):
        with pytest.raises(openai.RateLimitError) as refused:
            ask(via, "sk-rpm")
        assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60
    assert len(answered(upstream)) == 4


def test_tokens_per_day_hold_for_both_instances_together(pair: Pair, upstream: FakeUpstream) -> None:
    first = ask(pair.a, "sk-tokens")
    assert first.usage.total_tokens < 40  # A alone stays under the day's tokens ...
    ask(pair.b, "sk-tokens")  # ... and so does B alone, but together they are over
    for via in (pair.a, pair.b):
        with pytest.raises(openai.RateLimitError) as refused:
            ask(via, "sk-tokens")
        assert "tokens" in refused.value.message
    assert len(answered(upstream)) == 2  # refused before any upstream call


def test_a_killed_instances_concurrency_lease_frees_itself_after_expiry(pair: Pair, upstream: FakeUpstream) -> None:
    upstream.delay(0.0, per_event=1.0, times=1)  # A's stream will still be running when A dies
    started = threading.Event()

    def stream_on_a() -> None:
        try:
            with httpx.stream("POST", pair.a.url + "/v1/chat/completions", timeout=30,
                              headers={"authorization": "Bearer sk-serial"},
                              json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
                              ) as resp:
                assert resp.status_code == 200
                for _ in resp.iter_raw():
                    started.set()
        except httpx.HTTPError:
            pass  # A is killed under it

    reader = threading.Thread(target=stream_on_a, daemon=True)
    reader.start()
    assert started.wait(20)
    with pytest.raises(openai.RateLimitError):
        ask(pair.b, "sk-serial")  # A's lease is in the table: B holds the limit too
    pair.a.kill()
    killed = time.monotonic()
    reader.join(10)
    with pytest.raises(openai.RateLimitError):
        ask(pair.b, "sk-serial")  # nobody released it: it stays taken until it expires
    deadline = killed + LEASE_SECONDS + 15
    while True:
        try:
            assert ask(pair.b, "sk-serial").choices
            break
        except openai.RateLimitError:
            assert time.monotonic() < deadline, "the dead instance's lease never expired"
            time.sleep(0.25)
    assert time.monotonic() - killed >= 1  # freed by expiry, not by anyone at the kill
    os.environ["CLIPROXY_LEASE_SECONDS"] = str(LEASE_SECONDS)
    try:
        pair.a.start()  # back for any later test
    finally:
        os.environ.pop("CLIPROXY_LEASE_SECONDS", None)
