"""Numbers -> one table (stdout) and ``bench-results.json``, with each issue target checked."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.measure import Timings

TARGETS = ("direct", "passthrough", "cliproxy", "litellm")
_CROSS = (("responses_codex", "Responses client -> Codex (same dialect)"),
          ("chat_codex", "chat client -> Codex"), ("anthropic_codex", "Anthropic client -> Codex"))


@dataclass
class Results:
    meta: dict[str, Any]
    latency: dict[str, dict[str, Timings]]
    events: dict[str, int]  # scenario -> upstream events per stream
    throughput: dict[str, dict[str, float]]
    memory: dict[str, dict[int, float]]
    import_ms: float
    heaviest_imports: list[tuple[str, float]]
    dynamodb: dict[str, Any]
    first_response_ms: float = math.nan  # cold start to the first answer of the buffered handler
    cold_start: Any = None  # bench.lambda_init.ColdStart: the streaming function's init and first answer
    checks: list[tuple[str, bool | None, str]] = field(default_factory=list)

    # --- derived figures ---------------------------------------------------------------------------
    def added(self, scen: str, target: str, q: float = 0.5, which: str = "total") -> float:
        row = self.latency[scen]
        if target not in row:
            return math.nan
        return row[target].p(q, which) - row["direct"].p(q, which)

    def per_event(self, scen: str, target: str) -> float:
        """Added time after the first byte, per upstream event (p50)."""
        row = self.latency[scen]
        if target not in row:
            return math.nan
        return (row[target].p50_after_first() - row["direct"].p50_after_first()) / (self.events[scen] - 1)

    def present(self) -> list[str]:
        return [t for t in TARGETS if t in self.latency["chat"]]


def table(r: Results) -> str:
    cols = r.present()
    lines = [f"cliproxy bench — {r.meta['date']} — {r.meta['machine']} — Python {r.meta['python']}",
             f"{r.meta['rounds']} interleaved rounds (3 warm-ups before each measured request); "
             f"throughput {r.meta['seconds']:.0f}s x {r.meta['passes']} passes per target; "
             f"streams: {r.events['chat_stream']} chat / {r.events['responses_codex']} Codex upstream events",
             ""]
    head = f"{'figure (ms unless stated; direct = absolute, others = added over direct)':<58}" + "".join(
        f"{c:>13}" for c in cols)
    lines += [head, "-" * len(head)]

    def row(label: str, values: list[float], fmt: str = "{:+.3f}", direct_fmt: str = "{:.3f}") -> None:
        cells = []
        for col, v in zip(cols, values, strict=True):
            text = "–" if v is None or (isinstance(v, float) and math.isnan(v)) else (
                direct_fmt if col == "direct" else fmt).format(v)
            cells.append(f"{text:>13}")
        lines.append(f"{label:<58}" + "".join(cells))

    def lat(scen: str, q: float, which: str) -> list[float]:
        return [r.latency[scen]["direct"].p(q, which) if c == "direct" else r.added(scen, c, q, which) for c in cols]

    row("non-stream chat, p50", lat("chat", 0.5, "total"))
    row("non-stream chat, p95", lat("chat", 0.95, "total"))
    row("stream chat, time to first byte, p50", lat("chat_stream", 0.5, "first"))
    row("stream chat, time to first byte, p95", lat("chat_stream", 0.95, "first"))
    row(f"stream chat, whole stream ({r.events['chat_stream']} events), p50", lat("chat_stream", 0.5, "total"))
    row("stream chat, per event after the first byte, p50",
        [math.nan if c == "direct" else r.per_event("chat_stream", c) for c in cols], "{:+.4f}")
    for kind, label in (("chat", "non-stream"), ("chat_stream", "stream")):
        row(f"req/s at concurrency 32, {label}", [r.throughput.get(c, {}).get(kind, math.nan) for c in cols],
            "{:.0f}", "{:.0f}")
    for mark in sorted({m for mem in r.memory.values() for m in mem}):
        row(f"RSS after {mark:,} requests (MiB; new session each)",
            [r.memory.get(c, {}).get(mark, math.nan) for c in cols], "{:.1f}", "{:.1f}")
    lines.append("")
    lines.append(f"{'cross-dialect streams through cliproxy (added over direct Codex stream)':<58}"
                 f"{'TTFB p50':>13}{'stream p50':>13}{'per event':>13}")
    for scen, label in _CROSS:
        lines.append(f"{label:<58}{r.added(scen, 'cliproxy', 0.5, 'first'):>+13.3f}"
                     f"{r.added(scen, 'cliproxy'):>+13.3f}{r.per_event(scen, 'cliproxy'):>+13.4f}")
    lines.append(f"{'  (pass-through on the same Codex stream)':<58}{r.added('responses_codex', 'passthrough', 0.5, 'first'):>+13.3f}"
                 f"{r.added('responses_codex', 'passthrough'):>+13.3f}{r.per_event('responses_codex', 'passthrough'):>+13.4f}")
    lines.append("")
    heavy = ", ".join(f"{name} {ms:.0f}" for name, ms in r.heaviest_imports[:4])
    lines.append(f"import handlers.api, fresh process, best of 5: {r.import_ms:.0f} ms   (heaviest: {heavy})")
    lines.append(f"cold start to the first answer (Mangum handler, chat completion), best of 3: "
                 f"{r.first_response_ms:.0f} ms")
    if r.cold_start is not None:
        c = r.cold_start
        lines.append(f"Lambda cold start, streaming function ({'built bundle, python3.12' if c.built else 'src/'}; "
                     f"run.sh, secrets and table on moto), best of 3: init {c.init_ms:.0f} ms, "
                     f"first answer {c.first_answer_ms:.0f} ms")
    d = r.dynamodb
    lines.append("DynamoDB calls per request (moto): " + "; ".join(
        f"{name.replace('_', ' ')} {d[name]['reads']:g} read / {d[name]['writes']:g} write"
        for name in ("steady", "new_session", "failover")) + f"  ({d['snapshot_reload']})")
    if "limited" in d:
        lines.append(f"  + client-key limits (all three set): {d['limited']['reads']:g} read / "
                     f"{d['limited']['writes']:g} write more per request; none for a key without limits")
    lines.append("")
    lines.append("targets (issue 7; issue 3 item 10):")
    for label, ok, detail in r.checks:
        mark = "n/a " if ok is None else ("MET " if ok else "MISS")
        lines.append(f"  [{mark}] {label}: {detail}")
    return "\n".join(lines)


def check(r: Results) -> None:
    """Each target of issues 7 and 3 against this run's numbers."""
    add = r.checks.append
    has_litellm = "litellm" in r.present()
    for scen, which, name in (("chat", "total", "non-stream p50"), ("chat_stream", "first", "TTFB p50")):
        ours, floor = r.added(scen, "cliproxy", 0.5, which), r.added(scen, "passthrough", 0.5, which)
        add((f"{name} within 0.3 ms of the pass-through", ours - floor <= 0.3,
             f"{ours:+.3f} vs {floor:+.3f} ms (gap {ours - floor:+.3f})"))
        peer = r.added(scen, "litellm", 0.5, which) if has_litellm else math.nan
        add((f"{name} >= 10x lower than LiteLLM", None if not has_litellm else peer >= 10 * ours,
             f"LiteLLM {peer:+.3f} ms = {peer / ours:.0f}x" if has_litellm else "run with PEERS=litellm"))
        add((f"{name} <= 1 ms added (issue 3)", ours <= 1.0, f"{ours:+.3f} ms"))
    gap = r.per_event("chat_stream", "cliproxy") - r.per_event("chat_stream", "passthrough")
    add(("per-event cost <= 0.05 ms over the pass-through", gap <= 0.05, f"{gap * 1000:+.1f} µs/event"))
    same = r.added("responses_codex", "cliproxy")
    for scen, label in _CROSS[1:]:
        cross = r.added(scen, "cliproxy")
        add((f"{label} within 2x of same-dialect", cross <= 2 * max(same, 1e-9),
             f"whole stream {cross:+.3f} vs {same:+.3f} ms ({cross / same:.1f}x)"))
    for kind in ("chat", "chat_stream"):
        ours, floor = r.throughput["cliproxy"][kind], r.throughput["passthrough"][kind]
        add((f"req/s ({kind}) >= 80% of the pass-through", ours >= 0.8 * floor, f"{ours / floor:.0%}"))
        if has_litellm:
            peer = r.throughput["litellm"][kind]
            add((f"req/s ({kind}) >= 20x LiteLLM", ours >= 20 * peer, f"{ours / peer:.0f}x"))
        direct = r.throughput["direct"][kind]
        add((f"req/s ({kind}) vs direct (issue 3: >= 50%; superseded by issue 7's pass-through ratio)", None,
             f"{ours / direct:.0%} of a raw-asyncio fake that no Python HTTP server approaches"))
    mem = r.memory["cliproxy"]
    first, last = mem[min(mem)], mem[max(mem)]
    add((f"RSS after {max(mem):,} within 10% of after {min(mem):,}", last <= 1.1 * first,
         f"{first:.1f} -> {last:.1f} MiB ({last / first - 1:+.1%})"))
    add(("import handlers.api <= 300 ms (issue 3: 400)", r.import_ms <= 300, f"{r.import_ms:.0f} ms"))
    if r.cold_start is not None:
        c = r.cold_start
        add(("Lambda cold start to the first answer <= 500 ms (issue 15)", c.first_answer_ms <= 500,
             f"{c.first_answer_ms:.0f} ms (init {c.init_ms:.0f} ms, {'built bundle' if c.built else 'src/'})"))
    steady = r.dynamodb["steady"]
    # issue 12 counts each request in the store as it ends (one ADD), which the earlier 0-write target predates
    add(("DynamoDB steady state <= 1 read, 1 write (the usage ADD, issue 12)",
         steady["reads"] <= 1 and steady["writes"] <= 1,
         f"{steady['reads']:g} read / {steady['writes']:g} write"))
    if "limited" in r.dynamodb:
        extra = r.dynamodb["limited"]["reads"]
        add(("client-key limits add <= 1 DynamoDB read per request (issue 14)", extra <= 1, f"{extra:g} read"))


