"""The scheduled refresher, invoked with events/refresh-schedule.json against the moto table."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from core import store as stores
from core.config import StoreConfig
from core.credentials import Credential
from core.store import records


def _store(env: Any) -> Any:
    cfg = StoreConfig(backend="dynamodb", table=env.table, region="us-east-1")
    return stores.open_store(cfg, dynamodb_client=env.dynamodb, encryption_key=env.encryption_key)


def _seed(env: Any, *creds: Credential) -> None:
    async def write() -> None:
        for cred in creds:
            assert await records.save_credential(_store(env), cred, expected_version=0)

    asyncio.run(write())


def _stored(env: Any, cred_id: str) -> Credential:
    found = asyncio.run(records.get_credential(_store(env), cred_id))
    assert found is not None
    return found


def _oauth(cred_id: str, kind: str, refresh_token: str, expires_in: float) -> Credential:
    return Credential(id=cred_id, kind=kind, provider=kind, auth_type="oauth",  # type: ignore[arg-type]
                      access_token=f"at-{cred_id}", refresh_token=refresh_token,
                      expires_at=time.time() + expires_in)


def _runs(report: dict[str, Any]) -> dict[str, Any]:
    """The report without its state counts (their own test)."""
    return {k: v for k, v in report.items() if k != "states"}


def invoke(env: Any) -> dict[str, Any]:
    from handlers import refresher

    return refresher.handler(env.event("refresh-schedule.json"), env.context)


def test_credential_near_expiry_is_refreshed_once_and_written_back(on_lambda: Any) -> None:
    _seed(on_lambda, _oauth("codex-near", "codex", "rt-codex-1", expires_in=120),
          _oauth("claude-far", "claude", "rt-claude-1", expires_in=6 * 3600))

    report = invoke(on_lambda)

    assert _runs(report) == {"checked": 2, "refreshed": ["codex-near"], "skipped": [], "failed": []}
    assert on_lambda.fake.refresh_uses == {"rt-codex-1": 1}  # the far one is left alone
    stored = _stored(on_lambda, "codex-near")
    assert stored.version == 2  # written once by the seed, once by the refresh
    assert stored.access_token != "at-codex-near" and stored.refresh_token != "rt-codex-1"
    assert stored.expires_at is not None and stored.expires_at > time.time() + 3000
    token_calls = [r for r in on_lambda.fake.requests if r.path == "/oauth/token"]
    assert len(token_calls) == 1 and token_calls[0].body["grant_type"] == "refresh_token"


def test_second_run_finds_nothing_due(on_lambda: Any) -> None:
    _seed(on_lambda, _oauth("claude-near", "claude", "rt-claude-2", expires_in=60))

    first, second = invoke(on_lambda), invoke(on_lambda)

    assert first["refreshed"] == ["claude-near"]
    assert _runs(second) == {"checked": 1, "refreshed": [], "skipped": [], "failed": []}
    assert on_lambda.fake.refresh_uses == {"rt-claude-2": 1}
    assert _stored(on_lambda, "claude-near").version == 2


def test_refused_refresh_is_reported_and_the_record_kept(on_lambda: Any) -> None:
    _seed(on_lambda, _oauth("codex-dead", "codex", "rt-dead", expires_in=30))
    on_lambda.fake.refresh_uses["rt-dead"] = 1  # already spent: the token endpoint answers invalid_grant

    report = invoke(on_lambda)

    assert report["failed"] == ["codex-dead"] and report["refreshed"] == []
    kept = _stored(on_lambda, "codex-dead")
    assert (kept.access_token, kept.refresh_token, kept.needs_login) == ("at-codex-dead", "rt-dead", "invalid_grant")
    assert invoke(on_lambda)["failed"] == []  # needs-login: not tried again until a new login
    assert on_lambda.fake.refresh_uses["rt-dead"] == 2


def test_api_key_credentials_and_tokens_without_expiry_are_not_touched(on_lambda: Any) -> None:
    _seed(on_lambda, Credential(id="key-only", kind="claude", provider="claude", api_key="sk-up-x"),
          Credential(id="no-expiry", kind="codex", provider="codex", auth_type="oauth",
                     access_token="opaque", refresh_token="rt-n"))

    assert _runs(invoke(on_lambda)) == {"checked": 2, "refreshed": [], "skipped": [], "failed": []}
    assert on_lambda.fake.refresh_uses == {}


def test_credential_states_are_counted_from_the_store_and_emitted(on_lambda: Any,
                                                                   capsys: Any) -> None:
    """The `Credentials` metric by state feeds the needs-login and cooling alarms."""
    import orjson

    from core.store import records as recs

    _seed(on_lambda, _oauth("fine", "claude", "rt-fine", expires_in=6 * 3600),
          _oauth("cool", "codex", "rt-cool", expires_in=6 * 3600),
          Credential(id="off", kind="claude", provider="claude", api_key="sk-up-off", disabled=True),
          Credential(id="dead", kind="claude", provider="claude", auth_type="oauth", access_token="at-dead",
                     refresh_token="rt-dead", needs_login="invalid_grant"))
    asyncio.run(recs.set_cooldown(_store(on_lambda), "cool", "*", time.time() + 600, "rate limited"))
    capsys.readouterr()

    report = invoke(on_lambda)

    upstream_keys = len(on_lambda.upstream_keys)  # the config's API-key credentials, from their secret
    assert report["states"] == {"disabled": 1, "needs-login": 1, "cooling": 1, "ok": 1 + upstream_keys}
    emitted = {r["state"]: r["Credentials"] for r in map(orjson.loads, capsys.readouterr().out.splitlines())
               if "Credentials" in r}
    assert emitted == {state: [float(n)] for state, n in report["states"].items()}
