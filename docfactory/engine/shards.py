"""Write Parquet shards atomically: rows go to a temporary name in the same folder, the file is
flushed and fsynced, then `os.replace`d into place. A reader never sees a partial shard, and a
killed writer leaves only a `.tmp-*` file that `engine check --repair` (or the next write) removes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from docfactory.engine import storage
from docfactory.engine.schema import schema_for

TMP_PREFIX = ".tmp-"
# Fixed writer options (no statistics that vary, zstd) so the same rows give the same bytes.
_WRITE_OPTIONS = dict(compression="zstd", row_group_size=64, write_statistics=True)


@dataclass(frozen=True)
class ShardInfo:
    path: str  # relative to the run folder, '/'-separated
    kind: str
    rows: int
    bytes: int
    sha256: str


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_shard(run_dir: Path | str, rel_path: str, kind: str, rows: Iterable[dict]) -> ShardInfo:
    """Write `rows` (dicts matching the kind's schema) to run_dir/rel_path, atomically. run_dir
    may be an fsspec URL (engine.storage): the same bytes go there in one PUT."""
    schema = schema_for(kind)
    if storage.is_url(run_dir):
        return _write_remote(str(run_dir), rel_path, kind, pa.Table.from_pylist(list(rows), schema=schema))
    target = Path(run_dir) / rel_path
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{TMP_PREFIX}{os.getpid()}-{target.name}")
    table = pa.Table.from_pylist(list(rows), schema=schema)
    try:
        pq.write_table(table, tmp, **_WRITE_OPTIONS)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return ShardInfo(path=Path(rel_path).as_posix(), kind=kind, rows=table.num_rows,
                     bytes=target.stat().st_size, sha256=sha256_of(target))


def _write_remote(root: str, rel_path: str, kind: str, table: pa.Table) -> ShardInfo:
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, **_WRITE_OPTIONS)
    data = buffer.getvalue().to_pybytes()
    storage.write_bytes(storage.location(root, rel_path), data)
    return ShardInfo(path=rel_path, kind=kind, rows=table.num_rows, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
