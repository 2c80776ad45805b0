"""Emission throughput per core: instruction pairs/s and pretraining pages/s, per stage, and the
whole `engine emit` step (read shard -> pairs + pretrain rows -> Parquet -> catalog).

    .venv/bin/python benchmarks/emit.py [--n 64] [--run RUN] [--repeats 3]

Generates N documents first (all cores) unless --run names an existing run. The stage timings run
in this process on one core; the step runs with workers=1, so both numbers are per core. Compare
with benchmarks/generate.py: emission must not be the bottleneck.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from docfactory.engine.catalog import open_catalog
from docfactory.engine.emit import EmitConfig, run_emit
from docfactory.engine.emit.blocks import page_blocks
from docfactory.engine.emit.pairs import ImageRef, page_pairs
from docfactory.engine.emit.pretrain import PretrainOptions, canvas, pretrain_row
from docfactory.engine.generate import GenerateConfig, run_generate


def stages(run: Path) -> dict[str, float]:
    with open_catalog(run, read_only=True) as catalog:
        paths = sorted(catalog.listed("documents"))
    rows = [(p, i, r) for p in paths for i, r in enumerate(pq.read_table(run / p).to_pylist())]
    t: dict[str, float] = {"blocks": 0.0, "pairs": 0.0, "pretrain": 0.0, "canvas+png": 0.0}
    n_pairs = 0
    for path, i, row in rows:
        start = time.perf_counter()
        blocks = page_blocks(row["fields"], row["tables"], row["lines"])
        t["blocks"] += time.perf_counter() - start
        start = time.perf_counter()
        n_pairs += len(page_pairs(row, row, ImageRef(path, i), "train", blocks=blocks))
        t["pairs"] += time.perf_counter() - start
        start = time.perf_counter()
        pretrain_row(row, blocks, path, i, "train")
        t["pretrain"] += time.perf_counter() - start
        start = time.perf_counter()
        canvas(row["image"], PretrainOptions())
        t["canvas+png"] += time.perf_counter() - start
    return {"pages": len(rows), "pairs_made": n_pairs, **t}


def whole_step(run: Path, **kw) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(run, copy, ignore=shutil.ignore_patterns("pairs", "pretrain"))
        with open_catalog(copy) as catalog:
            catalog.sql("DELETE FROM shards WHERE kind IN ('pairs', 'pretrain')")
            catalog.sql("DELETE FROM step_configs WHERE step LIKE 'emit/%'")
        start = time.perf_counter()
        summary = run_emit(copy, EmitConfig(workers=1, **kw))
        return time.perf_counter() - start, summary.pairs, summary.pretrain_pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            run = Path(tmp) / "run"
            start = time.perf_counter()
            s = run_generate(run, GenerateConfig(n=args.n, seed=5, workers=os.cpu_count() or 1))
            print(f"generated {s.pages} pages ({s.verified} documents) in {time.perf_counter() - start:.1f}s on {os.cpu_count()} cores")
        st = stages(run)
        pages = st["pages"]
        print(f"stages, 1 core, {pages} pages, {st['pairs_made']} pairs ({st['pairs_made'] / pages:.1f}/page):")
        for k in ("blocks", "pairs", "pretrain", "canvas+png"):
            print(f"  {k:<11} {1e3 * st[k] / pages:7.2f} ms/page")
        print(f"  pairs alone: {st['pairs_made'] / (st['blocks'] + st['pairs']):.0f} pairs/s per core; "
              f"pretraining alone: {pages / (st['blocks'] + st['pretrain']):.1f} pages/s per core")
        for label, kw in (("pairs only", {"pretrain": False}), ("pretrain only", {"pairs": False}), ("both", {})):
            runs = [whole_step(run, **kw) for _ in range(args.repeats)]
            secs = statistics.median(r[0] for r in runs)
            _, n_pairs, n_pages = runs[0]
            rate = (f"{n_pairs / secs:.0f} pairs/s" if n_pairs else "") + (", " if n_pairs and n_pages else "") + \
                   (f"{n_pages / secs:.1f} pretraining pages/s" if n_pages else "")
            print(f"engine emit, 1 worker, {label}: {secs:.2f}s median of {args.repeats} -> {rate} per core")


if __name__ == "__main__":
    main()