def as_json(r: Results) -> dict[str, Any]:
    lat = {scen: {t: {"p50_ms": tm.p(0.5), "p95_ms": tm.p(0.95), "ttfb_p50_ms": tm.p(0.5, "first"),
                      "ttfb_p95_ms": tm.p(0.95, "first"), "samples": len(tm.total),
                      **({} if t == "direct" else {"added_p50_ms": r.added(scen, t), "added_p95_ms": r.added(scen, t, 0.95),
                                                   "added_ttfb_p50_ms": r.added(scen, t, 0.5, "first")}),
                      **({"added_per_event_ms": r.per_event(scen, t)}
                         if r.events.get(scen) and t != "direct" else {})}
                  for t, tm in row.items()} for scen, row in r.latency.items()}
    return {"meta": r.meta, "events": r.events, "latency": lat, "throughput_rps": r.throughput,
            "rss_mib": {t: {str(k): v for k, v in m.items()} for t, m in r.memory.items()},
            "import_handlers_api_ms": r.import_ms, "first_response_ms": r.first_response_ms,
            "lambda_cold_start_ms": None if r.cold_start is None else {
                "init": r.cold_start.init_ms, "first_answer": r.cold_start.first_answer_ms, "built": r.cold_start.built},
            "heaviest_imports_ms": dict(r.heaviest_imports),
            "dynamodb_per_request": r.dynamodb,
            "targets": [{"target": label, "met": ok, "measured": detail} for label, ok, detail in r.checks]}
