"""Every request ends in one Outcome for metrics: successes, failovers and refusals alike."""

from __future__ import annotations

import orjson
import pytest
import yaml
from tests.conftest import UP, proxy_config

from core import config as cfgmod
from core import service, store
from core.call import ClientCall, Deps, Outcome
from core.executors import transport
from core.state import PoolState


@pytest.fixture
async def deps(upstream, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(proxy_config(upstream, tmp_path, store={"backend": "memory"})))
    config = cfgmod.load(str(path))
    seen: list[Outcome] = []
    http = transport.make_client()
    yield Deps(config=config, http=http, state=PoolState(config, store.open_store(config.store)),
                       observe=seen.append), seen
    await http.aclose()


def _call(body: dict, **kw) -> ClientCall:
    return ClientCall(dialect="openai_chat", raw=orjson.dumps(body), headers={}, principal="p", **kw)


async def test_a_success_reports_provider_model_usage_and_added_latency(deps):
    d, seen = deps
    reply = await service.handle(_call({"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}), d)
    assert reply.status == 200
    [outcome] = seen
    assert (outcome.provider, outcome.model, outcome.status, outcome.retries) == ("codex", "gpt-5-codex", 200, 0)
    assert outcome.cached_tokens > 0 and outcome.input_tokens > outcome.cached_tokens
    assert 0 < outcome.added_ms < 1000  # the proxy's own time, upstream waiting excluded


async def test_a_failover_counts_its_retry(deps, upstream):
    d, seen = deps
    upstream.fail(500, times=1)  # whichever credential goes first fails once
    reply = await service.handle(_call({"model": "gpt-5-codex", "messages": [{"role": "user", "content": "x"}]}), d)
    assert reply.status == 200
    assert [(o.status, o.retries, o.cooldowns) for o in seen] == [(200, 1, 1)]
    assert {r.headers["authorization"] for r in upstream.requests} == {f"Bearer {UP['codex']}",
                                                                       f"Bearer {UP['codex2']}"}


async def test_a_refused_request_is_reported_with_its_status(deps):
    d, seen = deps
    reply = await service.handle(_call({"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}), d)
    assert reply.status == 404
    assert [(o.model, o.status, o.provider) for o in seen] == [("no-such-model", 404, "")]
