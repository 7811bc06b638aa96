"""The floor for a Python proxy: starlette + uvicorn (uvloop, httptools) + one aiohttp session, no logic.

    python -m bench.passthrough PORT UPSTREAM_URL
"""

from __future__ import annotations

import contextlib
import sys

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive"})


def build(upstream: str) -> Starlette:
    session: list[aiohttp.ClientSession] = []

    async def forward(request):  # type: ignore[no-untyped-def]
        headers = {k: v for k, v in request.headers.items() if k not in _HOP}
        resp = await session[0].request(request.method, upstream + request.url.path, data=await request.body(),
                                        headers=headers)
        media = resp.headers.get("content-type", "application/json")
        if not media.startswith("text/event-stream"):
            return Response(await resp.read(), status_code=resp.status, media_type=media)

        async def relay():  # type: ignore[no-untyped-def]
            try:
                async for chunk in resp.content.iter_any():
                    yield chunk
            finally:
                resp.release()

        return StreamingResponse(relay(), status_code=resp.status, media_type=media)

    @contextlib.asynccontextmanager
    async def lifespan(app):  # type: ignore[no-untyped-def]
        session.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000), auto_decompress=False))
        yield
        await session[0].close()

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])], lifespan=lifespan)


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2].rstrip("/")
    uvicorn.run(build(upstream), host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
