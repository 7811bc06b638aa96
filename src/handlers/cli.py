"""The ``cliproxy`` command: ``serve``, ``auth import|list|remove``, ``store init``.

Every subcommand takes ``--config FILE`` (default ``$CLIPROXY_CONFIG``, then ``./config.yaml``, else the
built-in defaults) and works on the store that config names. Problems the user can fix (config, credential
files, keys) print one line to stderr and exit 2; nothing here prints a token.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from core.config import Config
    from core.credentials import Credential
    from core.state import PoolState


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="cliproxy: %(message)s")
    from core import authfiles, crypto, readiness, usage
    from core.config import ConfigError

    try:
        return int(args.run(args))
    except readiness.NotReady as exc:
        for problem in exc.problems:
            print(f"cliproxy: {problem}", file=sys.stderr)
        return 2
    except (ConfigError, authfiles.AuthFileError, crypto.CryptoError, usage.UsageQueryError) as exc:
        print(f"cliproxy: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="config file (default: $CLIPROXY_CONFIG, then ./config.yaml)")
    common.add_argument("--store", choices=("sqlite", "dynamodb", "memory"), default=argparse.SUPPRESS,
                        help="store backend (overrides the config's store.backend)")
    common.add_argument("--table", metavar="NAME", default=argparse.SUPPRESS,
                        help="DynamoDB table, e.g. the stack's TableName output (overrides store.table)")
    common.add_argument("--region", default=argparse.SUPPRESS, help="AWS region (overrides store.region)")
    common.add_argument("--endpoint-url", default=argparse.SUPPRESS, help="DynamoDB endpoint (local DynamoDB)")
    top = argparse.ArgumentParser(prog="cliproxy", description="Pool coding-agent credentials behind one URL.")
    top.add_argument("--config", metavar="FILE", default=None, help=argparse.SUPPRESS)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="run the local server")
    serve.add_argument("--host", help="listen address (default: config host)")
    serve.add_argument("--port", type=int, help="listen port (default: config port, 8317)")
    serve.set_defaults(run=_serve)

    auth = commands.add_parser("auth", help="manage imported OAuth credentials").add_subparsers(
        dest="auth_command", required=True, metavar="ACTION")
    imp = auth.add_parser("import", parents=[common], help="import CLIProxyAPI / Codex CLI / Claude Code files")
    imp.add_argument("files", nargs="*", metavar="FILE")
    imp.add_argument("--detect", action="store_true",
                     help="also import the local logins found (~/.codex/auth.json, ~/.claude/.credentials.json, "
                          "~/.cli-proxy-api/*.json)")
    imp.set_defaults(run=_auth_import)
    remove = auth.add_parser("remove", parents=[common], help="remove a stored credential")
    remove.add_argument("id", metavar="ID")
    remove.set_defaults(run=_auth_remove)
    from handlers import accounts_cli  # list, reset, disable, enable, usage (local or --remote)

    accounts_cli.add_arguments(auth, commands, common, _config)
    from handlers import login_cli

    login_cli.add_arguments(auth, common, _config)

    store = commands.add_parser("store", help="state store tasks").add_subparsers(
        dest="store_command", required=True, metavar="ACTION")
    store.add_parser("init", parents=[common], help="create the SQLite schema or the DynamoDB table") \
        .set_defaults(run=_store_init)
    return top


def _config(args: argparse.Namespace) -> Config:
    """The config file's settings, with the store options given on the command line on top."""
    from dataclasses import replace

    from core import config

    cfg = config.load_or_defaults(args.config)
    overrides = {field: value for field, attr in (("backend", "store"), ("table", "table"), ("region", "region"),
                                                  ("endpoint_url", "endpoint_url"))
                 if (value := getattr(args, attr, None)) is not None}
    return replace(cfg, store=replace(cfg.store, **overrides)) if overrides else cfg


def _serve(args: argparse.Namespace) -> int:
    cfg = _config(args)
    from core import readiness
    from handlers import server

    asyncio.run(readiness.check(cfg))  # refuse before listening: NotReady ends in main() with exit 2
    if not cfg.credentials and not asyncio.run(_with_state(cfg, _count_stored)):
        _suggest_logins(args)

    server.run(cfg, host=args.host or cfg.host, port=args.port if args.port is not None else cfg.port)
    return 0


