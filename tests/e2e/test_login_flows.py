"""``cliproxy auth login`` catching the browser on its loopback callback port, and Codex's device flow (local,
and through the management API across two instances), against the fake's authorize, token (PKCE and
redirect_uri checked) and device endpoints. No token appears in any output or answer."""

from __future__ import annotations

import threading
import time
import urllib.parse
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml
from tests.conftest import in_store

from core import config as cfgmod
from core import login
from core.store import records
from handlers import cli

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fakes.upstream import FakeUpstream

MGMT = {"x-management-key": "mk-flows"}
DEVICE_REDIRECT = "https://auth.openai.com/deviceauth/callback"


def oauth_keys(fake: FakeUpstream) -> dict[str, str]:
    return {"codex-token-url": fake.url + "/oauth/token", "claude-token-url": fake.url + "/v1/oauth/token",
            "codex-authorize-url": fake.url + "/oauth/authorize", "claude-authorize-url": fake.url + "/oauth/authorize",
            "codex-device-usercode-url": fake.url + "/api/accounts/deviceauth/usercode",
            "codex-device-token-url": fake.url + "/api/accounts/deviceauth/token",
            "codex-device-verify-url": fake.url + "/codex/device"}


@pytest.fixture
def pair(start_proxy: Any, upstream: FakeUpstream) -> tuple[str, str]:
    extra = {"management-keys": ["mk-flows"], "oauth": oauth_keys(upstream)}
    return start_proxy(**extra).url, start_proxy(**extra).url  # two instances, one store


@pytest.fixture
def local_config(tmp_path: Path, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's config: the same SQLite store as the proxies of ``pair``; the management key for --remote."""
    monkeypatch.setenv("CLIPROXY_MANAGEMENT_KEY", "mk-flows")
    path = tmp_path / "login.yaml"
    path.write_text(yaml.safe_dump({"store": {"backend": "sqlite", "path": str(tmp_path / "cliproxy.db")},
                                    "oauth": oauth_keys(upstream)}))
    return str(path)


class Browser:
    """Stands in for ``webbrowser.open``: visits the sign-in URL as a browser would (``act``), never a real one."""

    def __init__(self, act: str = "follow") -> None:
        self.act = act
        self.pages: list[httpx.Response] = []
        self.port = 0

    def open(self, url: str, *args: Any) -> bool:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        self.port = urllib.parse.urlsplit(query["redirect_uri"]).port or 0
        if self.act == "follow":  # the provider approves and sends the browser back to our port
            stray = httpx.get(f"http://127.0.0.1:{self.port}/favicon.ico", timeout=10)
            assert stray.status_code == 404  # not the callback: the login keeps waiting
            self.pages.append(httpx.get(url, follow_redirects=True, timeout=10))
        elif self.act == "other-state":
            back = httpx.get(url, timeout=10).headers["location"].replace(f"state={query['state']}", "state=forged")
            self.pages.append(httpx.get(back, timeout=10))
        elif self.act == "deny":
            back = f"{query['redirect_uri']}?error=access_denied&state={query['state']}"
            self.pages.append(httpx.get(back, timeout=10))
        return True


def login_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["auth", "login", *args])
    out, err = capsys.readouterr()
    assert "login-access" not in out + err and "login-refresh" not in out + err
    return code, out, err


@pytest.mark.parametrize(("provider", "where"), [("codex", "local"), ("claude", "local"), ("claude", "remote")])
def test_login_catches_the_browser_on_the_loopback_port(pair: tuple[str, str], local_config: str, tmp_path: Path,
                                                        upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], provider: str,
                                                        where: str) -> None:
    browser = Browser()
    monkeypatch.setattr("webbrowser.open", browser.open)
    target = ["--remote", pair[0]] if where == "remote" else ["--config", local_config]
    code, out, err = login_cli([provider, "--port", "0", "--timeout", "20", *target], capsys)
    assert code == 0, err
    assert browser.pages[-1].status_code == 200 and "Signed in" in browser.pages[-1].text
    path = "/auth/callback" if provider == "codex" else "/callback"
    redirect = f"http://localhost:{browser.port}{path}"
    assert f"localhost:{browser.port}" in out
    authorize = next(r for r in upstream.requests if r.path == "/oauth/authorize")
    exchange = next(r for r in upstream.requests if r.path.endswith("/oauth/token"))
    assert authorize.query["redirect_uri"] == exchange.body["redirect_uri"] == redirect  # the port actually used
    cred_id = out.strip().splitlines()[-1].removeprefix("logged in ")
    cred = in_store(tmp_path, lambda s: records.get_credential(s, cred_id))
    assert (cred.kind, cred.email, cred.needs_login) == (provider, "login@example.com", None)


