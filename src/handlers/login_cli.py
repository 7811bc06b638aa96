"""``cliproxy auth login codex|claude [--remote URL]``: the paste flow of ``core.login``.

Prints the provider's sign-in URL (opens it when a browser is at hand and ``--no-browser`` is not given),
then reads the address the browser ended on (or Claude's ``code#state``) from stdin. Locally the login
goes to the config's store; with ``--remote`` the deployment keeps the verifier and finishes the exchange.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from core.config import Config


def add_arguments(auth: Any, common: argparse.ArgumentParser, config: Callable[[argparse.Namespace], Config]) -> None:
    sub = auth.add_parser("login", parents=[common], help="log an account in (OAuth, paste the redirect URL)")
    sub.add_argument("provider", choices=("codex", "claude"))
    sub.add_argument("--no-browser", action="store_true", help="only print the URL")
    sub.add_argument("--remote", metavar="URL", help="log in through a deployment (key: $CLIPROXY_MANAGEMENT_KEY)")
    sub.set_defaults(run=login_cmd, config_of=config)


def login_cmd(args: argparse.Namespace) -> int:
    from core import login
    from handlers import accounts_cli

    try:
        if args.remote:
            started = accounts_cli.remote_call(args.remote, "POST", f"/oauth/{args.provider}/start")
        else:
            started = asyncio.run(_local(args.config_of(args), lambda s, cfg, http: login.start(
                s, args.provider, cfg.oauth)))
        _show(started["url"], args.no_browser)
        pasted = input("Paste the address your browser ended on (or the code): ").strip()
        code, state = login.parse_pasted(pasted)
        if state is not None and state != started["state"]:
            raise login.LoginError("that address belongs to another login (state differs)")
        if args.remote:
            done = accounts_cli.remote_call(args.remote, "POST", "/oauth/complete",
                                            {"state": started["state"], "code": code})
            cred_id = done["id"]
        else:
            cred_id = asyncio.run(_local(args.config_of(args), lambda s, cfg, http: login.complete(
                s, http, cfg.oauth, started["state"], code)))
    except (login.LoginError, accounts_cli.RemoteError, EOFError) as err:
        print(f"cliproxy: {getattr(err, 'message', None) or err or 'no input'}", file=sys.stderr)
        return 1
    print(f"logged in {cred_id}")
    return 0


def _show(url: str, no_browser: bool) -> None:
    print(f"Sign in at:\n  {url}")
    if not no_browser:
        import webbrowser

        webbrowser.open(url)


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
