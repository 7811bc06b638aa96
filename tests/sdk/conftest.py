"""One proxy per SDK module (starting one costs ~0.2 s); the fake upstream is reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from tests.conftest import proxy_config
from tests.servers import ThreadedServer

if TYPE_CHECKING:
    from tests.fakes.upstream import FakeUpstream

# The model each upstream kind serves in the shared config (claude answers under its dated catalog id).
MODELS = {"codex": "gpt-5-codex", "claude": "claude-sonnet-4-5", "gemini": "gemini-2.5-pro",
          "openai_compat": "compat-model"}

_ENV_OVERRIDES = ("CLIPROXY_API_KEYS", "CLIPROXY_ENCRYPTION_KEY", "CLIPROXY_STORE_BACKEND", "CLIPROXY_TABLE",
                  "CLIPROXY_STORE_ENDPOINT")


def start_module_proxy(fake: FakeUpstream, tmp: Any, **extra: Any) -> ThreadedServer:
    from core import config as cfgmod
    from handlers import api

    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(proxy_config(fake, tmp, **extra)))
    with pytest.MonkeyPatch.context() as env:
        for name in _ENV_OVERRIDES:  # a test elsewhere may have left one behind; they would beat the file
            env.delenv(name, raising=False)
        config = cfgmod.load(str(path))
    return ThreadedServer(api.create_app(config)).start()


@pytest.fixture(scope="module")
def sdk_proxy(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    server = start_module_proxy(fake, tmp_path_factory.mktemp("sdk"))
    yield server
    server.stop()

