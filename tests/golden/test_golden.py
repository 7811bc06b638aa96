"""Golden translation cases: ``tests/golden/<client-dialect>__<upstream-kind>/<case>/``.

Inputs:  ``client.json`` (the client's request body; the Gemini model comes from the folder's upstream kind,
         as it would from the URL), ``upstream.sse`` (the upstream's streamed answer) and, for upstreams that
         answer whole bodies, ``upstream.response.json``.
Outputs: ``upstream.json`` (the exact body ``core.upstream.prepare`` builds), ``client.sse`` (the stream the
         client receives) and ``client.response.json`` (its non-stream answer; from Codex, assembled from
         ``upstream.sse``, as the proxy does).

A new case is a new folder with a ``client.json``. ``UPDATE_GOLDEN=1`` rewrites the outputs and creates
missing upstream answers from the fake upstream. Same dialect in and out is passed through by the proxy
untouched (see tests/e2e/test_fixtures_replay.py); its goldens record the codec round trip instead.
Volatile values are normalised: random 24-hex ids become ``<hexN>``, timestamps become 0.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.fakes import claude, codex, gemini, openai_chat

from core import config as cfgmod
from core import dialects, ir, models, relay, signatures, sse, upstream
from core.call import ClientCall

ROOT = Path(__file__).parent
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
MODELS = {"codex": "gpt-5-codex", "claude": "claude-sonnet-4-5", "gemini": "gemini-2.5-pro",
          "openai_compat": "compat-model"}
PRINCIPAL = "sk-golden-client"  # the client key: the Codex continuity key derives from it
CONFIG = cfgmod.parse({
    "api-keys": [PRINCIPAL],
    "codex-api-key": [{"api-key": "sk-up-codex", "base-url": "http://upstream.test/backend-api/codex"}],
    "claude-api-key": [{"api-key": "sk-up-claude", "base-url": "http://upstream.test"}],
    "gemini-api-key": [{"api-key": "sk-up-gemini", "base-url": "http://upstream.test"}],
    "openai-compatibility": [{"name": "compat", "base-url": "http://upstream.test/v1",
                              "api-key-entries": [{"api-key": "sk-up-openai"}],
                              "models": [{"name": "compat-model", "alias": "compat-model"}]}],
}, "golden")
CASES = sorted(p.parent for p in ROOT.glob("*__*/*/client.json"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden(case: Path) -> None:
    client_dialect, kind = case.parent.name.split("__")
    body = orjson.loads((case / "client.json").read_bytes())
    req, prepared = _prepare(client_dialect, kind, body)
    _check_json(case / "upstream.json", prepared.body)

    if UPDATE and not (case / "upstream.sse").exists():
        (case / "upstream.sse").write_bytes(_normalise(b"".join(_fake_answer(kind, prepared, stream=True))))
    frames = _frames((case / "upstream.sse").read_bytes())
    _check_text(case / "client.sse", _client_stream(req, prepared, frames))

    whole = case / "upstream.response.json"
    if kind != "codex" and UPDATE and not whole.exists():
        answer = _fake_answer(kind, prepared, stream=False)
        whole.write_bytes(_normalise(orjson.dumps(answer, option=orjson.OPT_INDENT_2)) + b"\n")
    response = _assembled(req, prepared, frames) if kind == "codex" else \
        dialects.get(prepared.dialect).parse_response(orjson.loads(whole.read_bytes()), req=req)
    out = dialects.get(client_dialect).render_response(_for_client(response, req, prepared), req)
    _check_json(case / "client.response.json", out)


def test_every_client_dialect_meets_every_upstream_kind() -> None:
    pairs = {c.parent.name for c in CASES}
    assert pairs >= {f"{d}__{k}" for d in ("openai_chat", "openai_responses", "anthropic", "gemini")
                     for k in MODELS}


# --- the pipeline, as the proxy runs it ----------------------------------------------------------

def _prepare(client_dialect: str, kind: str, body: dict[str, Any]) -> tuple[ir.Request, upstream.Prepared]:
    path_model = MODELS[kind] if client_dialect == "gemini" else None
    req = dialects.get(client_dialect).parse_request(body, model=path_model)
    if client_dialect == "gemini":
        req = replace(req, stream=True)  # the golden's stream is streamGenerateContent
    target = models.Index(CONFIG.credentials).resolve(req.model)
    route = next(r for r in target.routes if r.cred.kind == kind)
    call = ClientCall(dialect=client_dialect, raw=orjson.dumps(body), headers={},  # type: ignore[arg-type]
                      principal=PRINCIPAL, path_model=path_model)
    return req, upstream.prepare(req, target, route, call, CONFIG)


def _client_stream(req: ir.Request, prepared: upstream.Prepared, frames: list[sse.Frame]) -> bytes:
    """Upstream frames -> the client's SSE bytes through relay's own translation. A same-dialect case shows
    the codec round trip (the proxy passes such streams through), so its signatures stay unwrapped."""
    tr = relay.Translation(dialects.get(prepared.dialect).StreamDecoder(req),
                           dialects.get(req.dialect).StreamEncoder(req), prepared.dialect,
                           relay.failure_for(prepared, {}), sign=not prepared.passthrough)
    return tr.frames(frames) + tr.close()


def _for_client(resp: ir.Response, req: ir.Request, prepared: upstream.Prepared) -> ir.Response:
    if prepared.passthrough:
        return replace(resp, model=req.model)
    return replace(resp, model=req.model, parts=signatures.for_client(resp.parts, prepared.dialect, req.dialect))


def _assembled(req: ir.Request, prepared: upstream.Prepared, frames: list[sse.Frame]) -> ir.Response:
    decoder = dialects.get(prepared.dialect).StreamDecoder(req)
    return relay.assemble(req.model, [], frames, decoder).result(prepared.dialect)


def _frames(raw: bytes) -> list[sse.Frame]:
    decoder = sse.Decoder()
    return decoder.feed(raw) + decoder.close()


def _fake_answer(kind: str, prepared: upstream.Prepared, *, stream: bool) -> Any:
    """What the fake upstream answers to the prepared body: SSE frames (stream) or the JSON body."""
    body = dict(prepared.body)
    if kind in ("claude", "openai_compat"):
        body["stream"] = stream
    if not stream:
        body.pop("stream_options", None)
    if kind == "codex":
        reply = codex.reply(body)
    elif kind == "claude":
        reply = claude.reply(body)
    elif kind == "openai_compat":
        reply = openai_chat.reply(body)
    else:
        method = "streamGenerateContent" if stream else "generateContent"
        reply = gemini.reply(prepared.ctx.upstream_model, method, body)
    assert reply.status == 200, reply.json
    return reply.frames if stream else reply.json


# --- comparing and rewriting ---------------------------------------------------------------------

_HEX_ID = re.compile(rb"(?<![0-9a-f])[0-9a-f]{24}(?![0-9a-f])")
_TIMESTAMP = re.compile(rb'"(created|created_at)":\s?\d+')
_FAKE_SERIAL = re.compile(rb"(?<=fake)\d{6,}")


def _normalise(data: bytes) -> bytes:
    """Random ids -> ``<hexN>`` (numbered by first appearance, so equal ids stay equal), times -> 0."""
    seen: dict[bytes, bytes] = {}
    data = _HEX_ID.sub(lambda m: seen.setdefault(m.group(0), b"<hex%d>" % (len(seen) + 1)), data)
    data = _TIMESTAMP.sub(lambda m: b'"' + m.group(1) + b'":0', data)
    return _FAKE_SERIAL.sub(b"1", data)


def _check_json(path: Path, value: Any) -> None:
    _check_text(path, orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")


def _check_text(path: Path, data: bytes) -> None:
    data = _normalise(data)
    if UPDATE:
        path.write_bytes(data)
        return
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert data.decode() == path.read_text(), f"{path} differs (UPDATE_GOLDEN=1 rewrites it; review the diff)"
