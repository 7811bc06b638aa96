"""A fake of the four upstreams and their OAuth token endpoints, on a real loopback HTTP server.

    with FakeUpstream() as fake:
        fake.fail(status=429, times=1, retry_after=2, when_token="sk-a")    # next request with key sk-a
        ... point credentials at fake.url (Codex: fake.codex_base_url, compat: fake.openai_base_url) ...
        path, headers, body, query = fake.requests[-1]

Routes: ``/backend-api/codex/responses`` (any path ending ``/responses``), ``/v1/messages`` and
``/v1/messages/count_tokens``, ``/v1beta/models/{model}:{method}`` (also ``/v1/models/...``), any path ending
``/chat/completions``, model lists (any path ending ``/models``: tests/fakes/models.py), ``/oauth/token`` (Codex,
form) and ``/v1/oauth/token`` (Claude, JSON), ``/oauth/authorize`` (login: redirects at once with a code bound to
the PKCE challenge and the redirect_uri) and Codex's device login (``fake.device``: tests/fakes/oauth.py).
Failures target requests whose ``authorization`` Bearer, ``x-api-key``, ``x-goog-api-key`` or ``?key=``
carries ``when_token`` (any request when None) and, when given, whose path contains ``path``.
Run ``python -m tests.fakes [PORT]`` to serve it from its own process (prints its URL; no recording).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, urlencode

import orjson
from tests.fakes import claude, codex, gemini, models, openai_chat
from tests.fakes.oauth import DeviceLogins
from tests.fakes.reply import Reply
from tests.fakes.server import HttpRequest, Responder, ThreadedServer

Action = Literal["fail", "drop", "error_event", "delay"]
_FORMATS = {"codex": codex, "claude": claude, "gemini": gemini, "openai": openai_chat}


class Recorded(NamedTuple):
    path: str
    headers: dict[str, str]  # names lower-case
    body: Any  # parsed JSON (or form fields for the Codex token endpoint)
    query: dict[str, str]


@dataclass(slots=True)
class _Rule:
    action: Action
    times: int | None  # None: until reset
    token: str | None
    path: str | None
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    per_event: float = 0.0
    body: Any = None
    code: str | None = None
    headers: dict[str, str] | None = None

    def matches(self, path: str, secret: str | None) -> bool:
        return (self.token is None or self.token == secret) and (self.path is None or self.path in path)


class FakeUpstream:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, record: bool = True) -> None:
        self._server = ThreadedServer(self._handle, host=host, port=port, on_abort=self._count_abort)
        self._host = host
        self._record = record  # the benchmark turns recording off
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._serial = itertools.count(1)
        self.requests: list[Recorded] = []
        self.refresh_uses: Counter[str] = Counter()  # refresh token -> times presented
        self.aborted_streams = 0  # streams the client hung up on mid-way
        self.codes: dict[str, tuple[str, str]] = {}  # authorization code -> (PKCE challenge, redirect_uri)
        self.device = DeviceLogins(self._issue_code)  # Codex's device login: approve() / deny() a user code

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeUpstream:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.port}"

    @property
    def codex_base_url(self) -> str:
        return self.url + "/backend-api/codex"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    def reset(self) -> None:
        """Forget recorded requests, pending failures, refresh-token history and abort counts."""
        with self._lock:
            self.requests.clear()
            self._rules.clear()
            self.refresh_uses.clear()
            self.aborted_streams = 0
        self.device.reset()

    # --- injected behaviour ----------------------------------------------------------------------

    def fail(self, status: int = 500, *, times: int | None = 1, retry_after: float | None = None,
             when_token: str | None = None, path: str | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> None:
        """Answer ``status`` with the format's error body (or ``body``), ``Retry-After`` and its body hints
        when ``retry_after`` is given, and any other ``headers`` (e.g. Anthropic's rate-limit resets)."""
        self._add(_Rule("fail", times, when_token, path, status=status, retry_after=retry_after, body=body,
                        headers=headers))

    def drop_before_first_byte(self, *, times: int | None = 1, when_token: str | None = None,
                               path: str | None = None) -> None:
        self._add(_Rule("drop", times, when_token, path))

    def error_event_in_200(self, *, times: int | None = 1, when_token: str | None = None, path: str | None = None,
                           code: str | None = None, error: dict[str, Any] | None = None,
                           headers: dict[str, str] | None = None) -> None:
        """A 200 whose stream fails before any output (Codex ``response.failed``, Claude ``error``, ...): an
        error object with ``code``, or ``error`` itself (to carry reset hints); ``headers`` on the 200."""
        self._add(_Rule("error_event", times, when_token, path, code=code, body=error, headers=headers))

    def delay(self, seconds: float, *, per_event: float = 0.0, times: int | None = None,
              when_token: str | None = None, path: str | None = None) -> None:
        """Wait ``seconds`` before answering, and ``per_event`` between SSE frames."""
        self._add(_Rule("delay", times, when_token, path, seconds=seconds, per_event=per_event))

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _take(self, path: str, secret: str | None) -> tuple[_Rule | None, _Rule | None]:
        """The first matching delay and the first matching failure, each use counted."""
        found: dict[bool, _Rule] = {}
        with self._lock:
            for rule in list(self._rules):
                is_delay = rule.action == "delay"
                if is_delay in found or not rule.matches(path, secret):
                    continue
                found[is_delay] = rule
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
        return found.get(True), found.get(False)

    def _count_abort(self) -> None:
        with self._lock:
            self.aborted_streams += 1

    # --- serving ---------------------------------------------------------------------------------

    async def _handle(self, req: HttpRequest, out: Responder) -> None:
        body = _parse_body(req)
        if self._record:
            with self._lock:
                self.requests.append(Recorded(req.path, req.headers, body, req.query))
        fmt, route = _route(req.path)
        delay, failure = self._take(req.path, _secret(req))
        if delay is not None and delay.seconds:
            await asyncio.sleep(delay.seconds)
        if failure is not None:
            await _fail(failure, fmt or "openai", body, out)
            return
        if route == "models":
            reply = models.listing(req.path, req.headers)
        else:
            reply = self._reply(fmt, route, body if isinstance(body, dict) else {}, req.query)
        await _write(reply, out, delay.per_event if delay else 0.0)

    def _reply(self, fmt: str | None, route: str, body: dict[str, Any], query: dict[str, str]) -> Reply:
        if route == "authorize":
            return self._authorize(query)
        if route == "device-usercode":
            return self.device.usercode(body)
        if route == "device-token":
            return self.device.token(body)
        if route in ("codex-token", "claude-token") and body.get("grant_type") == "authorization_code":
            return self._exchange(body, claude=route == "claude-token")
        if route == "codex-token":
            return self._token(body, claude=False)
        if route == "claude-token":
            return self._token(body, claude=True)
        if fmt == "codex":
            return codex.compact(body) if route == "compact" else codex.reply(body)
        if fmt == "claude":
            return claude.count_tokens(body) if route == "count" else claude.reply(body)
        if fmt == "gemini":
            model, _, method = route.partition(":")
            return gemini.reply(model, method, body, sse=query.get("alt") == "sse")
        if fmt == "openai":
            return openai_chat.reply(body)
        return Reply(404, {"error": {"message": f"fake upstream has no route {route}", "type": "not_found"}})

    def _authorize(self, query: dict[str, str]) -> Reply:
        """The user approved at once: back to ``redirect_uri`` with a one-time code bound to the challenge."""
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return Reply(400, {"error": "invalid_request", "error_description": "PKCE S256 required"})
        code = self._issue_code(query["code_challenge"], query.get("redirect_uri", ""))
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return Reply(302, {}, headers={"location": target})

    def _issue_code(self, challenge: str, redirect_uri: str) -> str:
        code = f"fake-code-{next(self._serial)}"
        with self._lock:
            self.codes[code] = (challenge, redirect_uri)
        return code

    def _exchange(self, body: dict[str, Any], *, claude: bool) -> Reply:
        """authorization_code grant: the code once, and only with the verifier whose S256 is its challenge and
        the redirect_uri the code was issued for."""
        with self._lock:
            challenge, redirect = self.codes.pop(str(body.get("code")), (None, None))
        verifier = str(body.get("code_verifier") or "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge is None or digest != challenge or body.get("redirect_uri") != redirect:
            return Reply(400, {"error": "invalid_grant", "error_description": "bad code or code_verifier"})
        serial = next(self._serial)
        grant = {"access_token": f"login-access-{serial}", "refresh_token": f"login-refresh-{serial}",
                 "token_type": "Bearer", "expires_in": 3600}
        if claude:
            grant["account"] = {"uuid": "acct-login", "email_address": "login@example.com"}
        else:
            grant["id_token"] = fake_id_token("login@example.com", "acct-login", "plus")
        return Reply(json=grant)

    def _token(self, body: dict[str, Any], *, claude: bool) -> Reply:
        """Rotating refresh tokens: each works once; a second use is ``invalid_grant``."""
        token = body.get("refresh_token")
        if body.get("grant_type") != "refresh_token" or not isinstance(token, str):
            return Reply(400, {"error": "invalid_request", "error_description": "refresh_token grant expected"})
        with self._lock:
            self.refresh_uses[token] += 1
            reused = self.refresh_uses[token] > 1
            serial = next(self._serial)
        if reused:
            return Reply(400, {"error": "invalid_grant", "error_description": "refresh token already used"})
        grant = {"access_token": f"fake-access-{serial}", "refresh_token": f"fake-refresh-{serial}",
                 "token_type": "Bearer", "expires_in": 3600}
        if claude:
            grant |= {"account": {"uuid": "acct-fake", "email_address": "claude@example.com"},
                      "organization": {"uuid": "org-fake", "name": "Fake Org"}}
        else:
            grant["id_token"] = fake_id_token("codex@example.com", "acct-fake", "pro")
        return Reply(json=grant)


def fake_id_token(email: str, account_id: str, plan: str) -> str:
    """An unsigned JWT with the ChatGPT claims the Codex refresh reads."""
    claims = {"email": email, "https://api.openai.com/auth": {"chatgpt_account_id": account_id,
                                                               "chatgpt_plan_type": plan}}
    segments = [{"alg": "none", "typ": "JWT"}, claims]
    return ".".join(base64.urlsafe_b64encode(orjson.dumps(s)).rstrip(b"=").decode() for s in segments) + ".sig"


def _route(path: str) -> tuple[str | None, str]:
    """(wire format or None, route): the format picks error bodies, the route picks the answer."""
    if path == "/oauth/authorize":
        return None, "authorize"
    if path == "/oauth/token":
        return None, "codex-token"
    if path == "/v1/oauth/token":
        return None, "claude-token"
    if path == "/api/accounts/deviceauth/usercode":
        return None, "device-usercode"
    if path == "/api/accounts/deviceauth/token":
        return None, "device-token"
    if path.endswith("/responses"):
        return "codex", "responses"
    if path.endswith("/responses/compact"):
        return "codex", "compact"
    if path.endswith("/v1/messages/count_tokens"):
        return "claude", "count"
    if path.endswith("/v1/messages"):
        return "claude", "messages"
    if "/models/" in path and ":" in path:
        return "gemini", path.rsplit("/models/", 1)[1]
    if path.endswith("/chat/completions"):
        return "openai", "chat"
    if path.endswith("/models"):
        return None, "models"
    return None, path


async def _fail(rule: _Rule, fmt: str, body: Any, out: Responder) -> None:
    module = _FORMATS[fmt]
    if rule.action == "drop":
        out.drop()
    elif rule.action == "error_event":
        frames = module.error_event(body if isinstance(body, dict) else {}, rule.code, rule.body)
        await out.sse(frames, headers=rule.headers)
    else:
        headers = {"retry-after": f"{rule.retry_after:g}"} if rule.retry_after is not None else {}
        headers.update(rule.headers or {})
        payload = rule.body if rule.body is not None else module.failure(rule.status, rule.retry_after)
        await out.json(rule.status, payload, headers)


async def _write(reply: Reply, out: Responder, gap: float) -> None:
    if reply.frames is not None:
        await out.sse(reply.frames, gap=gap, headers=reply.headers)
    else:
        await out.json(reply.status, reply.json, reply.headers)


def _parse_body(req: HttpRequest) -> Any:
    if req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(req.body.decode()))
    try:
        return orjson.loads(req.body) if req.body else None
    except orjson.JSONDecodeError:
        return None


def _secret(req: HttpRequest) -> str | None:
    auth = req.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:]
    return req.headers.get("x-api-key") or req.headers.get("x-goog-api-key") or req.query.get("key")


def main() -> None:
    import sys
    import time

    fake = FakeUpstream(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0, record=False).start()
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
