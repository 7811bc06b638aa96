"""Process-wide objects built once, lazily: config, the store, the shared upstream client, pool state.

Built on the first request rather than at import, so `import handlers.api` stays cheap on a cold start;
rebuilt if the event loop changes (the buffered Lambda handler may run each event on a new loop). On Lambda a
warm instance asks for the upstream keys secret again every minute (``handlers.secrets`` caches it 5 minutes)
and rebuilds the pool from the new keys when it changed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from handlers.on_lambda import on_lambda

T = TypeVar("T")

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Coroutine
    from concurrent.futures import Future

    from core.call import Deps, Outcome
    from core.config import Config

log = logging.getLogger("cliproxy")
SECRETS_CHECK_S = 60.0  # how often a warm instance asks the (5-minute cached) upstream keys secret again


@dataclass
class Runtime:
    config: Config
    clock: Callable[[], float] = time.time  # tests move time forward through cooldowns
    _deps: Deps | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _lock: asyncio.Lock | None = None
    _secrets_checked: float = 0.0

    async def deps(self) -> Deps:
        loop = asyncio.get_running_loop()
        if self._deps is None or self._loop is not loop:
            if self._lock is None or self._loop is not loop:
                self._lock, self._loop, self._deps = asyncio.Lock(), loop, None
            async with self._lock:
                if self._deps is None:
                    self._deps = await _build(self.config, self.clock)
            self._secrets_checked = self._secrets_checked or self.clock()  # init has just read them
        if self.clock() - self._secrets_checked >= SECRETS_CHECK_S and on_lambda():
            await self._reload_upstream_keys()
        return self._deps

    async def _reload_upstream_keys(self) -> None:
        """On Lambda: a changed upstream keys secret becomes the config's credentials, without a cold start
        (the store and the upstream client stay; only the pool state is rebuilt from the new config)."""
        from dataclasses import replace

        from core.state import PoolState
        from handlers import lambda_config

        self._secrets_checked = self.clock()
        try:
            if not await asyncio.to_thread(lambda_config.upstream_changed):
                return
            config = await asyncio.to_thread(lambda_config.load_config)
        except Exception as exc:  # noqa: BLE001 - keep serving with the keys we have; say which kind failed
            log.error("upstream keys secret not reloaded: %s", type(exc).__name__)
            return
        self.config = replace(config, api_keys=self.config.api_keys, clients=self.config.clients)
        deps = self._deps
        if deps is not None:
            self._deps = replace(deps, config=self.config,
                                 state=PoolState(self.config, deps.state.store, clock=self.clock))
        log.info("upstream keys reloaded from their secret: %d credentials", len(self.config.credentials))

    async def refresh_model_lists(self) -> dict[str, int]:
        """Renew the upstreams' model lists in the store where stale (core.model_lists); served from the next
        snapshot on. Returns what was renewed ({provider: model count})."""
        from core import model_lists

        deps = await self.deps()
        snap = await deps.state.snapshot()
        renewed = await model_lists.refresh(deps.state.store, snap.credentials, deps.http)
        if renewed:
            deps.state.forget_model_lists()
        return renewed

    async def close(self) -> None:
        deps, self._deps = self._deps, None
        if deps is not None:
            await deps.http.aclose()
            await deps.state.store.close()


async def _build(config: Config, clock: Callable[[], float]) -> Deps:
    from core import store as stores
    from core.call import Deps
    from core.executors import transport
    from core.state import PoolState

    store = stores.open_store(config.store)
    if config.store.backend != "dynamodb":  # the stack creates the table; a local store is made here
        await store.init()
    observe = _observer()
    # a Lambda instance answers one request at a time: the upstream client that is cheaper to load
    http = transport.make_client(concurrent=not on_lambda(), verify=_preloaded_tls())
    return Deps(config=config, http=http, state=PoolState(config, store, clock=clock),
                clock=clock, observe=observe)


_tls: Future[ssl.SSLContext] | None = None


def preload_tls() -> None:
    """Begin making the upstream client's TLS context in a thread (``handlers.lambda_server``, at process
    start): its CA bundle loads outside the GIL, on another core while the app loads."""
    global _tls
    from concurrent.futures import ThreadPoolExecutor

    from core.executors import transport

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tls")
    _tls = pool.submit(transport.tls_context)
    pool.shutdown(wait=False)  # its thread ends after this one task


def _preloaded_tls() -> ssl.SSLContext | bool:
    try:
        return _tls.result() if _tls is not None else True
    except Exception:  # noqa: BLE001 - make_client makes it again and reports what fails
        return True


def _observer() -> Callable[[Outcome], None]:
    if not on_lambda():
        return lambda outcome: None
    from handlers import telemetry

    return telemetry.observe


def keys_secret() -> str | None:
    """On Lambda, the client-keys secret the keys came from (re-read for rotation); None elsewhere."""
    if not on_lambda():
        return None
    from handlers import lambda_config

    return lambda_config.keys_secret()


def load_config(path: str | None = None) -> Config:
    """The config named by ``path``, ``$CLIPROXY_CONFIG`` or ``./config.yaml``; built-in defaults otherwise."""
    from core import config as cfgmod

    if on_lambda():
        from handlers import lambda_config

        lambda_config.export_secrets()  # client keys and the encryption key from the stack's secrets
        return lambda_config.load_config(path)
    return cfgmod.load_or_defaults(path)


def checked_config(path: str | None = None) -> Config:
    """``load_config`` refused unless the proxy can serve with it (readiness), for the module-level app that
    Lambda and ``uvicorn handlers.api:app`` import: init fails with one ``file: key: what is wrong`` line
    per mistake in the log instead of every request failing later."""
    from core import readiness

    config = load_config(path)
    try:
        run_sync(readiness.check(config))
    except readiness.NotReady as exc:
        for problem in exc.problems:
            print(f"cliproxy: {problem}", file=sys.stderr, flush=True)
        raise
    return config


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, also when an event loop is running in this thread (uvicorn
    imports the app from inside its loop): then on a loop of its own in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
