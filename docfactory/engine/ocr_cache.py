"""The OCR cache of a run: `ocr` shards keyed by image sha256 and OCR settings.

Listed `ocr` shards are read once when the cache opens; new results are buffered and written as
a new shard every `flush_every` pages (and on close), atomically and listed in the catalog, so a
killed step loses at most one buffer of OCR work and a rerun reads the rest from the shards.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from docfactory.engine.catalog import open_catalog
from docfactory.engine.shards import write_shard

KIND = "ocr"


class ShardOcrCache:
    def __init__(self, run_dir: Path | str, flush_every: int = 32):
        self.run_dir = Path(run_dir).resolve()
        self.flush_every = flush_every
        self.entries: dict[str, list[dict]] = {}
        self.pending: list[dict] = []
        self.hits = self.misses = 0
        paths = _retry(lambda: _listed(self.run_dir))
        for path in paths:
            for row in pq.read_table(self.run_dir / path, columns=["key", "words"]).to_pylist():
                self.entries[row["key"]] = row["words"]
        self.shards = len(paths)

    def get(self, key: str) -> list[dict] | None:
        found = self.entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: str, words: list[dict], seconds: float) -> None:
        self.entries[key] = words
        sha, _, settings = key.partition(":")
        self.pending.append({"key": key, "image_sha256": sha, "settings": settings, "words": words, "seconds": seconds})
        if len(self.pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        _retry(self._write)

    def _write(self) -> None:
        with open_catalog(self.run_dir) as catalog:
            taken = set(catalog.listed(KIND))
            index = len(taken)
            while f"shards/{KIND}/part-{index:05d}.parquet" in taken or (self.run_dir / f"shards/{KIND}/part-{index:05d}.parquet").exists():
                index += 1
            info = write_shard(self.run_dir, f"shards/{KIND}/part-{index:05d}.parquet", KIND, self.pending)
            catalog.add_shard(info)
        self.pending = []
        self.shards += 1

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "ShardOcrCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _listed(run_dir: Path) -> list[str]:
    with open_catalog(run_dir, read_only=True) as catalog:
        return sorted(catalog.listed(KIND))


def _retry(action, attempts: int = 60, wait_s: float = 0.5):
    """Another step (an evaluation, a second predict) may hold the catalog's lock for a moment."""
    for attempt in range(attempts):
        try:
            return action()
        except duckdb.IOException:
            if attempt == attempts - 1:
                raise
            time.sleep(wait_s)
