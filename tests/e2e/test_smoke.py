"""scripts/smoke.py (`make smoke URL=… KEY=…`) against a running proxy on the fake upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.conftest import CLIENT_KEY, script

ROOT = Path(__file__).resolve().parents[2]


def smoke() -> Any:
    return script("smoke")


def test_smoke_passes_on_a_streaming_proxy(proxy: Any, upstream: Any, capsys: pytest.CaptureFixture[str]) -> None:
    upstream.delay(0.0, per_event=0.08)  # the events of every stream come spaced

    code = smoke().main([proxy.url, CLIENT_KEY, "--timeout", "60"])

    out = capsys.readouterr().out
    assert code == 0, out
    for name in ("models list", "wrong key refused", "openai chat stream", "openai responses stream",
                 "anthropic messages stream", "gemini stream"):
        assert f"ok    {name}" in out, out
    assert CLIENT_KEY not in out
    assert "0 failed" in out


def test_smoke_fails_on_a_wrong_key(proxy: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke().main([proxy.url, "sk-not-a-client-key"]) == 1
    assert "FAIL  models list" in capsys.readouterr().out


@pytest.mark.parametrize(("arrivals", "verdict"), [
    ([(0.0, b"data: 1\n\n"), (0.2, b"data: 2\n\n"), (0.4, b"data: [DONE]\n\n")], "ok"),
    ([(0.0, b"data: 1\n\ndata: 2\n\ndata: [DONE]\n\n")], "FAIL"),  # one burst
    ([(1.0, b"data: 1\n\n"), (1.001, b"data: 2\n\n"), (1.002, b"data: [DONE]\n\n")], "FAIL"),  # all at once
])
def test_stream_verdict_tells_a_stream_from_a_buffered_answer(arrivals: list[tuple[float, bytes]],
                                                              verdict: str) -> None:
    assert smoke().stream_verdict(arrivals)[0] == verdict
