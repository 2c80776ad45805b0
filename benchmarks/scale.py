"""Scale-out: generation pages/s with 1 and 2 workers under the local and Ray executors, the
scaling efficiency, and the cores and hours a 2M-page run takes at the measured per-core rate.

    .venv/bin/python benchmarks/scale.py [--n 48] [--shard-docs 4] [--executors local,ray] [--pages 2000000]

Each configuration first warms its workers (they import docfactory and load the templates once, as
a long run does), then times one run of N documents. Ray start-up is not timed. Every configuration
must write byte-identical shards; the script says so or fails. The local 1-worker run works in this
process, so its pages per CPU-second is the per-core rate even when others share the machine (the
wall rates and the efficiency are only as good as the machine is quiet: see the load average).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from docfactory.engine.catalog import open_catalog
from docfactory.engine.executor import ExecutorOptions, make_executor
from docfactory.engine.generate import GenerateConfig, run_generate


def measure(kind: str, workers: int, n: int, shard_docs: int, root: Path) -> tuple[float, int, dict, float]:
    """(wall seconds, pages, shard hashes, CPU seconds of this process) of one timed run on a warm executor."""
    with make_executor(ExecutorOptions(kind=kind), workers) as executor:
        warm = GenerateConfig(n=2 * workers, seed=99, shard_docs=1, workers=workers)
        run_generate(root / f"warm-{kind}-{workers}", warm, executor=executor)
        run = root / f"{kind}-{workers}"
        started, cpu = time.perf_counter(), time.process_time()
        summary = run_generate(run, GenerateConfig(n=n, seed=0, shard_docs=shard_docs, workers=workers), executor=executor)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with open_catalog(run, read_only=True) as catalog:
        hashes = {path: info.sha256 for path, info in catalog.listed("documents").items()}
    return seconds, summary.pages, hashes, cpu


def estimate(pages: int, per_core: float, efficiency: float) -> str:
    """Core-hours and hours on 16 / 64 / 256 cores for `pages` at `per_core` pages/s x `efficiency`."""
    core_hours = pages / (per_core * efficiency) / 3600
    hours = ", ".join(f"{cores} cores {core_hours / cores:.1f} h" for cores in (16, 64, 256))
    return f"  at efficiency {efficiency:.2f}: {core_hours:,.0f} core-hours; {hours}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48, help="documents per timed run")
    parser.add_argument("--shard-docs", type=int, default=4, help="documents per shard (task)")
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument("--pages", type=int, default=2_000_000, help="the run size to estimate")
    args = parser.parse_args()
    results: dict[tuple[str, int], tuple[float, int, dict, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.executors.split(","):
            for workers in (1, 2):
                results[kind, workers] = measure(kind, workers, args.n, args.shard_docs, Path(tmp))
    print(f"generate n={args.n} documents, {args.shard_docs} per shard; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"{'executor':8s} {'workers':>7s} {'seconds':>8s} {'pages':>6s} {'pages/s':>8s} {'speed-up':>8s} {'efficiency':>10s}")
    efficiencies = {}
    for (kind, workers), (seconds, pages, _, _) in results.items():
        rate, one = pages / seconds, results[kind, 1][1] / results[kind, 1][0]
        efficiencies[kind, workers] = rate / (workers * one)
        print(f"{kind:8s} {workers:7d} {seconds:8.1f} {pages:6d} {rate:8.2f} {rate / one:7.2f}x {efficiencies[kind, workers]:10.2f}")
    identical = len({tuple(sorted(h.items())) for _, _, h, _ in results.values()}) == 1
    print(f"shards byte-identical across all runs: {'yes' if identical else 'NO'}")
    if ("local", 1) in results:
        seconds, pages, _, cpu = results["local", 1]
        per_core = pages / cpu
        print(f"per-core rate (local, 1 worker, in this process): {per_core:.2f} pages per CPU-second "
              f"({pages / seconds:.2f} pages/s wall)")
        print(f"{args.pages:,} pages at {per_core:.2f} pages/s per core = {args.pages / per_core / 3600:,.0f} core-hours")
        measured = min(1.0, max(e for (_, w), e in efficiencies.items() if w == 2))
        for efficiency in sorted({measured, 0.9}):
            print(estimate(args.pages, per_core, efficiency))
    if not identical:
        raise SystemExit("shards differ between executors or worker counts")


if __name__ == "__main__":
    main()
