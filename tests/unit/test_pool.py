"""Credential choice as a pure function: pin first, priority tiers, rendezvous hashing, cooldowns."""

from __future__ import annotations

import pytest

from core import pool
from core.credentials import Credential
from core.models import Route, Target

NOW = 1_000_000.0


def cred(cid: str, priority: int = 0) -> Credential:
    return Credential(id=cid, kind="codex", provider="codex", api_key=f"sk-{cid}", priority=priority)


def target(*creds: Credential, group: str = "gpt-5-codex") -> Target:
    return Target(group, group, group, None, tuple(Route(c, group) for c in creds))


def ids(choice: pool.Choice) -> list[str]:
    return [r.cred.id for r in choice.routes]


ABC = target(cred("a"), cred("b"), cred("c"))


def test_pinned_credential_comes_first() -> None:
    for pinned in ("a", "b", "c"):
        assert ids(pool.candidates(ABC, now=NOW, cooldowns={}, pinned=pinned, session="s1"))[0] == pinned


def test_the_rest_follow_the_pin_in_their_usual_order() -> None:
    plain = ids(pool.candidates(ABC, now=NOW, cooldowns={}, session="s1"))
    pinned = ids(pool.candidates(ABC, now=NOW, cooldowns={}, pinned=plain[-1], session="s1"))
    assert pinned == [plain[-1], *plain[:-1]]


def test_pin_outranks_priority() -> None:
    tiers = target(cred("high", priority=10), cred("low", priority=0))
    assert ids(pool.candidates(tiers, now=NOW, cooldowns={}, session="s"))[0] == "high"
    assert ids(pool.candidates(tiers, now=NOW, cooldowns={}, pinned="low", session="s")) == ["low", "high"]


@pytest.mark.parametrize("cooling", [(("b", "gpt-5-codex")), (("b", "*"))], ids=["model", "every model"])
def test_cooling_pinned_credential_fails_over(cooling: tuple[str, str]) -> None:
    choice = pool.candidates(ABC, now=NOW, cooldowns={cooling: NOW + 30}, pinned="b", session="s1")
    assert "b" not in ids(choice)
    assert len(choice.routes) == 2


def test_pin_to_a_removed_or_excluded_credential_is_ignored() -> None:
    plain = ids(pool.candidates(ABC, now=NOW, cooldowns={}, session="s1"))
    assert ids(pool.candidates(ABC, now=NOW, cooldowns={}, pinned="gone", session="s1")) == plain


def test_cooldown_of_another_model_group_does_not_count() -> None:
    choice = pool.candidates(ABC, now=NOW, cooldowns={("b", "gpt-5"): NOW + 30}, pinned="b", session="s1")
    assert ids(choice)[0] == "b"


def test_expired_cooldown_does_not_count() -> None:
    assert "b" in ids(pool.candidates(ABC, now=NOW, cooldowns={("b", "*"): NOW - 1}, session="s1"))


def test_everything_cooling_reports_the_soonest_retry() -> None:
    cooldowns = {("a", "*"): NOW + 50, ("b", "gpt-5-codex"): NOW + 20, ("c", "*"): NOW + 90}
    choice = pool.candidates(ABC, now=NOW, cooldowns=cooldowns, session="s1")
    assert choice.routes == ()
    assert choice.retry_at == NOW + 20


# --- rendezvous hashing: a new session lands on a stable credential without a write ------------------------


def test_same_session_gets_the_same_order_every_time_and_everywhere() -> None:
    """No per-process state: two instances (or a cold start) order a session's credentials alike."""
    shuffled = target(cred("c"), cred("a"), cred("b"))
    orders = {tuple(ids(pool.candidates(t, now=NOW, cooldowns={}, session="s1", turn=turn)))
              for t in (ABC, shuffled) for turn in range(5)}
    assert len(orders) == 1


