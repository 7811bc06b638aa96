"""The streaming function's process (``run.sh``): uvicorn serving ``handlers.api:app`` to the Lambda Web Adapter.

uvicorn is started from here rather than by ``python -m uvicorn`` to shape the cold start (``make bench``):

- The garbage collector is off until the server listens. An init allocates several hundred thousand objects
  (modules, the AWS SDK's service models) that live as long as the process, and the collector would walk them
  again and again while they are made; afterwards they are frozen out of every later collection.
- No WebSocket protocol: neither API Gateway nor the adapter passes an upgrade through, so ``GET
  /v1/responses`` is answered over HTTP (426, on which Codex uses HTTP), and the websockets library is not
  loaded.
"""

from __future__ import annotations

import gc
import sys
from typing import Any


def main(port: int) -> None:
    gc.disable()
    from handlers import runtime

    runtime.preload_tls()  # the upstream client's CA bundle loads on another core meanwhile
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            gc.freeze()  # what init made stays: keep it out of the collections from now on
            gc.enable()

    config = uvicorn.Config("handlers.api:app", host="127.0.0.1", port=port,
                            ws="none", access_log=False, timeout_keep_alive=75, log_level="warning")
    server = Server(config)
    server.run()
    if not server.started:  # the app did not start (as `python -m uvicorn` does: init fails, not exits 0)
        sys.exit(3)


if __name__ == "__main__":
    main(int(sys.argv[1]))
