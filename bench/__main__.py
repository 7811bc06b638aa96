"""``python -m bench [--peers litellm] [--long]``: start the targets, measure, print the table, write JSON."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench import dynamo, imports, lambda_init, measure, report, scenarios, targets


def _args() -> argparse.Namespace:
    long = os.environ.get("BENCH_LONG", "") not in ("", "0")
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--peers", default="", help="comma-separated peers to include: litellm")
    p.add_argument("--long", action="store_true", default=long,
                   help="4x the rounds, 3x the throughput time, 10,000 requests for every RSS (env BENCH_LONG=1)")
    p.add_argument("--rounds", type=int, help="latency rounds (default 150, 600 with --long)")
    p.add_argument("--seconds", type=float, help="throughput seconds per target and pass (default 2)")
    p.add_argument("--json", default="bench-results.json", help="where to write the results")
    args = p.parse_args()
    args.rounds = args.rounds or (600 if args.long else 150)
    args.seconds = args.seconds or (6.0 if args.long else 2.0)
    args.peers = {x.strip() for x in args.peers.split(",") if x.strip()}
    unknown = args.peers - {"litellm"}
    if unknown:
        p.error(f"unknown peer(s): {', '.join(sorted(unknown))}")
    return args


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


async def run(args: argparse.Namespace, workdir: Path) -> report.Results:
    started = time.monotonic()
    up = await targets.start_upstream(workdir)
    procs = {"direct": up}
    try:
        procs["passthrough"] = await targets.start_passthrough(workdir, up.port)
        procs["cliproxy"] = await targets.start_cliproxy(workdir, up.port)
        if "litellm" in args.peers:
            procs["litellm"] = await targets.start_litellm(workdir, up.port)
        names = list(procs)
        ports = {name: t.port for name, t in procs.items()}
        _say(f"targets up: {', '.join(f'{n}:{p}' for n, p in ports.items())}")

        memory = {}
        for name in names[1:]:
            marks = (1_000, 10_000) if name != "litellm" or args.long else (1_000,)
            memory[name] = await measure.memory(procs[name], marks, concurrency=32)
            _say(f"memory {name}: {memory[name]}")
        scens = scenarios.build(ports)
        latency = await measure.latency(scens, names, ports, args.rounds)
        _say("latency done")
        passes = 2
        rates = await measure.throughput(names, ports, concurrency=32, seconds=args.seconds, passes=passes)
        _say("throughput done")
        dyn = await dynamo.count(workdir, up.port)
        first_ms = imports.first_response_ms(str(targets.cliproxy_config(workdir, up.port)),
                                             key=targets.CLIENT_KEY, model=targets.CHAT_MODEL)
        cold = lambda_init.cold_start(up.port, targets.CHAT_MODEL, workdir)
        _say(f"lambda cold start: {cold}")
    finally:
        for target in procs.values():
            target.stop()
    import_ms = imports.import_ms()
    meta = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "machine": _machine(),
            "python": platform.python_version(), "rounds": args.rounds, "seconds": args.seconds, "passes": passes,
            "peers": sorted(args.peers), "duration_s": round(time.monotonic() - started, 1)}
    return report.Results(meta, latency, {s.name: s.events for s in scens}, rates, memory, import_ms,
                          imports.heaviest(), dyn, first_ms, cold)


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def main() -> None:
    args = _args()
    workdir = Path(tempfile.mkdtemp(prefix="cliproxy-bench-"))
    try:
        import uvloop

        results = uvloop.run(run(args, workdir))
    except ImportError:
        results = asyncio.run(run(args, workdir))
    except BaseException:
        print(f"bench: failed; process logs are in {workdir}", file=sys.stderr)
        raise
    report.check(results)
    print(report.table(results))
    Path(args.json).write_bytes(orjson.dumps(report.as_json(results), option=orjson.OPT_INDENT_2))
    print(f"\nwritten to {args.json} in {results.meta['duration_s']:.0f}s")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
