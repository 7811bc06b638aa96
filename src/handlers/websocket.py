"""Responses over WebSocket: ``GET /v1/responses`` upgraded (and its ``/backend-api/codex`` alias).

Codex CLI opens ``ws://…/v1/responses`` first when its provider supports websockets (the built-in ``openai``
provider by default). Each turn is a ``response.create`` / ``response.append`` frame; each event of the
answer goes back as one text frame (the SSE ``data`` JSON); errors are ``{"type": "error", "status": …}``
frames and the connection stays open. Turns go through ``core.service`` like HTTP requests, with one
execution-session id per connection (continuity key and sticky credential).

Where the host cannot upgrade (Lambda: API Gateway, Function URLs) or ``websocket: false`` is configured,
the upgrade is answered 426, on which Codex falls back to HTTP at once (a 403 costs it about 7 s a turn).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from core import conversation, dialects, errors, service, sse
from core.call import ClientCall, Reply
from handlers import clientkeys
from handlers.on_lambda import on_lambda

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from handlers.runtime import Runtime

log = logging.getLogger("cliproxy.websocket")

PATHS = ("/v1/responses", "/backend-api/codex/responses")
_TERMINAL = frozenset(("response.completed", "response.failed", "response.incomplete", "error"))
_POLICY_VIOLATION = 1008


def register(app: Starlette, rt: Runtime) -> None:
    for path in PATHS:
        app.router.add_websocket_route(path, _endpoint(rt))


def upgradable() -> bool:
    """Whether this host can hold a WebSocket: not on Lambda (the Web Adapter and Mangum relay HTTP only)."""
    return not on_lambda()


def _endpoint(rt: Runtime) -> Any:
    async def endpoint(ws: WebSocket) -> None:
        if not (rt.config.websocket and upgradable()):
            await _deny(ws, errors.BadRequestError(
                "WebSocket mode of /v1/responses is not available here; use HTTP POST", status=426))
            return
        try:
            client = clientkeys.authenticate(ws, rt.config)  # (config keys: no rotation, sockets are not on Lambda)
            pending = False
        except errors.ClientAuthError as err:
            if clientkeys.offered_keys(ws):  # a key was offered and is wrong
                await _deny(ws, err)
                return
            client, pending = None, True  # a client that cannot set headers: the first frame has the key
        turn_state = ws.headers.get("x-codex-turn-state")
        await ws.accept(headers=[(b"x-codex-turn-state", turn_state.encode())] if turn_state else None)
        headers = {k.lower(): v for k, v in ws.headers.items()}
        call = ClientCall(dialect="openai_responses", raw=b"", headers=headers,
                          principal=client.key if client else None, client_name=clientkeys.client_label(client),
                          client=client, execution_session=str(uuid.uuid4()))
        try:
            await _Connection(ws, rt, call, pending).serve()
        except WebSocketDisconnect:
            pass

    return endpoint


async def _deny(ws: WebSocket, err: errors.ProxyError) -> None:
    """Refuse the upgrade with a plain HTTP answer (the error in the Responses envelope)."""
    reply = service.error_reply(dialects.get("openai_responses"), err)
    await ws.send_denial_response(Response(reply.body, status_code=reply.status, headers=reply.headers))


class _Connection:
    """One client socket: frames in order, one turn at a time."""

    def __init__(self, ws: WebSocket, rt: Runtime, call: ClientCall, pending: bool) -> None:
        self.ws, self.rt, self.call, self.pending = ws, rt, call, pending
        self.conv = conversation.Conversation()

    async def serve(self) -> None:
        while True:
            text = await self.ws.receive_text()
            try:
                frame = orjson.loads(text)
            except orjson.JSONDecodeError:
                await self._error(errors.BadRequestError("frame is not valid JSON"))
                continue
            if not isinstance(frame, dict):
                await self._error(errors.BadRequestError("frame must be a JSON object"))
                continue
            if self.pending and not await self._authenticate(frame):
                return
            await self._frame(frame)

    async def _authenticate(self, frame: dict[str, Any]) -> bool:
        """The first frame's ``api_key``, for clients that cannot set headers: checked as if it had come as
        a bearer header, so both ways share one rule."""
        key = frame.get("api_key")
        try:
            if not isinstance(key, str) or not key:
                raise errors.ClientAuthError("Missing API key: send it as a header or as api_key in the first frame",
                                             code="invalid_api_key")
            # The upgrade's own headers stay (a relayed client must not pass for a loopback one).
            kept = [(k, v) for k, v in self.ws.scope["headers"] if k.lower() != b"authorization"]
            scope = {**self.ws.scope, "headers": [(b"authorization", b"Bearer " + key.encode()), *kept]}
            client = clientkeys.authenticate(HTTPConnection(scope), self.rt.config)
        except errors.ClientAuthError as err:
            await self._error(err)
            await self.ws.close(_POLICY_VIOLATION)
            return False
        self.pending = False
        self.call = dataclasses.replace(self.call, principal=client.key if client else None,
                                        client_name=clientkeys.client_label(client), client=client)
        return True

    async def _frame(self, frame: dict[str, Any]) -> None:
        try:
            body = self.conv.next_body(frame)
        except errors.BadRequestError as err:
            await self._error(err)
            return
        if frame.get("generate") is False:
            for event in self.conv.warm_up(body):
                await self.ws.send_text(orjson.dumps(event).decode())
            return
        await self._turn(body)

    async def _turn(self, body: dict[str, Any]) -> None:
        deps = await self.rt.deps()
        reply = await service.handle(dataclasses.replace(self.call, raw=orjson.dumps(body)), deps)
        if reply.stream is None:
            await self._reply_error(reply)
            return
        decoder = sse.Decoder()
        ended = False
        try:
            async for chunk in reply.stream:
                for frame in decoder.feed(chunk):
                    ended = await self._event(frame, body) or ended
            for frame in decoder.close():
                ended = await self._event(frame, body) or ended
        finally:
            aclose = getattr(reply.stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if not ended:
            await self._error(errors.ProxyError("stream closed before response.completed", status=408))

    async def _event(self, frame: sse.Frame, body: dict[str, Any]) -> bool:
        """Send one event as a text frame; True when it ends the turn."""
        if not frame.data or frame.data[0] != "{":
            return False
        await self.ws.send_text(frame.data)
        kind = frame.event
        event: dict[str, Any] | None = None
        if kind is None or kind == "message":
            event = orjson.loads(frame.data)
            kind = event.get("type")
        if kind == "response.completed":
            response = (event or orjson.loads(frame.data)).get("response")
            self.conv.record(body, response if isinstance(response, dict) else {})
        return kind in _TERMINAL

    async def _reply_error(self, reply: Reply) -> None:
        try:
            payload = orjson.loads(reply.body or b"{}")
        except orjson.JSONDecodeError:
            payload = {}
        error = payload.get("error") if isinstance(payload, dict) else None
        frame: dict[str, Any] = {"type": "error", "status": reply.status,
                                 "error": error if isinstance(error, dict) else {"message": "request failed"}}
        extra = {k: v for k, v in reply.headers.items() if k != "content-type"}
        if extra:
            frame["headers"] = extra
        await self.ws.send_text(orjson.dumps(frame).decode())

    async def _error(self, err: errors.ProxyError) -> None:
        await self._reply_error(service.error_reply(dialects.get("openai_responses"), err))
