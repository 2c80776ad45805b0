"""Generation throughput: verified pages/s per core for the whole pipeline (content -> PDF -> labels
-> verification -> Parquet), the time of each stage, and peak memory as N grows.

    .venv/bin/python benchmarks/generate.py [--n 96] [--repeats 3]

Runs on one core (workers=1) so the number is per core; the 2-worker line shows scaling.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.generators import generate_pages, sample_spec
from docfactory.templates import TemplateRegistry


def whole_pipeline(n: int, workers: int, seed: int) -> tuple[float, int, int, float]:
    """(wall seconds, pages, rejected, CPU seconds of this process). With one worker everything
    runs here, so pages per CPU second is the per-core rate even on a machine others share."""
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        summary = run_generate(Path(tmp) / "run", GenerateConfig(n=n, seed=seed, workers=workers))
        return time.perf_counter() - start, summary.pages, summary.rejected, time.process_time() - cpu


def stage_times(n: int, seed: int) -> dict[str, float]:
    registry = TemplateRegistry()
    templates = list(registry.templates.values())
    times: dict[str, float] = {}
    pages = 0
    for start in range(0, n, 8):
        specs = [sample_spec(seed, i, templates) for i in range(start, min(start + 8, n))]
        records, _ = generate_pages(specs, registry, times)
        pages += len(records)
    return {k: v / pages for k, v in times.items()}


def peak_rss_mb(n: int) -> float:
    code = ("import resource, tempfile; from docfactory.engine.generate import GenerateConfig, run_generate; "
            f"d = tempfile.mkdtemp(); run_generate(d + '/run', GenerateConfig(n={n}, seed=3, workers=1)); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    whole_pipeline(8, 1, seed=99)  # warm caches (fonts, Faker, templates) outside the timing
    runs = [whole_pipeline(args.n, 1, seed=r) for r in range(args.repeats)]
    rates = [pages / secs for secs, pages, _, _ in runs]
    cpu_rates = [pages / cpu for _, pages, _, cpu in runs]
    print(f"whole pipeline, 1 worker, n={args.n}: median {statistics.median(rates):.2f} verified pages/s (wall), "
          f"{statistics.median(cpu_rates):.2f} pages per CPU-second "
          f"(runs: {', '.join(f'{r:.2f}' for r in rates)}; rejected {sum(r for _, _, r, _ in runs)}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    secs, pages, _, _ = whole_pipeline(args.n, 2, seed=0)
    print(f"whole pipeline, 2 workers, n={args.n}: {pages / secs:.2f} pages/s "
          f"({pages / secs / statistics.median(rates):.2f}x one worker; includes process start-up)")
    per_page = stage_times(args.n, seed=1)
    total = sum(per_page.values())
    print("per-page stage times (ms):")
    for stage, secs in sorted(per_page.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:11s} {secs * 1000:7.1f}  ({secs / total:5.1%})")
    print(f"  {'total':11s} {total * 1000:7.1f}")
    small, large = peak_rss_mb(32), peak_rss_mb(160)
    print(f"peak RSS: n=32 {small:.0f} MB, n=160 {large:.0f} MB (flat = shards are flushed as they fill)")


if __name__ == "__main__":
    main()