@pytest.mark.parametrize(("act", "message"), [("other-state", "state differs"),
                                              ("deny", "refused the sign-in (access_denied)"),
                                              ("nothing", "no sign-in came back within 0.5 s")])
def test_a_loopback_login_that_goes_wrong_says_why(local_config: str, upstream: FakeUpstream,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], act: str, message: str) -> None:
    browser = Browser(act)
    monkeypatch.setattr("webbrowser.open", browser.open)
    timeout = "0.5" if act == "nothing" else "20"
    code, out, err = login_cli(["codex", "--port", "0", "--timeout", timeout, "--config", local_config], capsys)
    assert code == 1 and message in err, err
    if act != "nothing":
        assert browser.pages[-1].status_code == 400  # the browser is told too
    assert not any(r.path == "/oauth/token" for r in upstream.requests)  # no exchange


def test_a_taken_port_is_a_clear_error(local_config: str, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    monkeypatch.setattr("webbrowser.open", Browser().open)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = login_cli(["codex", "--port", str(taken.getsockname()[1]), "--config", local_config], capsys)
    assert code == 1 and "cannot listen on localhost" in err and "--no-browser" in err


def test_device_login_started_on_one_instance_is_polled_to_done_on_the_other(pair: tuple[str, str],
                                                                             upstream: FakeUpstream) -> None:
    a, b = pair
    answers: list[str] = []

    def call(method: str, url: str, **kw: Any) -> Any:
        resp = httpx.request(method, url, headers=MGMT, timeout=10, **kw)
        answers.append(resp.text)
        return resp

    started = call("POST", f"{a}/v0/management/oauth/codex/start", json={"flow": "device"})
    assert started.status_code == 201, started.text
    body = started.json()
    assert (body["flow"], body["url"], body["user_code"]) == ("device", upstream.url + "/codex/device",
                                                            upstream.device.user_codes[-1])
    assert call("GET", f"{b}/v0/management/oauth/{body['state']}").json()["status"] == "pending"
    assert upstream.device.polls == 1  # each status call asks the provider once
    upstream.device.approve(body["user_code"])
    done = call("GET", f"{b}/v0/management/oauth/{body['state']}").json()
    assert done["status"] == "done", done
    exchange = next(r for r in upstream.requests if r.path == "/oauth/token")
    assert exchange.body["redirect_uri"] == DEVICE_REDIRECT  # and the fake checked the PKCE verifier
    assert call("GET", f"{a}/v0/management/oauth/{body['state']}").json() == done
    listed = {c["id"]: c for c in call("GET", f"{a}/v0/management/credentials").json()["credentials"]}
    assert (listed[done["cred_id"]]["kind"], listed[done["cred_id"]]["state"]) == ("codex", "ok")
    assert call("POST", f"{a}/v0/management/oauth/complete", json={"state": body["state"], "code": "x"}
                ).status_code == 409
    assert call("POST", f"{a}/v0/management/oauth/claude/start", json={"flow": "device"}).status_code == 400
    assert call("POST", f"{a}/v0/management/oauth/codex/start", json={"flow": "fax"}).status_code == 400
    assert not any(s in text for text in answers for s in ("login-access", "login-refresh", "dev-"))


def test_a_denied_device_login_fails(pair: tuple[str, str], upstream: FakeUpstream) -> None:
    a, b = pair
    started = httpx.post(f"{a}/v0/management/oauth/codex/start", headers=MGMT, json={"flow": "device"},
                         timeout=10).json()
    upstream.device.deny(started["user_code"])
    failed = httpx.get(f"{b}/v0/management/oauth/{started['state']}", headers=MGMT, timeout=10).json()
    assert (failed["status"], failed["error"]) == ("failed", "access_denied")
    polls = upstream.device.polls
    assert httpx.get(f"{a}/v0/management/oauth/{started['state']}", headers=MGMT, timeout=10).json() == failed
    assert upstream.device.polls == polls  # a finished login asks the provider no more


def test_a_device_login_not_approved_in_15_minutes_expires(local_config: str, tmp_path: Path,
                                                          upstream: FakeUpstream) -> None:
    from core.executors import transport

    cfg = cfgmod.load(local_config).oauth

    async def run(store: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        http = transport.make_client()
        try:
            started = await login.start_device(store, http, "codex", cfg)
            assert (await login.poll(store, http, cfg, started["state"]))["status"] == "pending"
            later = time.time() + login.DEVICE_TIMEOUT_S + 1
            return await login.poll(store, http, cfg, started["state"], now=later), \
                await store.get("LOGIN", started["state"])
        finally:
            await http.aclose()

    expired, session = in_store(tmp_path, run)
    assert (expired["status"], expired["error"]) == ("failed", "expired")
    assert "device" not in session  # a finished session keeps no secret


def test_an_approved_device_code_is_redeemed_by_one_instance_only(local_config: str, tmp_path: Path,
                                                                   upstream: FakeUpstream) -> None:
    from core.executors import transport

    cfg = cfgmod.load(local_config).oauth

    async def run(store: Any) -> list[str]:
        http = transport.make_client()
        try:
            started = await login.start_device(store, http, "codex", cfg)
            upstream.device.approve(started["user_code"])
            # another instance got the approval first and is redeeming it: this one waits
            await store.put({"pk": "LOGIN", "sk": started["state"] + "#redeem", "ttl": time.time() + 60})
            seen = [(await login.poll(store, http, cfg, started["state"]))["status"]]
            await store.delete("LOGIN", started["state"] + "#redeem")  # that one crashed: its claim lapsed
            return [*seen, (await login.poll(store, http, cfg, started["state"]))["status"]]
        finally:
            await http.aclose()

    assert in_store(tmp_path, run) == ["pending", "done"]
    assert sum(r.path == "/oauth/token" for r in upstream.requests) == 1


@pytest.mark.parametrize("where", ["local", "remote"])
def test_cli_device_login_shows_the_code_and_polls_until_approved(pair: tuple[str, str], local_config: str,
                                                                  tmp_path: Path, upstream: FakeUpstream,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  where: str) -> None:
    upstream.device.interval = "0.2"
    known = set(upstream.device.user_codes)
    target = ["--remote", pair[1]] if where == "remote" else ["--config", local_config]
    result: list[tuple[int, str, str]] = []
    worker = threading.Thread(target=lambda: result.append(login_cli(["codex", "--device", "--timeout", "30",
                                                                      *target], capsys)))
    worker.start()
    deadline = time.monotonic() + 20
    while not set(upstream.device.user_codes) - known and time.monotonic() < deadline:
        time.sleep(0.05)
    (user_code,) = set(upstream.device.user_codes) - known
    time.sleep(0.5)  # a pending poll or two first
    upstream.device.approve(user_code)
    worker.join(30)
    code, out, err = result[0]
    assert code == 0, err
    assert f"enter the code {user_code}" in out and upstream.url + "/codex/device" in out
    assert upstream.device.polls >= 2
    cred = in_store(tmp_path, lambda s: records.get_credential(s, out.strip().splitlines()[-1].split()[-1]))
    assert (cred.kind, cred.email) == ("codex", "login@example.com")


def test_cli_device_login_that_is_denied_exits_1(local_config: str, upstream: FakeUpstream,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    upstream.device.interval = 0.1  # a number this time
    real_sleep = time.sleep

    def sleep_then_deny(seconds: float) -> None:  # the user refuses while the CLI waits
        upstream.device.deny()
        real_sleep(seconds)

    monkeypatch.setattr("handlers.login_cli.time", SimpleNamespace(sleep=sleep_then_deny, monotonic=time.monotonic))
    code, _, err = login_cli(["codex", "--device", "--timeout", "10", "--config", local_config], capsys)
    assert code == 1 and "the device login failed (access_denied)" in err
    assert login_cli(["claude", "--device", "--config", local_config], capsys)[0] == 1


def test_a_remote_device_login_outlasts_a_deployment_that_fails_for_a_moment(
        pair: tuple[str, str], local_config: str, tmp_path: Path, upstream: FakeUpstream,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Two status calls answered 502 (API Gateway while an instance starts): the CLI says so and keeps asking;
    the user's approval is not lost."""
    upstream.device.interval = "0.2"
    real = httpx.request
    failures = {"left": 2}

    def flaky(method: str, url: str, **kw: Any) -> httpx.Response:
        if method == "GET" and "/v0/management/oauth/" in url and failures["left"]:
            failures["left"] -= 1
            return httpx.Response(502, json={"message": "Internal server error"})
        return real(method, url, **kw)

    monkeypatch.setattr(httpx, "request", flaky)
    known = set(upstream.device.user_codes)
    result: list[tuple[int, str, str]] = []
    worker = threading.Thread(target=lambda: result.append(
        login_cli(["codex", "--device", "--timeout", "30", "--remote", pair[0]], capsys)))
    worker.start()
    deadline = time.monotonic() + 20
    while not set(upstream.device.user_codes) - known and time.monotonic() < deadline:
        time.sleep(0.05)
    upstream.device.approve()
    worker.join(30)
    code, _, err = result[0]
    assert code == 0, err
    assert err.count("502") == 2 and "asking again" in err and failures["left"] == 0


def test_a_remote_device_login_refused_by_the_deployment_stops_at_once(
        pair: tuple[str, str], local_config: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLIPROXY_MANAGEMENT_KEY", "mk-wrong")
    started = time.monotonic()
    code, _, err = login_cli(["codex", "--device", "--timeout", "30", "--remote", pair[0]], capsys)
    assert code == 1 and "401" in err and time.monotonic() - started < 10
