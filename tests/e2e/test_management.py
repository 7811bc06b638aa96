"""The management API through the running proxy: its key check and lockout (shared by instances through the
store), every credentials route and the usage report; no answer carries a token, key or secret."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import CLIENT_KEY, UP, in_store

from core.store import records
from handlers import clientkeys

MGMT_KEY = "mk-test-management-key"
SECRETS = [MGMT_KEY, CLIENT_KEY, *UP.values(), "at-stored-secret", "rt-stored-secret"]
UPLOAD = {"type": "codex", "access_token": "at-stored-secret", "refresh_token": "rt-stored-secret",
          "account_id": "acct-9", "email": "ops@example.com", "expired": "2099-01-01T00:00:00Z"}


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[str] = []

    def call(self, method: str, path: str, *, key: str | None = MGMT_KEY, header: str = "authorization",
             **kw: Any) -> httpx.Response:
        headers = {} if key is None else {header: f"Bearer {key}" if header == "authorization" else key}
        resp = httpx.request(method, self.url + "/v0/management" + path, headers=headers, timeout=10, **kw)
        self.answers.append(resp.text)
        return resp

    def creds(self) -> dict[str, dict[str, Any]]:
        resp = self.call("GET", "/credentials")
        assert resp.status_code == 200
        return {c["id"]: c for c in resp.json()["credentials"]}


@pytest.fixture
def api(start_proxy: Any) -> Any:
    made: list[Api] = []

    def make() -> Api:
        made.append(Api(start_proxy(**{"management-keys": [MGMT_KEY]}).url))
        return made[-1]

    yield make
    for one in made:  # no token, key or secret in any answer of the test
        for text in one.answers:
            assert not any(secret in text for secret in SECRETS), text


def test_without_management_keys_every_route_is_absent(proxy: Any) -> None:
    resp = httpx.get(proxy.url + "/v0/management/credentials", headers={"x-management-key": "anything"}, timeout=10)
    assert resp.status_code == 404


def test_keys_are_accepted_as_bearer_or_x_management_key_and_nothing_else(api: Any) -> None:
    one = api()
    assert one.call("GET", "/credentials").status_code == 200
    assert one.call("GET", "/credentials", header="x-management-key").status_code == 200
    assert one.call("GET", "/credentials", key=None).status_code == 401
    assert one.call("GET", "/credentials", key=CLIENT_KEY).status_code == 401  # a client key is not one
    assert one.call("GET", "/credentials", key=MGMT_KEY + "x").json() == {"error": "missing or invalid management key"}


def test_five_bad_keys_lock_the_address_out_on_every_instance(api: Any) -> None:
    a, b = api(), api()  # one store
    for i in range(5):
        assert (a if i % 2 else b).call("GET", "/usage", key=f"wrong-{i}").status_code == 401
    for one in (a, b):
        locked = one.call("GET", "/usage")  # even the right key, for 15 minutes
        assert locked.status_code == 429 and 800 < int(locked.headers["retry-after"]) <= 900


def test_credentials_list_every_credential_with_state_cooldowns_and_last_error(api: Any, tmp_path: Path) -> None:
    one = api()
    assert one.call("POST", "/credentials", json=UPLOAD).status_code == 201
    listed = one.creds()
    stored = next(c for c in listed.values() if c["source"] == "store")
    assert (stored["kind"], stored["label"], stored["state"], stored["expires_at"]) == (
        "codex", "ops@example.com", "ok", "2099-01-01T00:00:00Z")
    config_key = next(c for c in listed.values() if c["kind"] == "claude")
    assert config_key["label"] == "..." + UP["claude"][-4:] and config_key["expires_at"] is None

    until = time.time() + 600
    in_store(tmp_path, lambda s: records.set_cooldown(s, stored["id"], "gpt-5", until, "quota"))
    in_store(tmp_path, lambda s: records.note_error(s, stored["id"], 429, "quota", time.time()))
    cooling = one.creds()[stored["id"]]
    assert cooling["state"] == "cooling"
    assert cooling["cooldowns"] == [{"model": "gpt-5", "reason": "quota",
                                     "until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until))}]
    assert (cooling["last_error"]["status"], cooling["last_error"]["type"]) == (429, "quota")

    reset = one.call("POST", f"/credentials/{stored['id']}/reset-cooldowns")
    assert reset.json() == {"status": "reset", "cleared": 1}
    assert one.creds()[stored["id"]]["state"] == "ok"

    async def dead(s: Any) -> None:
        from dataclasses import replace

        cred = await records.get_credential(s, stored["id"])
        await records.save_credential(s, replace(cred, needs_login="invalid_grant"), expected_version=cred.version)

    in_store(tmp_path, dead)
    marked = one.creds()[stored["id"]]
    assert (marked["state"], marked["needs_login"]) == ("needs-login", "invalid_grant")


def test_patch_delete_and_a_second_upload_of_the_same_account(api: Any) -> None:
    one = api()
    cred_id = one.call("POST", "/credentials", json=UPLOAD).json()["id"]
    assert one.call("PATCH", f"/credentials/{cred_id}", json={"disabled": True, "priority": 7}).status_code == 200
    assert (one.creds()[cred_id]["state"], one.creds()[cred_id]["priority"]) == ("disabled", 7)
    again = one.call("POST", "/credentials", json=UPLOAD)  # the same account: updated in place
    assert (again.status_code, again.json()["status"]) == (200, "updated")
    assert one.creds()[cred_id]["priority"] == 7
    assert one.call("PATCH", f"/credentials/{cred_id}", json={"disabled": False}).status_code == 200
    assert one.creds()[cred_id]["state"] == "ok"

    assert one.call("PATCH", f"/credentials/{cred_id}", json={"disabled": "no"}).status_code == 400
    assert one.call("PATCH", f"/credentials/{cred_id}", json={"token": "x"}).status_code == 400
    config_id = next(i for i, c in one.creds().items() if c["source"] == "config")
    assert one.call("PATCH", f"/credentials/{config_id}", json={"priority": 1}).status_code == 409
    assert one.call("DELETE", f"/credentials/{config_id}").status_code == 409
    assert one.call("POST", "/credentials", content=b"not json").status_code == 400
    assert one.call("POST", "/credentials", json={"type": "codex"}).status_code == 400

    assert one.call("DELETE", f"/credentials/{cred_id}").json() == {"status": "removed"}
    assert one.call("DELETE", f"/credentials/{cred_id}").status_code == 404
    assert one.call("PATCH", "/credentials/nope", json={"priority": 1}).status_code == 404
    assert one.call("POST", "/credentials/nope/reset-cooldowns").status_code == 404


def test_usage_report_per_day_by_each_dimension(api: Any) -> None:
    one = api()
    chat = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):
        assert httpx.post(one.url + "/v1/chat/completions", json=chat, timeout=10,
                          headers={"authorization": f"Bearer {CLIENT_KEY}"}).status_code == 200
    today = records.usage_day(time.time())
    by_model = one.call("GET", "/usage", params={"from": today, "to": today, "by": "model"}).json()
    assert [(r["day"], r["key"], r["requests"], r["errors"]) for r in by_model["rows"]] == [
        (today, "gpt-5-codex", 3, 0)]
    assert by_model["totals"]["requests"] == 3 and by_model["totals"]["input_tokens"] > 0
    by_client = one.call("GET", "/usage", params={"by": "client-key"}).json()
    assert [r["key"] for r in by_client["rows"]] == [clientkeys.client_label(CLIENT_KEY)]
    assert one.call("GET", "/usage", params={"by": "nope"}).status_code == 400
    assert one.call("GET", "/usage", params={"from": "2026-02-02", "to": "2026-02-01"}).status_code == 400
