"""The fake's Codex device-code login (``/api/accounts/deviceauth/usercode`` and ``.../token``), as Codex CLI
meets it: a user code is issued; the token endpoint answers 403 until the test approves the code (``approve``),
then hands back an authorization code with its PKCE verifier and challenge, which the ordinary ``/oauth/token``
exchange redeems once, with the verifier and the device redirect ``DEVICE_REDIRECT``. ``deny`` makes the poll
fail instead.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
import threading
from collections.abc import Callable
from typing import Any

from tests.fakes.reply import Reply

DEVICE_REDIRECT = "https://auth.openai.com/deviceauth/callback"
CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"


class DeviceLogins:
    def __init__(self, issue_code: Callable[[str, str], str]) -> None:
        self._issue_code = issue_code  # (challenge, redirect_uri) -> a one-time authorization code
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._logins: dict[str, dict[str, Any]] = {}  # device_auth_id -> {user_code, state, grant}
        self.interval: Any = "1"  # as the provider sends it: a string of seconds
        self.polls = 0

    def reset(self) -> None:
        with self._lock:
            self._logins.clear()
            self.interval, self.polls = "1", 0

    @property
    def user_codes(self) -> list[str]:
        with self._lock:
            return [login["user_code"] for login in self._logins.values()]

    def approve(self, user_code: str | None = None) -> None:
        """The user typed ``user_code`` (the latest one when None) and approved."""
        verifier = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        code = self._issue_code(challenge, DEVICE_REDIRECT)
        self._find(user_code).update(state="approved", grant={
            "authorization_code": code, "code_verifier": verifier, "code_challenge": challenge})

    def deny(self, user_code: str | None = None) -> None:
        self._find(user_code)["state"] = "denied"

    def usercode(self, body: dict[str, Any]) -> Reply:
        if body.get("client_id") != CODEX_CLIENT_ID:
            return Reply(400, {"error": "invalid_client"})
        serial = next(self._serial)
        device_id, user_code = f"dev-{serial}-{secrets.token_hex(4)}", f"FAKE-{serial:04d}"
        with self._lock:
            self._logins[device_id] = {"user_code": user_code, "state": "pending"}
        return Reply(json={"device_auth_id": device_id, "user_code": user_code, "interval": self.interval})

    def token(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.polls += 1
            login = self._logins.get(str(body.get("device_auth_id")))
        if login is None or login["user_code"] != body.get("user_code"):
            return Reply(404, {"error": "unknown_device_auth"})
        if login["state"] == "pending":
            return Reply(403, {"error": "authorization_pending"})
        if login["state"] == "denied":
            return Reply(400, {"error": "access_denied"})
        return Reply(json=login["grant"])

    def _find(self, user_code: str | None) -> dict[str, Any]:
        with self._lock:
            logins = [v for v in self._logins.values() if user_code in (None, v["user_code"])]
        assert logins, f"no device login with user code {user_code}"
        return logins[-1]
