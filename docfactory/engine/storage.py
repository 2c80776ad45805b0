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
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

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
    return f"{root.rstrip('/')}/{rel_path}" if is_url(root) else str(Path(root.removeprefix("file://")) / rel_path)


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


def exists(root: str | os.PathLike, rel_path: str) -> bool:
    where = location(root, rel_path)
    if not is_url(where):
        return Path(where).exists()
    fs, path = filesystem(where)
    return fs.exists(path)


def listdir(root: str | os.PathLike, rel_path: str) -> list[str]:
    """Names of the entries of a folder of the run (none when it does not exist)."""
    where = location(root, rel_path)
    if not is_url(where):
        folder = Path(where)
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    fs, path = filesystem(where)
    if not fs.isdir(path):
        return []
    return sorted(entry.rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(path, detail=False))


def read_bytes(target: str) -> bytes:
    if not is_url(target):
        return Path(target.removeprefix("file://")).read_bytes()
    fs, path = filesystem(target)
    return fs.cat_file(path)


def download(source: str, dest: Path) -> Path:
    """Copy a folder of a run (a URL) into the local folder `dest` (made); returns dest."""
    fs, path = filesystem(source)
    dest.mkdir(parents=True, exist_ok=True)
    for remote in sorted(fs.find(path)):
        target = dest / remote[len(path):].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(remote, str(target))
    return dest


def upload(source: Path, target: str) -> None:
    """Copy the local folder `source` to the URL `target`, file by file (each one PUT)."""
    for file in sorted(p for p in Path(source).rglob("*") if p.is_file()):
        write_bytes(f"{target.rstrip('/')}/{file.relative_to(source).as_posix()}", file.read_bytes())


@contextmanager
def private_dir(prefix: str) -> Iterator[Path]:
    """A private temporary folder (mode 0700), removed when the block ends, however it ends."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
