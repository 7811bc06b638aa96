"""``cliproxy auth login codex|claude [--no-browser | --device] [--remote URL]``: the flows of ``core.login``.

By default a loopback callback (``handlers.login_callback``) listens on the provider's port, the sign-in URL
is printed and opened in the browser, and the login finishes when the browser comes back. ``--no-browser``
prints the URL and reads the address the browser ended on (or Claude's ``code#state``) from stdin.
``--device`` (Codex) shows a user code and polls until it is approved. Locally the login goes to the
config's store; with ``--remote`` the deployment keeps the verifier and finishes the exchange (the loopback
callback still runs here: the browser comes back to this machine).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from core.config import Config


def add_arguments(auth: Any, common: argparse.ArgumentParser, config: Callable[[argparse.Namespace], Config]) -> None:
    sub = auth.add_parser("login", parents=[common], help="log an account in (OAuth in the browser, or --device)")
    sub.add_argument("provider", choices=("codex", "claude"))
    sub.add_argument("--no-browser", action="store_true",
                     help="no callback port: print the URL and paste back the address the browser ended on")
    sub.add_argument("--device", action="store_true", help="Codex: sign in with a code on any device")
    sub.add_argument("--port", type=int, metavar="N",
                     help="the loopback callback port (default: the provider's, Codex 1455, Claude 54545; 0: any)")
    sub.add_argument("--timeout", type=float, metavar="S",
                     help="give up after S seconds (default 300; --device 900)")
    sub.add_argument("--remote", metavar="URL", help="log in through a deployment (key: $CLIPROXY_MANAGEMENT_KEY)")
    sub.set_defaults(run=login_cmd, config_of=config)


def login_cmd(args: argparse.Namespace) -> int:
    from core import login
    from handlers import accounts_cli

    try:
        if args.device:
            cred_id = _device(args)
        elif args.no_browser:
            cred_id = _pasted(args)
        else:
            cred_id = _loopback(args)
    except (login.LoginError, accounts_cli.RemoteError, EOFError, OSError) as err:
        print(f"cliproxy: {getattr(err, 'message', None) or err or 'no input'}", file=sys.stderr)
        return 1
    print(f"logged in {cred_id}")
    return 0


def _pasted(args: argparse.Namespace) -> str:
    """Print the URL; the user pastes the address the browser ended on (or Claude's ``code#state``)."""
    from core import login

    started = _start(args, {})
    _show(started["url"], open_browser=False)
    code, state = login.parse_pasted(input("Paste the address your browser ended on (or the code): "))
    if state is not None and state != started["state"]:
        raise login.LoginError("that address belongs to another login (state differs)")
    return _complete(args, started["state"], code)


def _loopback(args: argparse.Namespace) -> str:
    """Listen on the provider's loopback port, open the browser there, and finish when it comes back."""
    from core import login
    from handlers.login_callback import Callback

    port = login.loopback_port(args.provider) if args.port is None else args.port
    try:
        callback = Callback(port, login.loopback_path(args.provider))
    except OSError as exc:
        raise login.LoginError(f"cannot listen on localhost:{port} ({exc.strerror or exc}); free it, pass "
                               "--port, or use --no-browser") from None
    with callback:
        started = _start(args, {"redirect_port": callback.port})
        callback.expect(started["state"])
        _show(started["url"], open_browser=True)
        print(f"Waiting for the browser on localhost:{callback.port} ...", flush=True)
        code = callback.wait(args.timeout or 300.0)
    return _complete(args, started["state"], code)


def _device(args: argparse.Namespace) -> str:
    """Codex's device flow: show the user code and where to type it, then poll until approved."""
    from core import login

    if args.provider != "codex":
        raise login.LoginError("--device is for codex only")
    started = _start(args, {"flow": "device"})
    print(f"Open {started['url']} and enter the code {started['user_code']}", flush=True)
    interval = float(started.get("interval") or login.DEVICE_INTERVAL_S)
    deadline = time.monotonic() + (args.timeout or login.DEVICE_TIMEOUT_S)
    while time.monotonic() < deadline:
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        status = _poll(args, started["state"])
        if status is None:
            continue
        if status["status"] == "done":
            return str(status["cred_id"])
        if status["status"] == "failed":
            raise login.LoginError(f"the device login failed ({status.get('error') or 'refused'})")
    raise login.LoginError("the code was not approved in time (run the login again)")


def _poll(args: argparse.Namespace, state: str) -> dict[str, Any] | None:
    """One status call; None when the deployment could not answer this time (network, 429, 5xx): the user
    may already have approved, so the wait goes on rather than losing the login."""
    from core import login

    if not args.remote:
        return dict(_run_local(args, lambda s, cfg, http: login.poll(s, http, cfg.oauth, state)))
    from handlers import accounts_cli

    try:
        return accounts_cli.remote_call(args.remote, "GET", f"/oauth/{state}")
    except accounts_cli.RemoteError as err:
        if not err.transient:
            raise
        print(f"{err}: asking again", file=sys.stderr, flush=True)
        return None


def _start(args: argparse.Namespace, options: dict[str, Any]) -> dict[str, Any]:
    """A new login, on the deployment (``--remote``) or in the local store; ``options`` as the management
    API's start takes them (``flow``, ``redirect_port``)."""
    from core import login

    if args.remote:
        from handlers import accounts_cli

        return accounts_cli.remote_call(args.remote, "POST", f"/oauth/{args.provider}/start", options or None)
    if options.get("flow") == "device":
        return dict(_run_local(args, lambda s, cfg, http: login.start_device(s, http, args.provider, cfg.oauth)))
    return dict(_run_local(args, lambda s, cfg, http: login.start(
        s, args.provider, cfg.oauth, redirect_port=options.get("redirect_port"))))


def _complete(args: argparse.Namespace, state: str, code: str) -> str:
    from core import login

    if args.remote:
        from handlers import accounts_cli

        done = accounts_cli.remote_call(args.remote, "POST", "/oauth/complete", {"state": state, "code": code})
        return str(done["id"])
    return str(_run_local(args, lambda s, cfg, http: login.complete(s, http, cfg.oauth, state, code)))


def _show(url: str, *, open_browser: bool) -> None:
    print(f"Sign in at:\n  {url}", flush=True)
    if open_browser:
        import webbrowser

        # False when no browser is at hand (a server, $BROWSER unset): the URL printed above still works
        if not webbrowser.open(url):
            print("(no browser found here: open the URL above on this machine)", flush=True)


def _run_local(args: argparse.Namespace, work: Any) -> Any:
    return asyncio.run(_local(args.config_of(args), work))


async def _local(cfg: Config, work: Any) -> Any:
    from core import store as stores
    from core.executors import transport

    store = stores.open_store(cfg.store)
    http = transport.make_client()
    try:
        return await work(store, cfg, http)
    finally:
        await http.aclose()
        await store.close()