def _auth_import(args: argparse.Namespace) -> int:
    from core import authfiles

    if not args.files and not args.detect:
        print("cliproxy: auth import: name FILE(s), or --detect to import the local logins", file=sys.stderr)
        return 2
    creds = [authfiles.parse_file(path) for path in args.files]  # all files parse before anything is written
    if args.detect:
        creds += _detected()
        if not creds:
            from core import local_logins

            print(f"no local logins found (looked for {', '.join(local_logins.PLACES)})")
            return 1
    return asyncio.run(_with_state(_config(args), lambda state: _save_all(state, creds)))


def _detected() -> list[Credential]:
    """The importable local logins; each one found is named, with why when it is left out."""
    from core import local_logins

    found = local_logins.detect()
    for login in found:
        print(("found " if login.credential else "skipped ") + local_logins.describe(login))
    return [login.credential for login in found if login.credential]


async def _save_all(state: PoolState, creds: list[Credential]) -> int:
    for cred in creds:
        existing = await state.stored_credential(cred.id)
        saved = await state.save_credential(cred, expected_version=existing.version if existing else 0)
        if saved is None:
            print(f"cliproxy: {cred.id}: changed while importing; run the import again", file=sys.stderr)
            return 1
        print(f"{'updated' if existing else 'imported'} {cred.id} ({_describe(cred)})")
    return 0


async def _count_stored(state: PoolState) -> int:
    return len(await state.stored_credentials())


def _suggest_logins(args: argparse.Namespace) -> None:
    """First run with no credentials: the local logins that one command would import."""
    from core import local_logins

    found = [login for login in local_logins.detect() if login.credential]
    if not found:
        return
    config = f" --config {args.config}" if getattr(args, "config", None) else ""
    print("no upstream credentials yet; local logins found:\n"
          + "".join(f"  {local_logins.describe(login)}\n" for login in found)
          + f"import them with: cliproxy auth import --detect{config}", flush=True)


def _auth_remove(args: argparse.Namespace) -> int:
    async def remove(state: PoolState) -> int:
        if not await state.delete_credential(args.id):
            print(f"cliproxy: no stored credential {args.id!r} (see: cliproxy auth list)", file=sys.stderr)
            return 1
        print(f"removed {args.id}")
        return 0

    return asyncio.run(_with_state(_config(args), remove))


def _store_init(args: argparse.Namespace) -> int:
    cfg = _config(args)

    async def init(state: PoolState) -> int:
        created = await state.store.init()
        if cfg.store.backend == "dynamodb":
            made = "created" if created else "already exists"
            where = f" at {cfg.store.endpoint_url}" if cfg.store.endpoint_url else f" in {cfg.store.region}"
            print(f"dynamodb table {cfg.store.table}{where}: {made}")
        elif cfg.store.backend == "sqlite":
            print(f"sqlite store ready at {cfg.store.path}")
        else:
            print("memory store: nothing to create (state is lost when the process exits)")
        return 0

    return asyncio.run(_with_state(cfg, init))


async def _with_state(cfg: Config, work: Callable[[PoolState], Awaitable[int]]) -> int:
    from core import store as stores
    from core.state import PoolState

    store = stores.open_store(cfg.store)
    try:
        return await work(PoolState(cfg, store))
    finally:
        await store.close()


def _describe(cred: Credential) -> str:
    who = cred.email or cred.account_id or "unknown account"
    return f"{cred.kind}, {who}, expires {_expiry(cred.expires_at)}"


def _expiry(at: float | None) -> str:
    if at is None:
        return "unknown"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    left = at - time.time()
    if left <= 0:
        return f"{when} (expired; refreshed on use)"
    return f"{when} (in {left / 86400:.1f}d)" if left >= 86400 else f"{when} (in {left / 3600:.1f}h)"


if __name__ == "__main__":
    sys.exit(main())
