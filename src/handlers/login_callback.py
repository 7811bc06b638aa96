"""The loopback callback of a local ``cliproxy auth login``: the provider sends the browser to
``http://localhost:PORT/...?code=...&state=...`` and this server catches it, so nothing has to be pasted.

A stdlib ``http.server`` in a thread, not the proxy's ASGI stack: the CLI is synchronous, it waits for one
request, and a thread keeps that wait a plain bounded ``Event.wait`` beside the CLI's own ``asyncio.run`` steps.

    with Callback(port) as callback:          # bound before the URL is built: the redirect names its port
        ... print / open the URL with callback.port in its redirect_uri ...
        code = callback.wait(state, timeout)  # LoginError on timeout, ``error=`` or a state that differs
"""

from __future__ import annotations

import html
import http.server
import threading
import urllib.parse
from typing import Any

from core.login import LoginError

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>cliproxy login</title></head>
<body style="font-family: sans-serif; margin: 3em"><h2>{title}</h2><p>{text}</p></body></html>"""


class Callback:
    """A loopback server for one OAuth redirect on ``path`` (any path when None)."""

    def __init__(self, port: int, path: str | None = None, host: str = "127.0.0.1") -> None:
        self._path = path
        self._done = threading.Event()
        self._outcome: str | LoginError = LoginError("the redirect carried nothing")  # the code, or why not
        self._state: str | None = None
        self._server = http.server.ThreadingHTTPServer((host, port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="login-callback", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> Callback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expect(self, state: str) -> None:
        """The login's ``state``: a redirect carrying another one is refused (and fails the wait)."""
        self._state = state

    def wait(self, timeout: float) -> str:
        """The authorization code the browser brought back, within ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise LoginError(f"no sign-in came back within {timeout:g} s (run the login again)")
        if isinstance(self._outcome, LoginError):
            raise self._outcome
        return self._outcome

    def _arrived(self, query: dict[str, str]) -> tuple[int, str, str]:
        """(status, title, text) for the browser; records the outcome the CLI waits for, judged here once."""
        if self._done.is_set():
            return 409, "Already answered", "This login already received its redirect; see the terminal."
        code, error = query.get("code"), query.get("error")
        page: tuple[int, str, str]
        if error:
            self._outcome = LoginError(f"the provider refused the sign-in ({error})")
            page = 400, "Sign-in failed", f"The provider answered: {query.get('error_description') or error}. " \
                "See the terminal."
        elif query.get("state") != self._state:
            self._outcome = LoginError("the redirect belongs to another login (state differs); run the login again")
            page = 400, "Sign-in refused", "This redirect belongs to another login (state differs)."
        elif not code:
            self._outcome = LoginError("the redirect carried no code")
            page = 400, "Sign-in failed", "The redirect carried no code."
        else:
            self._outcome = code
            page = 200, "Signed in", "cliproxy received the sign-in; you can close this tab."
        self._done.set()
        return page

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        callback = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                url = urllib.parse.urlsplit(self.path)
                if callback._path is not None and url.path != callback._path:
                    self._answer(404, "Not found", "This is cliproxy's login callback; nothing else lives here.")
                    return
                query = dict(urllib.parse.parse_qsl(url.query))
                self._answer(*callback._arrived(query))

            def _answer(self, status: int, title: str, text: str) -> None:
                body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
                self.send_response(status)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass  # the request line carries the code: never print it

        return Handler
