"""Write Parquet shards atomically: rows go to a temporary name in the same folder, the file is
flushed and fsynced, then `os.replace`d into place. A reader never sees a partial shard, and a
killed writer leaves only a `.tmp-*` file that `engine check --repair` (or the next write) removes.

A step verifies the listed shards it reads (`verify`: size, then sha256 against the catalog) before
reading them: a bit flipped on disk can still decode as valid Parquet (the footer carries no
checksum, and neither do the pages we write), so catching the reader's error would miss it.
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


class ShardWriteError(OSError):
    """A shard could not be written (disk full, file too large, ...); nothing was left or listed."""


class CorruptShardError(ValueError):
    """A listed shard is not the file the catalog lists (missing, truncated or altered)."""


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
    _remove_stale_temporaries(target)
    table = pa.Table.from_pylist(list(rows), schema=schema)
    try:
        pq.write_table(table, tmp, **_WRITE_OPTIONS)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:  # ENOSPC, EFBIG, EIO: name the shard; the temporary file goes below
        reason = os.strerror(exc.errno) if exc.errno else str(exc).splitlines()[0]
        raise ShardWriteError(exc.errno, f"{target}: could not write this shard ({reason}); "
                                         "nothing was listed, a rerun makes it") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return ShardInfo(path=Path(rel_path).as_posix(), kind=kind, rows=table.num_rows,
                     bytes=target.stat().st_size, sha256=sha256_of(target))


def _remove_stale_temporaries(target: Path) -> None:
    """Remove what a killed writer of the same shard left (`.tmp-PID-name` of a PID that is gone)."""
    for leftover in target.parent.glob(f"{TMP_PREFIX}*-{target.name}"):
        pid = leftover.name[len(TMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def verify(run_dir: Path | str, info: ShardInfo) -> None:
    """Raise CorruptShardError unless run_dir/info.path has the listed size and sha256. A URL run
    is checked by size only (hashing would download every shard twice)."""
    where = storage.location(run_dir, info.path)
    hint = f"run `engine check {run_dir} --repair` to unlist it, then rerun the step to remake it"
    if storage.is_url(where):
        fs, path = storage.filesystem(where)
        size = fs.size(path) if fs.exists(path) else None
    else:
        size = os.path.getsize(where) if os.path.exists(where) else None
    if size is None:
        raise CorruptShardError(f"{where}: listed shard is missing; {hint}")
    if size != info.bytes:
        raise CorruptShardError(f"{where}: corrupt shard ({size} bytes, the catalog lists {info.bytes}); {hint}")
    if not storage.is_url(where):
        digest = sha256_of(Path(where))
        if digest != info.sha256:
            raise CorruptShardError(f"{where}: corrupt shard (sha256 {digest[:12]}..., the catalog lists "
                                    f"{info.sha256[:12]}...); {hint}")


def verify_all(run_dir: Path | str, infos: Iterable[ShardInfo]) -> int:
    """Verify each shard (see verify); returns the bytes read."""
    total = 0
    for info in sorted(infos, key=lambda i: i.path):
        verify(run_dir, info)
        total += info.bytes
    return total


def verify_listed(run_dir: Path | str, kinds: Iterable[str], iterations: Iterable[int] | None = None) -> int:
    """Verify the run's listed shards of these kinds (and iterations) before a step reads them."""
    from docfactory.engine.catalog import open_catalog  # the catalog imports this module

    kinds, wanted = set(kinds), None if iterations is None else set(iterations)
    with open_catalog(run_dir, read_only=True) as catalog:
        rows = catalog.sql("SELECT path, kind, rows, bytes, sha256, iteration FROM shards").fetchall()
    return verify_all(run_dir, [ShardInfo(*r[:5]) for r in rows if r[1] in kinds and (wanted is None or r[5] in wanted)])


def _write_remote(root: str, rel_path: str, kind: str, table: pa.Table) -> ShardInfo:
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, **_WRITE_OPTIONS)
    data = buffer.getvalue().to_pybytes()
    storage.write_bytes(storage.location(root, rel_path), data)
    return ShardInfo(path=rel_path, kind=kind, rows=table.num_rows, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