def test_sessions_spread_over_the_credentials() -> None:
    firsts = [ids(pool.candidates(ABC, now=NOW, cooldowns={}, session=f"s{i}"))[0] for i in range(300)]
    for cid in ("a", "b", "c"):
        assert 60 < firsts.count(cid) < 140


def test_removing_a_credential_moves_only_its_sessions() -> None:
    ab = target(cred("a"), cred("b"))
    for i in range(200):
        before = ids(pool.candidates(ABC, now=NOW, cooldowns={}, session=f"s{i}"))[0]
        after = ids(pool.candidates(ab, now=NOW, cooldowns={}, session=f"s{i}"))[0]
        if before != "c":
            assert after == before


def test_cooling_credential_moves_its_sessions_to_their_second_choice() -> None:
    order = ids(pool.candidates(ABC, now=NOW, cooldowns={}, session="s7"))
    cooled = pool.candidates(ABC, now=NOW, cooldowns={(order[0], "*"): NOW + 10}, session="s7")
    assert ids(cooled) == order[1:]


def test_higher_priority_tier_comes_first_for_every_session() -> None:
    tiers = target(cred("a"), cred("b"), cred("p1", priority=1), cred("p2", priority=1))
    for i in range(20):
        assert set(ids(pool.candidates(tiers, now=NOW, cooldowns={}, session=f"s{i}"))[:2]) == {"p1", "p2"}


def test_without_a_session_round_robin_rotates_by_turn() -> None:
    firsts = [ids(pool.candidates(ABC, now=NOW, cooldowns={}, turn=t))[0] for t in range(3)]
    assert sorted(firsts) == ["a", "b", "c"]


def test_fill_first_takes_ids_in_order_whatever_the_session() -> None:
    for session in ("s1", "s2", None):
        assert ids(pool.candidates(ABC, now=NOW, cooldowns={}, session=session, strategy="fill-first")) == \
            ["a", "b", "c"]


# --- cooldown lengths --------------------------------------------------------------------------------------


# The table row by row, through the proxy and the fake upstream, is in tests/e2e/test_cooldowns.py.


def _walk(kind: str, steps: int) -> list[float]:
    level, waits = 0, []
    for _ in range(steps):
        rest = pool.rest(kind, None, level)
        waits.append(rest.seconds)
        level = rest.level
    return waits


def test_backoff_doubles_from_one_second_up_to_its_cap() -> None:
    assert _walk("rate-limit", 13) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1800, 1800]
    assert _walk("server", 8) == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_reset_hint_wins_over_backoff_and_keeps_the_level() -> None:
    rest = pool.rest("quota", 42.0, 5)
    assert (rest.seconds, rest.level, rest.every_model) == (42.0, 5, False)
    assert pool.rest("overloaded", 42.0, 0).seconds == 1  # only quota and rate-limit read hints


def test_fixed_rests_and_bad_request() -> None:
    assert pool.rest("auth", None) == pool.Rest(1800, True, 0)
    assert pool.rest("forbidden", 5.0) == pool.Rest(1800, True, 0)
    assert pool.rest("not-found", None) == pool.Rest(12 * 3600, False, 0)
    assert pool.rest("bad-request", 9.0) is None


# --- the session's home: where it lands with nothing pinned or cooling (a pin to it is redundant) ----------


def test_home_is_the_first_choice_when_nothing_is_pinned_or_cooling() -> None:
    for i in range(20):
        choice = pool.candidates(ABC, now=NOW, cooldowns={}, session=f"s{i}")
        assert choice.home == ids(choice)[0]


def test_home_ignores_pins_and_cooldowns() -> None:
    home = pool.candidates(ABC, now=NOW, cooldowns={}, session="s3").home
    others = [c for c in ("a", "b", "c") if c != home]
    choice = pool.candidates(ABC, now=NOW, cooldowns={(home, "*"): NOW + 60}, pinned=others[0], session="s3")
    assert choice.home == home
    assert ids(choice)[0] == others[0]


def test_no_home_without_a_session() -> None:
    assert pool.candidates(ABC, now=NOW, cooldowns={}).home is None
