"""Smoke test of a deployed stack from outside: ``make smoke URL=<ApiUrl or FunctionUrl> KEY=<client key>``.

For operators after ``sam deploy``. Checks, each printed as ``ok`` / ``FAIL`` / ``skip`` with what it saw:

- the models list answers (OpenAI form) and a wrong key is refused with 401;
- for each dialect (OpenAI chat, OpenAI responses, Anthropic messages, Gemini) whose family the models list
  offers: a plain answer, then a stream that must arrive incrementally (several chunks, the first well
  before the last), not in one burst at the end as a buffering path would deliver it.

Models are picked from the list (override with ``--model-openai/--model-claude/--model-gemini``). Exit 1
when any check fails. The key is sent, never printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

PROMPT = "Count from 1 to 40, one number per line, nothing else."
MIN_SPREAD_S = 0.05  # first chunk at least this long before the last one


@dataclass
class Smoke:
    base: str
    key: str
    timeout: float = 120.0
    results: list[tuple[str, str, str]] = field(default_factory=list)

    def record(self, verdict: str, name: str, detail: str) -> None:
        self.results.append((verdict, name, detail))
        print(f"{verdict:<5} {name}: {detail}", flush=True)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=self.timeout)


DIALECTS: dict[str, dict[str, Any]] = {
    "openai chat": {"family": "openai", "path": "/v1/chat/completions",
                    "body": lambda m, s: {"model": m, "stream": s, "messages": [{"role": "user", "content": PROMPT}]}},
    "openai responses": {"family": "openai", "path": "/v1/responses",
                         "body": lambda m, s: {"model": m, "stream": s, "input": PROMPT}},
    "anthropic messages": {"family": "claude", "path": "/v1/messages",
                           "body": lambda m, s: {"model": m, "stream": s, "max_tokens": 256,
                                                 "messages": [{"role": "user", "content": PROMPT}]}},
    "gemini": {"family": "gemini", "path": None,
               "body": lambda m, s: {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}},
}


def headers(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "x-api-key": key, "anthropic-version": "2023-06-01",
            "content-type": "application/json"}


def pick_models(ids: list[str], overrides: dict[str, str | None]) -> dict[str, str | None]:
    def first(test: Any) -> str | None:
        return next((i for i in ids if test(i.lower())), None)

    found = {"claude": first(lambda i: i.startswith("claude")), "gemini": first(lambda i: i.startswith("gemini")),
             "openai": first(lambda i: not i.startswith(("claude", "gemini")))}
    return {family: overrides.get(family) or model for family, model in found.items()}


def check_models(smoke: Smoke) -> list[str]:
    with smoke.client() as http:
        answer = http.get("/v1/models", headers=headers(smoke.key))
        bad = http.get("/v1/models", headers=headers("sk-cliproxy-smoke-wrong-key"))
    ids = [m.get("id", "") for m in answer.json().get("data", [])] if answer.status_code == 200 else []
    smoke.record("ok" if ids else "FAIL", "models list", f"HTTP {answer.status_code}, {len(ids)} models")
    smoke.record("ok" if bad.status_code == 401 else "FAIL", "wrong key refused", f"HTTP {bad.status_code}")
    return ids


def check_dialect(smoke: Smoke, name: str, model: str | None) -> None:
    spec = DIALECTS[name]
    if model is None:
        smoke.record("skip", name, f"no {spec['family']} model in the list")
        return
    for stream in (False, True):
        path = spec["path"] or f"/v1beta/models/{model}:{'streamGenerateContent?alt=sse' if stream else 'generateContent'}"
        label = f"{name} {'stream' if stream else 'answer'} ({model})"
        try:
            with smoke.client() as http, http.stream("POST", path, headers=headers(smoke.key),
                                                     content=orjson.dumps(spec["body"](model, stream))) as resp:
                arrivals = [(time.perf_counter(), chunk) for chunk in resp.iter_raw() if chunk]
                status = resp.status_code
        except httpx.HTTPError as exc:
            smoke.record("FAIL", label, f"{type(exc).__name__}")
            continue
        body = b"".join(chunk for _, chunk in arrivals)
        if status != 200:
            smoke.record("FAIL", label, f"HTTP {status}: {body[:200].decode(errors='replace')}")
        elif not stream:
            smoke.record("ok", label, f"HTTP 200, {len(body)} bytes")
        else:
            verdict, detail = stream_verdict(arrivals)
            smoke.record(verdict, label, detail)


def stream_verdict(arrivals: list[tuple[float, bytes]]) -> tuple[str, str]:
    """``ok`` when the data came in several chunks spread over time, ``FAIL`` for one burst."""
    data = [(at, chunk) for at, chunk in arrivals if b"data:" in chunk]
    if len(data) < 2:
        return "FAIL", f"{len(data)} data chunk(s): the stream arrived in one piece"
    spread = data[-1][0] - data[0][0]
    if spread < MIN_SPREAD_S:
        return "FAIL", f"{len(data)} chunks within {spread * 1000:.0f} ms: buffered, not streamed"
    return "ok", f"{len(data)} chunks over {spread * 1000:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/smoke.py", description=__doc__.splitlines()[0])
    p.add_argument("url", help="ApiUrl (…/prod) or FunctionUrl of the stack")
    p.add_argument("key", help="a client API key")
    for family in ("openai", "claude", "gemini"):
        p.add_argument(f"--model-{family}", help=f"{family} model to use (default: the first in the list)")
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args(argv)
    if not args.key:
        p.error("KEY is empty")
    smoke = Smoke(args.url.rstrip("/"), args.key, args.timeout)
    ids = check_models(smoke)
    models = pick_models(ids, {f: getattr(args, f"model_{f}") for f in ("openai", "claude", "gemini")})
    for name, spec in DIALECTS.items():
        check_dialect(smoke, name, models[spec["family"]])
    failed = [r for r in smoke.results if r[0] == "FAIL"]
    print(f"smoke: {len(smoke.results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
