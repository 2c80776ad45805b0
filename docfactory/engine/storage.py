"""Where a run lives: a local folder (the default) or any fsspec URL (`s3://bucket/runs/r1` with
s3fs installed, `gs://`, `memory://` in tests).

A run is named by its *root*: a resolved local path, or the URL without a trailing '/'. Shard paths
stay relative to it ('shards/documents/it000/part-00000.parquet'), so the catalog's listing is the
same wherever the run lives. Locally a shard is written to a temporary name and renamed into place
(engine.shards); on an object store one PUT of the whole object is already all-or-nothing, so the
bytes go straight to their name. Either way the catalog lists a shard only after it is complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def is_url(run: str | os.PathLike) -> bool:
    """True for 'proto://...' other than file:// (which is a local path)."""
    text = os.fspath(run)
    return "://" in text and not text.startswith("file://")


def run_root(run: str | os.PathLike) -> str:
    """The run's canonical root: an absolute local path, or the URL without a trailing '/'."""
    text = os.fspath(run)
    if is_url(text):
        return text.rstrip("/")
    return str(Path(text.removeprefix("file://")).resolve())


def location(root: str | os.PathLike, rel_path: str) -> str:
    """The absolute path or URL of a file of the run."""
    root = os.fspath(root)
    return f"{root.rstrip('/')}/{rel_path}" if is_url(root) else str(Path(root) / rel_path)


def filesystem(root: str | os.PathLike):
    """(fsspec filesystem, path inside it) for a root or location; an unknown protocol's error
    names the package to install (e.g. s3fs for s3://)."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(os.fspath(root))
    except (ImportError, ValueError) as exc:
        raise ValueError(f"{root}: cannot open this location ({exc})") from exc


def write_bytes(target: str, data: bytes) -> None:
    fs, path = filesystem(target)
    fs.mkdirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, data)


def read_table(root: str | os.PathLike, rel_path: str, columns: list[str] | None = None) -> pa.Table:
    """A shard of the run (local or remote) as an Arrow table."""
    where = location(root, rel_path)
    if not is_url(where):
        return pq.read_table(where, columns=columns)
    fs, path = filesystem(where)
    with fs.open(path, "rb") as f:
        return pq.read_table(f, columns=columns)


def read_schema(root: str | os.PathLike, rel_path: str) -> pa.Schema:
    where = location(root, rel_path)
    if not is_url(where):
        return pq.read_schema(where)
    fs, path = filesystem(where)
    with fs.open(path, "rb") as f:
        return pq.read_schema(f)


def register(con: Any, root: str) -> None:
    """Let a DuckDB connection read the run's URLs through the same fsspec filesystem."""
    if is_url(root):
        con.register_filesystem(filesystem(root)[0])
