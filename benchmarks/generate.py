"""Generation throughput: verified pages per CPU-second for the whole pipeline (content -> PDF ->
labels -> verification -> Parquet), the time of each stage and template, scaling on warm workers
(local and Ray), and peak memory as N grows and per worker.

    .venv/bin/python benchmarks/generate.py [--n 96] [--repeats 3] [--scale-n 200] [--no-ray]

- per core: one worker, in this process (no time limit, so no worker process), CPU seconds of this
  process: pages per CPU-second, a per-core rate even on a machine others share;
- scaling: the same run on 1 and on 2 warm workers (started and warmed by a small run first, as a
  loop's or a service's workers are), wall clock, median of the repeats, both in this one run;
- stages: milliseconds per page of each stage, and per document of each template.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from docfactory.engine.executor import ExecutorOptions, make_executor
from docfactory.engine.executor.local import release_workers, warm_workers
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.generators import generate_pages, sample_spec
from docfactory.templates import TemplateRegistry


def per_core(n: int, seed: int) -> tuple[float, int, int]:
    """(CPU seconds, pages, rejected) of one in-process run."""
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        summary = run_generate(Path(tmp) / "run", GenerateConfig(n=n, seed=seed, workers=1, task_timeout=None))
        return time.process_time() - cpu, summary.pages, summary.rejected


def on_executor(executor, n: int, seed: int, workers: int) -> tuple[float, int]:
    """(wall seconds, pages) of one run on an executor whose workers are already warm."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = run_generate(Path(tmp) / "run", GenerateConfig(n=n, seed=seed, workers=workers), executor=executor)
        return time.perf_counter() - start, summary.pages


def scaling(kind: str, n: int, repeats: int) -> dict[int, float]:
    """workers -> median pages/s on warm workers of this executor kind."""
    rates = {}
    for workers in (1, 2):
        if kind == "ray":
            import ray

            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)  # one task per CPU
        try:
            with make_executor(ExecutorOptions(kind=kind), workers) as executor:
                on_executor(executor, 8 * workers, 999, workers)  # start and warm every worker
                runs = [on_executor(executor, n, seed, workers) for seed in range(repeats)]
                rates[workers] = statistics.median(pages / secs for secs, pages in runs)
        finally:
            if kind == "ray":
                ray.shutdown()
    return rates


def stage_times(n: int, seed: int) -> tuple[dict[str, float], dict[str, tuple[float, int]]]:
    """(seconds per page of each stage, template -> (CPU seconds per document, documents))."""
    registry = TemplateRegistry()
    templates = list(registry.templates.values())
    times: dict[str, float] = {}
    per_template, counts = defaultdict(float), Counter()
    pages = 0
    for i in range(n):
        spec = sample_spec(seed, i, templates)
        cpu = time.process_time()
        records, _ = generate_pages([spec], registry, times)
        per_template[spec.template] += time.process_time() - cpu
        counts[spec.template] += 1
        pages += len(records)
    return ({k: v / pages for k, v in times.items()},
            {t: (per_template[t] / counts[t], counts[t]) for t in sorted(counts)})


def peak_rss_mb(n: int) -> float:
    code = ("import resource, tempfile; from docfactory.engine.generate import GenerateConfig, run_generate; "
            f"d = tempfile.mkdtemp(); run_generate(d + '/run', GenerateConfig(n={n}, seed=3, workers=1, "
            "task_timeout=None)); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[-1])


def worker_peaks_mb() -> list[float]:
    """Peak RSS (VmHWM) of each warm local worker."""
    peaks = []
    for process in warm_workers():
        status = Path(f"/proc/{process.pid}/status").read_text()
        peaks.append(int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=96, help="documents per per-core run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale-n", type=int, default=200, help="documents per scaling run")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray scaling line")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    per_core(8, seed=99)  # warm caches (fonts, Faker, templates) outside the timing
    runs = [per_core(args.n, seed=r) for r in range(args.repeats)]
    rates = [pages / cpu for cpu, pages, _ in runs]
    print(f"per core, n={args.n}: median {statistics.median(rates):.2f} verified pages per CPU-second "
          f"(runs: {', '.join(f'{r:.2f}' for r in rates)}; rejected {sum(r for _, _, r in runs)})")
    for kind in ("local",) + (() if args.no_ray else ("ray",)):
        try:
            by_workers = scaling(kind, args.scale_n, args.repeats)
        except Exception as exc:  # noqa: BLE001 - e.g. Ray not installed: say so, print the rest
            print(f"scaling, {kind}: not measured ({type(exc).__name__}: {exc})")
            continue
        print(f"scaling, {kind}, warm workers, n={args.scale_n}: 1 worker {by_workers[1]:.2f} pages/s, "
              f"2 workers {by_workers[2]:.2f} pages/s = {by_workers[2] / by_workers[1]:.2f}x")
        if kind == "local":
            print("peak RSS per warm local worker: " + ", ".join(f"{mb:.0f} MB" for mb in worker_peaks_mb()))
            release_workers()
    per_page, per_template = stage_times(args.n, seed=1)
    total = sum(per_page.values())
    print("per-page stage times (ms, CPU):")
    for stage, secs in sorted(per_page.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:11s} {secs * 1000:7.1f}  ({secs / total:5.1%})")
    print(f"  {'total':11s} {total * 1000:7.1f}")
    print("per-document time by template (ms, CPU, whole pipeline without Parquet):")
    for name, (secs, count) in per_template.items():
        print(f"  {name:18s} {secs * 1000:7.1f}  (n={count})")
    small, large = peak_rss_mb(32), peak_rss_mb(160)
    print(f"peak RSS, one process: n=32 {small:.0f} MB, n=160 {large:.0f} MB (flat = shards are flushed as they fill)")


if __name__ == "__main__":
    main()
