"""The HTTP surface: thin routes that build a ClientCall and hand it to ``core.service``.

``app`` serves uvicorn (locally and under the Lambda Web Adapter); ``handler`` is the buffered Mangum
entry point for API Gateway and ``sam local``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse

from core import dialects, errors, service
from core.call import ClientCall, Reply
from handlers import clientkeys, runtime, telemetry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from starlette.requests import Request

    from core.config import Config

log = logging.getLogger("cliproxy.api")


def create_app(config: Config | None = None, *, refresh_model_lists: bool = False) -> Starlette:
    """The app; ``refresh_model_lists``: a local server renews the upstreams' model lists in the background
    (on Lambda the scheduled refresher does, since an instance only runs while it answers)."""
    rt = runtime.Runtime(config or runtime.load_config())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await telemetry.warm_up(rt)  # on Lambda: during init, which gets a full vCPU, not in the first request
        renewing = asyncio.create_task(_renew_model_lists(rt)) if refresh_model_lists else None
        yield
        if renewing is not None:
            renewing.cancel()
        await rt.close()

    app = Starlette(lifespan=lifespan)
    app.add_middleware(telemetry.RequestIds)  # the request's ids on its logs and metrics
    app.state.runtime = rt
    keys = clientkeys.ClientKeys(rt.config, runtime.keys_secret())
    if not keys.current():
        log.warning("no api-keys configured: serving loopback clients only")
    # Starlette, not FastAPI: our endpoints read the raw request, so FastAPI's dependency solving and
    # OpenAPI models would only add latency and ~0.27 s of import on a cold start (measured).
    for path, endpoint, methods in _routes(rt, keys):
        app.router.add_route(path, _guarded(endpoint), methods=methods)
    from handlers import management  # /v0/management/*: answers 404 unless management-keys are set

    for path, endpoint, methods in management.routes(rt):
        app.router.add_route(path, endpoint, methods=methods)
    from handlers import websocket  # the upgraded GET of /v1/responses

    websocket.register(app, rt)
    return app


MODEL_LISTS_CHECK_S = 900.0  # how often a local server looks; core.model_lists renews lists older than 6 h


async def _renew_model_lists(rt: runtime.Runtime) -> None:
    while True:
        try:
            renewed = await rt.refresh_model_lists()
            if renewed:
                log.info("model lists renewed: %s", renewed)
        except Exception as exc:  # noqa: BLE001 - the built-in catalog keeps serving; try again later
            log.warning("model lists not renewed (%s)", type(exc).__name__)
        await asyncio.sleep(MODEL_LISTS_CHECK_S)


def _guarded(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """What escapes the service (building the store, the models list) becomes a 500 in the caller's dialect,
    logged once without its message. (An app-level exception handler would not do: Starlette re-raises
    after it, and the server then logs the whole traceback, message included.)"""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as exc:  # noqa: BLE001 - the last boundary before the client
            return error_response(_dialect_of(request), errors.unexpected(exc, log, f"on {request.url.path}"))

    return guarded


def _dialect_of(request: Request) -> str:
    path = request.url.path
    if path == "/v1/models" or (path.startswith("/v1/models/") and request.method == "GET"):
        return _listing_dialect(request)
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/v1beta/") or (path.startswith("/v1/models/") and ":" in path):
        return "gemini"
    return "openai_responses" if path.startswith(("/v1/responses", "/backend-api/codex/")) else "openai_chat"


def _listing_dialect(request: Request) -> str:
    """``GET /v1/models`` is every SDK's listing: Anthropic's sends ``anthropic-version``, google-genai (whose
    default API version is v1) authenticates the Gemini way, with ``x-goog-api-key`` or ``?key=``."""
    headers = request.headers
    if "anthropic-version" in headers:
        return "anthropic"
    if "x-goog-api-key" in headers or "x-goog-api-client" in headers or "key" in request.query_params:
        return "gemini"
    return "openai_chat"


def _routes(rt: runtime.Runtime, keys: clientkeys.ClientKeys) -> list[tuple[str, Any, list[str]]]:
    async def call(request: Request, dialect: str, **kw: Any) -> Response:
        try:
            client = clientkeys.authenticate(request, keys.current())
        except errors.ClientAuthError as err:
            return error_response(dialect, err)
        deps = await rt.deps()
        headers = {k.lower(): v for k, v in request.headers.items()}
        reply = await service.handle(ClientCall(
            dialect=dialect, raw=await request.body(), headers=headers,  # type: ignore[arg-type]
            principal=client.key if client else None, client_name=clientkeys.client_label(client), client=client, **kw), deps)
        return to_response(reply)

    async def chat(request: Request) -> Response:
        return await call(request, "openai_chat")

    async def responses(request: Request) -> Response:
        return await call(request, "openai_responses")

    async def compact(request: Request) -> Response:
        return await call(request, "openai_responses", compact=True)

    async def responses_get(request: Request) -> Response:
        """A GET that was not upgraded (a host that cannot, or no Upgrade header): Codex falls back to HTTP."""
        err = errors.BadRequestError("WebSocket mode of /v1/responses is not available here; use HTTP POST",
                                     status=426)
        return error_response("openai_responses", err)

    async def messages(request: Request) -> Response:
        return await call(request, "anthropic")

    async def count_tokens(request: Request) -> Response:
        return await call(request, "anthropic", count_tokens=True)

    async def gemini(request: Request) -> Response:
        model, sep, action = request.path_params["target"].rpartition(":")
        if not sep or action not in ("generateContent", "streamGenerateContent", "countTokens"):
            return error_response("gemini", errors.ProxyError(f"{request.url.path} not found", status=404))
        return await call(request, "gemini", path_model=model, stream=action == "streamGenerateContent",
                          count_tokens=action == "countTokens")

    async def models(request: Request, dialect: str, one: str | None = None) -> Response:
        """The models this client key may use (``one``: just that model, or the dialect's 404)."""
        try:
            client = clientkeys.authenticate(request, keys.current())
        except errors.ClientAuthError as err:
            return error_response(dialect, err)
        snap = await (await rt.deps()).state.snapshot()
        listing = snap.index.listing()
        if client is not None and client.models:  # a key sees only the models it may use
            listing = [m for m in listing if client.allows(m.id)]
        if one is None:
            body = dialects.get(dialect).render_models(listing)
        else:
            found = next((m for m in listing if m.id == one), None)
            if found is None:
                return error_response(dialect, errors.ModelNotFoundError(f"The model '{one}' does not exist",
                                                                         code="model_not_found"))
            body = dialects.get(dialect).render_model(found)
        return Response(orjson.dumps(body), media_type="application/json")

    async def list_models(request: Request) -> Response:
        return await models(request, _listing_dialect(request))

    async def list_gemini_models(request: Request) -> Response:
        return await models(request, "gemini")

    async def get_model(request: Request) -> Response:
        """``GET /v1/models/{id}`` (OpenAI and Anthropic retrieve, google-genai's get) and
        ``GET /v1beta/models/{name}``; a Gemini name may come as ``models/{id}``."""
        gemini_path = request.url.path.startswith("/v1beta/")
        dialect = "gemini" if gemini_path else _listing_dialect(request)
        return await models(request, dialect, one=request.path_params["target"].removeprefix("models/"))

    async def healthz(request: Request) -> Response:
        if request.query_params.get("deep") in (None, "", "0", "false"):
            return Response(b'{"status":"ok"}', media_type="application/json")
        try:
            clientkeys.authenticate(request, keys.current())
        except errors.ClientAuthError as err:
            return error_response("openai_chat", err)
        return await deep_health(rt)

    return [
        ("/v1/chat/completions", chat, ["POST"]),
        ("/v1/responses", responses, ["POST"]),
        ("/v1/responses", responses_get, ["GET"]),
        ("/v1/responses/compact", compact, ["POST"]),
        ("/backend-api/codex/responses", responses, ["POST"]),  # clients set up with a ChatGPT-style base URL
        ("/backend-api/codex/responses", responses_get, ["GET"]),
        ("/backend-api/codex/responses/compact", compact, ["POST"]),
        ("/v1/messages", messages, ["POST"]),
        ("/v1/messages/count_tokens", count_tokens, ["POST"]),
        ("/v1beta/models/{target:path}", gemini, ["POST"]),
        ("/v1/models/{target:path}", gemini, ["POST"]),
        ("/v1/models", list_models, ["GET"]),
        ("/v1beta/models", list_gemini_models, ["GET"]),
        ("/v1beta/models/{target:path}", get_model, ["GET"]),
        ("/v1/models/{target:path}", get_model, ["GET"]),
        ("/healthz", healthz, ["GET", "HEAD"]),
    ]


async def deep_health(rt: runtime.Runtime) -> Response:
    """``/healthz?deep=1``: the config and the store checked as at start-up; 503 names what is not ready."""
    from core import readiness

    config_bad = readiness.config_problems(rt.config)
    store_bad: list[str] = []
    if not config_bad:
        try:
            store = (await rt.deps()).state.store
        except Exception:  # noqa: BLE001 - store_problems opens the store itself and says why it fails
            store = None
        store_bad = await readiness.store_problems(rt.config, store)
    checks = {"config": "not ready" if config_bad else "ok",
              "store": "not checked" if config_bad else "not ready" if store_bad else "ok"}
    if config_bad or store_bad:
        body = {"status": "not ready", "checks": checks, "problems": config_bad + store_bad}
        return Response(orjson.dumps(body), status_code=503, media_type="application/json")
    return Response(orjson.dumps({"status": "ok", "checks": checks}), media_type="application/json")


def error_response(dialect: str, err: errors.ProxyError) -> Response:
    reply = service.error_reply(dialects.get(dialect), err)
    return to_response(reply)


def to_response(reply: Reply) -> Response:
    if reply.stream is not None:
        return _ClosingStream(reply.stream, status_code=reply.status, headers=reply.headers)
    return Response(reply.body, status_code=reply.status, headers=reply.headers)


class _ClosingStream(StreamingResponse):
    """Closes the reply's stream however the response ends. Starlette stops iterating when the client hangs
    up and leaves the generator (and the upstream response behind it) to the garbage collector."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


def __getattr__(name: str) -> Any:
    """``app`` and ``handler`` are built on first access, so importing this module loads no config."""
    if name == "app":
        globals()["app"] = built = create_app(runtime.checked_config())
        return built
    if name == "handler":
        from mangum import Mangum  # the buffered function only: the streaming one never loads it

        globals()["handler"] = adapter = Mangum(__getattr__("app"), lifespan="off")
        return adapter
    raise AttributeError(name)
