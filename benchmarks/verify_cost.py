"""What verifying shards costs: sha256 of every listed shard (what steps do before reading) and
`engine check` (size, sha256, rows, schema of every shard, plus leftovers).

    python benchmarks/verify_cost.py [--run RUN] [--n 64] [--repeats 5]

Without --run, generates N documents into a temporary run first. Prints seconds per GB and per page
for the sha256 pass and milliseconds per shard for `engine check`, as medians over the repeats (the
page cache is warm after the first pass, as it is for a step that follows another).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from docfactory.engine.catalog import open_catalog
from docfactory.engine.check import check_run
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.shards import ShardInfo, verify_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="verify-cost-") as tmp:
        run = args.run
        if run is None:
            run = Path(tmp) / "run"
            run_generate(run, GenerateConfig(n=args.n, seed=0, workers=2, shard_docs=16))
        with open_catalog(run, read_only=True) as catalog:
            infos = [ShardInfo(*r) for r in catalog.sql("SELECT path, kind, rows, bytes, sha256 FROM shards").fetchall()]
            pages = catalog.sql("SELECT count(*) FROM documents").fetchone()[0]
        total = sum(i.bytes for i in infos)
        sha, check = [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            verify_all(run, infos)
            sha.append(time.perf_counter() - started)
            started = time.perf_counter()
            check_run(run)
            check.append(time.perf_counter() - started)
        s, c = statistics.median(sha), statistics.median(check)
        print(f"{len(infos)} shards, {total / 1e6:.1f} MB, {pages} pages ({total / max(pages, 1) / 1e3:.0f} KB a page)")
        print(f"sha256 of every listed shard: {s * 1e3:.1f} ms = {s / (total / 1e9):.2f} s per GB = "
              f"{s / max(pages, 1) * 1e3:.3f} ms per page (median of {args.repeats})")
        print(f"engine check: {c * 1e3:.1f} ms = {c / len(infos) * 1e3:.2f} ms per shard (median of {args.repeats})")


if __name__ == "__main__":
    main()
