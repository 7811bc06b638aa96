"""``cliproxy auth list|reset|disable|enable`` and ``cliproxy usage``: on the local store, or with
``--remote URL`` against a deployment's management API (key from ``$CLIPROXY_MANAGEMENT_KEY``).

Both ways answer with the same shapes (``core.accounts`` views, ``core.usage`` rows), so the printing is
shared. Nothing printed carries a token or a key.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from core.config import Config

KEY_ENV = "CLIPROXY_MANAGEMENT_KEY"


class RemoteError(Exception):
    """The management API refused or could not be reached; the message is safe to print. ``transient``: the
    deployment could not be reached or answered 429 / 5xx, so the same call may work a moment later."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class _Refused(Exception):
    """Already reported on stderr: the command exits 1."""


def _exits_1_when_refused(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _Refused:
            return 1

    return run


def add_arguments(auth: Any, commands: Any, common: argparse.ArgumentParser,
                  config: Callable[[argparse.Namespace], Config]) -> None:
    """Register the subcommands on ``cliproxy auth`` (``auth``) and the top level (``commands``); ``config``
    reads the config the command line names."""
    import argparse

    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--remote", metavar="URL", help=f"a deployment's URL (management key from ${KEY_ENV})")
    auth.add_parser("list", parents=[common, remote], help="list credentials with state and cooldowns") \
        .set_defaults(run=list_cmd, config_of=config)
    for name, what in (("reset", "clear a credential's cooldowns"), ("disable", "take a credential out of the pool"),
                       ("enable", "put a disabled credential back")):
        sub = auth.add_parser(name, parents=[common, remote], help=what)
        sub.add_argument("id", metavar="ID")
        sub.set_defaults(run=change_cmd, action=name, config_of=config)
    use = commands.add_parser("usage", parents=[common, remote], help="requests and tokens per day")
    use.add_argument("--days", type=int, default=7, help="the last N days, today included (default 7)")
    use.add_argument("--by", choices=("credential", "model", "client-key"), default="credential")
    use.add_argument("--json", action="store_true", help="print the report as JSON")
    use.set_defaults(run=usage_cmd, config_of=config)


@_exits_1_when_refused
def list_cmd(args: argparse.Namespace) -> int:
    views = _run(args, _local_list, "GET", "/credentials")["credentials"]
    if not views:
        print("no stored credentials (add some with: cliproxy auth import FILE)")
        return 0
    rows = [("ID", "KIND", "ACCOUNT", "STATE", "EXPIRES")]
    rows += [(v["id"], v["kind"], v["label"], _state(v), v["expires_at"] or "-") for v in views]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row, view in zip(rows, [None, *views], strict=True):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
        for cool in (view or {}).get("cooldowns", []):
            print(f"    cooling {cool['model']} until {cool['until']} ({cool['reason']})")
        if view and view.get("last_error"):
            err = view["last_error"]
            print(f"    last error {err['status']} {err['type']} at {err['at']}")
    if not any(v["source"] == "store" for v in views):
        print("no stored credentials (add some with: cliproxy auth import FILE)")
    return 0


@_exits_1_when_refused
def change_cmd(args: argparse.Namespace) -> int:
    if args.action == "reset":
        answer = _run(args, _local_reset, "POST", f"/credentials/{args.id}/reset-cooldowns")
        print(f"{args.id}: {answer['cleared']} cooldown(s) cleared")
    else:
        body = {"disabled": args.action == "disable"}
        _run(args, _local_patch, "PATCH", f"/credentials/{args.id}", body)
        print(f"{args.id}: {args.action}d")
    return 0


@_exits_1_when_refused
def usage_cmd(args: argparse.Namespace) -> int:
    from core import usage

    days = usage.day_range(None, None, days=max(1, args.days))
    report = _run(args, _local_usage, "GET", "/usage", params={"from": days[0], "to": days[-1], "by": args.by})
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return 0
    head = ("DAY", args.by.upper(), "REQUESTS", "INPUT", "OUTPUT", "CACHED", "REASONING", "ERRORS")
    fields = ("requests", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "errors")
    rows = [head] + [(r["day"], r["key"], *(str(r[f]) for f in fields)) for r in report["rows"]]
    rows.append(("total", "", *(str(report["totals"][f]) for f in fields)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths,
                                                                                                    strict=True))))
    return 0


# --- local: the store the config names --------------------------------------------------------------


async def _local_list(cfg: Config, args: argparse.Namespace) -> dict[str, Any]:
    from core import accounts

    return {"credentials": await _with_store(cfg, lambda s: accounts.listing(s, cfg.credentials))}


async def _local_reset(cfg: Config, args: argparse.Namespace) -> dict[str, Any]:
    from core import accounts

    return {"cleared": await _with_store(cfg, lambda s: accounts.reset_cooldowns(s, args.id, cfg.credentials))}


async def _local_patch(cfg: Config, args: argparse.Namespace) -> dict[str, Any]:
    from core import accounts

    if any(c.id == args.id for c in cfg.credentials):
        raise accounts.AccountError(f"credential {args.id} is defined in the config file; change it there", 409)
    await _with_store(cfg, lambda s: accounts.update(s, args.id, disabled=args.action == "disable"))
    return {"status": "updated"}


async def _local_usage(cfg: Config, args: argparse.Namespace) -> dict[str, Any]:
    from core import usage

    days = usage.day_range(None, None, days=max(1, args.days))
    rows = await _with_store(cfg, lambda s: usage.report(s, days, args.by))
    return {"from": days[0], "to": days[-1], "by": args.by, "rows": [r.as_dict() for r in rows],
            "totals": usage.totals(rows)}


async def _with_store(cfg: Config, work: Any) -> Any:
    from core import store as stores

    store = stores.open_store(cfg.store)
    try:
        return await work(store)
    finally:
        await store.close()


# --- remote: the management API ----------------------------------------------------------------------


def _run(args: argparse.Namespace, local: Any, method: str, path: str, body: Any = None,
         params: dict[str, str] | None = None) -> dict[str, Any]:
    """The answer, from the local store or the remote management API; exits 1 with a message on refusal."""
    from core import accounts

    try:
        if getattr(args, "remote", None):
            return remote_call(args.remote, method, path, body, params)
        result: dict[str, Any] = asyncio.run(local(args.config_of(args), args))
        return result
    except (RemoteError, accounts.AccountError) as err:
        print(f"cliproxy: {getattr(err, 'message', err)}", file=sys.stderr)
        raise _Refused from None


def remote_call(url: str, method: str, path: str, body: Any = None,
                params: dict[str, str] | None = None) -> dict[str, Any]:
    import httpx

    key = os.environ.get(KEY_ENV)
    if not key:
        raise RemoteError(f"set ${KEY_ENV} to a management key of {url}")
    try:
        resp = httpx.request(method, url.rstrip("/") + "/v0/management" + path, json=body, params=params,
                             headers={"authorization": f"Bearer {key}"}, timeout=30)
    except httpx.HTTPError as exc:
        raise RemoteError(f"{url}: {type(exc).__name__}", transient=True) from None
    try:
        answer = resp.json()
    except ValueError:
        answer = None
    if resp.status_code >= 400 or not isinstance(answer, dict):
        message = answer.get("error") if isinstance(answer, dict) else None
        raise RemoteError(f"{url}: {resp.status_code} {message or 'unexpected answer'}",
                          transient=resp.status_code == 429 or resp.status_code >= 500)
    return answer


def _state(view: dict[str, Any]) -> str:
    return f"needs-login ({view['needs_login']})" if view["state"] == "needs-login" else view["state"]
