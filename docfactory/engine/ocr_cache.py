"""The OCR cache of a run: `ocr` shards keyed by image sha256 and OCR settings.

`ShardOcrCache` (one process: train) reads the listed `ocr` shards once when it opens; new results
are buffered and written as a new shard every `flush_every` pages (and on close), atomically and
listed in the catalog, so a killed step loses at most one buffer of OCR work and a rerun reads the
rest from the shards.

Under an executor (predict) only the driver lists shards: each worker keeps a `SnapshotOcrCache`
(the shards listed when the step began, read once per worker process) and hands the words it read
back with its task's result; the driver writes them with `write_entries`.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from docfactory.engine import storage
from docfactory.engine.catalog import open_catalog
from docfactory.engine.shards import write_shard

KIND = "ocr"


def read_entries(root: str, paths: list[str]) -> dict[str, list[dict]]:
    entries: dict[str, list[dict]] = {}
    for path in paths:
        for row in storage.read_table(root, path, columns=["key", "words"]).to_pylist():
            entries[row["key"]] = row["words"]
    return entries


def listed_shards(run_dir: Path | str) -> list[str]:
    return _retry(lambda: _listed(storage.run_root(run_dir)))


def write_entries(run_dir: Path | str, rows: list[dict]) -> None:
    """Write OCR results ({key, image_sha256, settings, words, seconds}) as a new listed shard."""
    if rows:
        _retry(lambda: _write(storage.run_root(run_dir), rows))


class _CountingLookup:
    """`get` over `self.entries`, counting hits and misses (for the predict step's summary)."""

    entries: dict[str, list[dict]]
    hits: int
    misses: int

    def get(self, key: str) -> list[dict] | None:
        found = self.entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found


class ShardOcrCache(_CountingLookup):
    def __init__(self, run_dir: Path | str, flush_every: int = 32):
        self.root = storage.run_root(run_dir)
        self.run_dir = self.root if storage.is_url(self.root) else Path(self.root)
        self.flush_every = flush_every
        self.pending: list[dict] = []
        self.hits = self.misses = 0
        paths = listed_shards(self.root)
        self.entries = read_entries(self.root, paths)
        self.shards = len(paths)

    def put(self, key: str, words: list[dict], seconds: float) -> None:
        self.entries[key] = words
        self.pending.append(_row(key, words, seconds))
        if len(self.pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        write_entries(self.root, self.pending)
        self.pending = []
        self.shards += 1

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "ShardOcrCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SnapshotOcrCache(_CountingLookup):
    """A worker's cache: the entries of some listed shards, plus what it read since `take_new`."""

    def __init__(self, root: str | None = None, paths: tuple[str, ...] = ()):
        self.entries = read_entries(root, list(paths)) if root is not None else {}
        self.new: list[dict] = []
        self.hits = self.misses = 0

    def put(self, key: str, words: list[dict], seconds: float) -> None:
        self.entries[key] = words
        self.new.append(_row(key, words, seconds))

    def take_new(self) -> tuple[list[dict], int, int]:
        """(rows read since the last call, hits, misses), and start counting again."""
        taken = (self.new, self.hits, self.misses)
        self.new, self.hits, self.misses = [], 0, 0
        return taken


def _row(key: str, words: list[dict], seconds: float) -> dict:
    sha, _, settings = key.partition(":")
    return {"key": key, "image_sha256": sha, "settings": settings, "words": words, "seconds": seconds}


def _write(root: str, rows: list[dict]) -> None:
    with open_catalog(root) as catalog:
        taken = set(catalog.listed(KIND))
        index = len(taken)
        while f"shards/{KIND}/part-{index:05d}.parquet" in taken or storage.exists(root, f"shards/{KIND}/part-{index:05d}.parquet"):
            index += 1
        info = write_shard(root, f"shards/{KIND}/part-{index:05d}.parquet", KIND, rows)
        catalog.add_shard(info)


def _listed(root: str) -> list[str]:
    with open_catalog(root, read_only=True) as catalog:
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
