"""Scale-out: generation pages/s with 1 and 2 workers under the local and Ray executors, the
scaling efficiency, and the cores and hours a 2M-page run takes at the measured per-core rate.

    .venv/bin/python benchmarks/scale.py [--n 48] [--shard-docs 4] [--executors local,ray] [--pages 2000000]

Each configuration first warms its workers (they import docfactory and load the templates once, as
a long run does), then times one run of N documents. Ray start-up is not timed. Every configuration
must write byte-identical shards; the script says so or fails.

Wall rates and their efficiency are only as good as the machine is quiet (the load average is
printed). So the CPU seconds of every task are measured where it runs (the worker) and added to the
driver's: pages per CPU-second is the per-core rate even on a shared machine, and its ratio between
2 workers and 1 (the CPU efficiency) is what the executor costs in serialization, scheduling and
catalog writes. The 2M-page estimate uses those two numbers.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from docfactory.engine.catalog import open_catalog
from docfactory.engine.executor import ExecutorOptions, TaskError, make_executor
from docfactory.engine.generate import GenerateConfig, run_generate


def timed(fn, *args):
    """Runs in the worker: the task's result and the CPU seconds it took there."""
    started = time.process_time()
    result = fn(*args)
    return result, time.process_time() - started


class CpuMeter:
    """Wraps an executor; adds up the CPU seconds its tasks took in the workers."""

    def __init__(self, inner):
        self.inner, self.kind, self.cpu = inner, inner.kind, 0.0

    def map(self, fn, tasks, *shared):
        for task, outcome in self.inner.map(timed, tasks, fn, *shared):
            if isinstance(outcome, TaskError):
                raise SystemExit(f"task failed: {outcome.detail or outcome.reason}")
            result, cpu = outcome
            self.cpu += cpu
            yield task, result


def measure(kind: str, workers: int, n: int, shard_docs: int, root: Path) -> tuple[float, int, dict, float]:
    """(wall seconds, pages, shard hashes, CPU seconds) of one timed run on a warm executor. The CPU
    seconds are the tasks' (in the workers) plus the driver's outside them."""
    with make_executor(ExecutorOptions(kind=kind), workers) as inner:
        executor = CpuMeter(inner)
        warm = GenerateConfig(n=2 * workers, seed=99, shard_docs=1, workers=workers)
        run_generate(root / f"warm-{kind}-{workers}", warm, executor=executor)
        run = root / f"{kind}-{workers}"
        started, cpu = time.perf_counter(), time.process_time()
        summary = run_generate(run, GenerateConfig(n=n, seed=0, shard_docs=shard_docs, workers=workers), executor=executor)
        seconds, driver = time.perf_counter() - started, time.process_time() - cpu
        inline = kind == "local" and workers == 1  # the tasks ran in this process: already in `driver`
        cpu = driver if inline else driver + executor.cpu
    with open_catalog(run, read_only=True) as catalog:
        hashes = {path: info.sha256 for path, info in catalog.listed("documents").items()}
    return seconds, summary.pages, hashes, cpu


def estimate(pages: int, per_core: float, efficiency: float) -> str:
    """Core-hours and hours on 16 / 64 / 256 cores for `pages` at `per_core` pages/s x `efficiency`."""
    core_hours = pages / (per_core * efficiency) / 3600
    hours = ", ".join(f"{cores} cores {core_hours / cores:.1f} h" for cores in (16, 64, 256))
    return f"at CPU efficiency {efficiency:.2f}: {core_hours:,.0f} core-hours; {hours}"


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
    print(f"{'executor':8s} {'workers':>7s} {'seconds':>8s} {'pages':>6s} {'pages/s':>8s} {'speed-up':>8s} "
          f"{'efficiency':>10s} {'CPU s':>7s} {'pages/CPU-s':>11s} {'CPU eff.':>8s}")
    cpu_efficiency = {}
    for (kind, workers), (seconds, pages, _, cpu) in results.items():
        one_seconds, one_pages, _, one_cpu = results[kind, 1]
        rate, one = pages / seconds, one_pages / one_seconds
        cpu_efficiency[kind, workers] = (pages / cpu) / (one_pages / one_cpu)
        print(f"{kind:8s} {workers:7d} {seconds:8.1f} {pages:6d} {rate:8.2f} {rate / one:7.2f}x {rate / (workers * one):10.2f} "
              f"{cpu:7.1f} {pages / cpu:11.2f} {cpu_efficiency[kind, workers]:8.2f}")
    identical = len({tuple(sorted(h.items())) for _, _, h, _ in results.values()}) == 1
    print(f"shards byte-identical across all runs: {'yes' if identical else 'NO'}")
    seconds, pages, _, cpu = results[next(iter(results))[0], 1]
    per_core = pages / cpu
    print(f"per-core rate: {per_core:.2f} pages per CPU-second; {args.pages:,} pages = "
          f"{args.pages / per_core / 3600:,.0f} core-hours of work")
    for kind in dict.fromkeys(kind for kind, _ in results):
        print(f"{kind}:", estimate(args.pages, per_core, min(1.0, cpu_efficiency[kind, 2])))
    if not identical:
        raise SystemExit("shards differ between executors or worker counts")


if __name__ == "__main__":
    main()
