"""The cooldown table end to end, one test per row, each through an HTTP failure and an in-stream one: the
running proxy, the fake upstream, the clock moved by the test.

    auth, forbidden          30 min, every model of the credential (auth after a refresh was tried, for OAuth)
    not-found                12 h, that model only
    quota, rate-limit        until the reset hint, else 1 s doubling to 30 min; a success resets it
    overloaded, server,      1 s doubling to 60 s; a success resets it
    network
    bad-request              never (tests/e2e/test_failures.py)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from tests.e2e.clocked import MODELS, Rig, retry_after

from core.credentials import Credential, ModelAlias
from core.store import records

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream

Inject = Callable[["FakeUpstream"], None]


def http(status: int, **kw: Any) -> Inject:
    return lambda fake: fake.fail(status, times=None, **kw)


def event(**kw: Any) -> Inject:
    return lambda fake: fake.error_event_in_200(times=None, **kw)


def drop(fake: FakeUpstream) -> None:
    fake.drop_before_first_byte(times=None)


def fail_once(rig: Rig, inject: Inject, model: str) -> int:
    """Inject a lasting failure, ask once (streaming), and return how long the model is cooling."""
    inject(rig.fake)
    return retry_after(rig.ask(model, stream=True))


def walk(rig: Rig, inject: Inject, model: str, steps: int) -> list[int]:
    """Fail ``steps`` times, moving the clock to the end of each window before asking again."""
    inject(rig.fake)
    waits = []
    for _ in range(steps):
        waits.append(retry_after(rig.ask(model, stream=True)))
        rig.clock.advance(waits[-1])
    return waits


def succeed(rig: Rig, model: str) -> None:
    rig.fake.reset()
    assert rig.ask(model).status_code == 200


@pytest.mark.parametrize("inject", [http(401), event(code="authentication_error")], ids=["http", "event"])
def test_auth_cools_every_model_for_30_minutes(rig: Rig, inject: Inject) -> None:
    assert fail_once(rig, inject, MODELS["claude"]) == 1800
    rig.fake.reset()
    assert retry_after(rig.ask("claude-opus-4-1")) == 1800  # the credential, not the model, is benched
    rig.clock.advance(1799)
    assert retry_after(rig.ask(MODELS["claude"])) == 1
    rig.clock.advance(1)
    assert rig.ask(MODELS["claude"]).status_code == 200


def test_oauth_401_cools_only_after_a_refresh_was_tried(rig: Rig) -> None:
    cred = Credential(id="codex-oauth-cd", kind="codex", provider="codex", auth_type="oauth",
                      access_token="at-cd", refresh_token="rt-cd", expires_at=rig.clock.now + 3600,
                      account_id="acct-cd", base_url=rig.fake.codex_base_url,
                      models=(ModelAlias("gpt-5-codex", "oauth-codex"),))
    rig.run(lambda store: records.save_credential(store, cred, expected_version=0))
    try:
        assert fail_once(rig, http(401, path="/responses"), "oauth-codex") == 1800
        assert rig.fake.refresh_uses == {"rt-cd": 1}  # the new token was refused too: then benched
        assert rig.cooldowns()["codex-oauth-cd#*"]["reason"] == "auth"
    finally:
        rig.run(lambda store: records.delete_credential(store, cred.id))


@pytest.mark.parametrize("inject", [http(403), event(code="permission_error")], ids=["http", "event"])
def test_forbidden_cools_every_model_for_30_minutes(rig: Rig, inject: Inject) -> None:
    model = MODELS["claude"]
    assert fail_once(rig, inject, model) == 1800
    assert [(key.split("#")[1], item["reason"]) for key, item in rig.cooldowns().items()] == [("*", "forbidden")]
    rig.clock.advance(1800)
    succeed(rig, model)


@pytest.mark.parametrize(("inject", "kind", "model", "other"), [
    (http(404), "openai", MODELS["openai"], None),
    (event(code="NOT_FOUND"), "gemini", MODELS["gemini"], "gemini-2.5-flash"),
], ids=["http", "event"])
def test_not_found_cools_that_model_for_12_hours(rig: Rig, inject: Inject, kind: str, model: str,
                                                 other: str | None) -> None:
    assert fail_once(rig, inject, model) == 12 * 3600
    rig.fake.reset()
    if other is not None:
        assert rig.ask(other).status_code == 200  # the same credential still serves its other models
    rig.clock.advance(12 * 3600 - 1)
    assert retry_after(rig.ask(model)) == 1
    rig.clock.advance(1)
    assert rig.ask(model).status_code == 200


@pytest.mark.parametrize(("inject", "model", "hint"), [
    (http(429, retry_after=120), MODELS["codex"], 120),
    (event(error={"code": "rate_limit_exceeded", "message": "Please try again in 45s."}), MODELS["codex"], 45),
], ids=["http", "event"])
def test_quota_and_rate_limit_cool_until_the_reset_hint(rig: Rig, inject: Inject, model: str, hint: int) -> None:
    assert fail_once(rig, inject, model) == hint
    rig.fake.reset()
    rig.clock.advance(hint - 1)
    assert retry_after(rig.ask(model)) == 1
    rig.clock.advance(1)
    assert rig.ask(model).status_code == 200


def test_rate_limit_without_a_hint_backs_off_to_30_minutes_and_a_success_resets_it(rig: Rig) -> None:
    model = MODELS["openai"]
    assert walk(rig, http(429), model, 13) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1800, 1800]
    succeed(rig, model)
    assert walk(rig, http(429), model, 2) == [1, 2]


def test_in_stream_rate_limit_without_a_hint_backs_off(rig: Rig) -> None:
    model = MODELS["claude"]
    assert walk(rig, event(code="rate_limit_error"), model, 3) == [1, 2, 4]
    succeed(rig, model)
    assert walk(rig, event(code="rate_limit_error"), model, 1) == [1]


@pytest.mark.parametrize(("inject", "model"), [
    (http(500), MODELS["openai"]),
    (event(code="server_error"), MODELS["openai"]),
], ids=["http", "event"])
def test_server_errors_back_off_to_60_seconds_and_a_success_resets_it(rig: Rig, inject: Inject, model: str) -> None:
    assert walk(rig, inject, model, 8) == [1, 2, 4, 8, 16, 32, 60, 60]
    succeed(rig, model)
    assert walk(rig, inject, model, 1) == [1]


@pytest.mark.parametrize("inject", [http(529), event(code="overloaded_error")], ids=["http", "event"])
def test_overloaded_backs_off_from_one_second(rig: Rig, inject: Inject) -> None:
    assert walk(rig, inject, MODELS["claude"], 3) == [1, 2, 4]


@pytest.mark.parametrize("inject", [drop, http(408)], ids=["drop", "http-408"])
def test_network_failures_back_off_from_one_second(rig: Rig, inject: Inject) -> None:
    assert walk(rig, inject, MODELS["codex"], 3) == [1, 2, 4]  # both Codex credentials, in step
    assert {item["reason"] for item in rig.cooldowns().values()} == {"network"}
