"""Fixtures of the end-to-end modules that run one clocked proxy (``tests.e2e.clocked``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.e2e.clocked import Rig, start

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fakes.upstream import FakeUpstream


# One proxy per test module that asks for it (module scope), reset per test.
@pytest.fixture(scope="module")
def proxy_rig(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    found = start(fake, tmp_path_factory.mktemp("rig"))
    yield found
    found.server.stop()


@pytest.fixture
def rig(proxy_rig: Rig) -> Iterator[Rig]:
    proxy_rig.reset()
    yield proxy_rig
    proxy_rig.fake.reset()  # no lasting failure left for the next module
