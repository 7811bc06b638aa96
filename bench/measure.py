"""Latency rounds, throughput and memory phases; plain numbers out, the table is ``bench.report``'s job."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench import client, scenarios

if TYPE_CHECKING:
    from bench.scenarios import Scenario
    from bench.targets import Target

WARMUP = 3  # unmeasured requests to the same target before each measured one


@dataclass
class Timings:
    first: list[float] = field(default_factory=list)  # ms to the first body byte
    total: list[float] = field(default_factory=list)  # ms to the last body byte

    def p(self, q: float, which: str = "total") -> float:
        values = sorted(getattr(self, which))
        return values[min(len(values) - 1, int(q * len(values)))]

    def p50_after_first(self) -> float:
        return statistics.median(t - f for f, t in zip(self.first, self.total, strict=True))


async def latency(scens: list[Scenario], targets: list[str], ports: dict[str, int],
                  rounds: int) -> dict[str, dict[str, Timings]]:
    """Round by round: every scenario, every target (rotating the order), 3 warm-ups then 1 measured."""
    conns = {name: await client.Connection.open(ports[name]) for name in targets}
    out = {s.name: {name: Timings() for name in s.calls} for s in scens}
    try:
        for r in range(rounds):
            for scen in scens:
                names = [n for n in targets if n in scen.calls]
                shift = r % len(names)
                for name in names[shift:] + names[:shift]:
                    call, conn = scen.calls[name], conns[name]
                    for _ in range(WARMUP):
                        await conn.send(call)
                    sample = await conn.send(call)
                    out[scen.name][name].first.append(sample.first * 1000)
                    out[scen.name][name].total.append(sample.total * 1000)
    finally:
        for conn in conns.values():
            conn.close()
    return out


async def throughput(targets: list[str], ports: dict[str, int], *, concurrency: int, seconds: float,
                     passes: int) -> dict[str, dict[str, float]]:
    """req/s for plain and streamed chat, each target in turn, ``passes`` times in alternating order."""
    runs: dict[str, dict[str, list[float]]] = {n: {"chat": [], "chat_stream": []} for n in targets}
    for i in range(passes):
        order = targets if i % 2 == 0 else targets[::-1]
        for name in order:
            for kind, stream in (("chat", False), ("chat_stream", True)):
                call = scenarios.chat(ports[name], stream=stream)
                rate = await client.throughput(ports[name], call, concurrency=concurrency, seconds=seconds)
                runs[name][kind].append(rate)
    return {n: {k: statistics.mean(v) for k, v in kinds.items()} for n, kinds in runs.items()}


async def memory(target: Target, checkpoints: tuple[int, ...], *, concurrency: int) -> dict[int, float]:
    """RSS (MiB) after each checkpoint's number of requests, every request a new client session."""
    out: dict[int, float] = {}
    sent = 0
    for mark in checkpoints:
        await client.blast(target.port, scenarios.session_calls(target.port, mark - sent, sent),
                           concurrency=concurrency)
        sent = mark
        out[mark] = target.rss_mb()
    return out
