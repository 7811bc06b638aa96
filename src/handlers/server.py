"""The local server: uvicorn on the configured host and port, refusing to run open on a public address."""

from __future__ import annotations

import ipaddress
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config


def run(config: Config, *, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from handlers import api

    host = host or config.host
    port = port or config.port
    if not config.api_keys and not _is_loopback(host):
        print(f"{config.source}: api-keys: required to listen on {host}; "
              "add client keys or listen on 127.0.0.1", file=sys.stderr)
        raise SystemExit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = f"http://{host}:{port}"
    print(f"cliproxy listening on {url}\n"
          f"  OpenAI / Codex / OpenCode base URL: {url}/v1\n"
          f"  Claude Code: ANTHROPIC_BASE_URL={url}\n"
          f"  Gemini CLI:  GOOGLE_GEMINI_BASE_URL={url}", flush=True)
    if not config.credentials:
        print(f"  {config.source}: no upstream API keys configured; add codex/claude/gemini-api-key or "
              "openai-compatibility entries, or import OAuth accounts with `cliproxy auth import FILE`", flush=True)
    uvicorn.run(api.create_app(config, refresh_model_lists=True), host=host, port=port, log_level="warning",
                loop="auto", http="auto", access_log=False)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
