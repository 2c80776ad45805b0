"""The run's DuckDB catalog: a `shards` table (the list of complete shards) and one view per
shard kind over exactly the listed shards.

Paths are stored relative to the run folder and views use relative paths; `open_catalog` points
DuckDB's `file_search_path` at the run folder, so the catalog answers from any working directory
and after the folder is moved or copied. (With the plain `duckdb` CLI: `cd RUN && duckdb
catalog.duckdb`, or `SET file_search_path='RUN'` first.)

A run at an fsspec URL (engine.storage) keeps catalog.duckdb there too: opening it downloads the
file to a private temporary folder, the views are made per connection over the shards' URLs (read
through the same fsspec filesystem), and closing a writable catalog uploads the file again in one
PUT. One writer at a time per run, as locally (where DuckDB's file lock enforces it).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import duckdb

from docfactory.engine import storage
from docfactory.engine.shards import ShardInfo

CATALOG_FILE = "catalog.duckdb"
# Evaluation kinds are small and are what an analyst queries: they are native tables in catalog.duckdb
# (rebuilt in the transaction that lists their shards), so plain `duckdb RUN/catalog.duckdb` answers
# from any working directory and after the run folder moves. Image-bearing kinds stay views.
MATERIALIZED = frozenset({"doc_scores", "field_errors", "table_errors", "prediction_errors"})

_TABLES = """
CREATE TABLE IF NOT EXISTS shards (
    path VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, iteration INTEGER NOT NULL DEFAULT 0,
    rows BIGINT NOT NULL, bytes BIGINT NOT NULL, sha256 VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS rejections (
    doc_id VARCHAR, template VARCHAR, stage VARCHAR, reason VARCHAR, shard VARCHAR, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS step_configs (step VARCHAR PRIMARY KEY, config VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS stale_views (kind VARCHAR PRIMARY KEY);
"""


class StepConfigMismatch(ValueError):
    pass


class Catalog:
    """Open with `open_catalog(run_dir)`; use as a context manager so the file lock is released."""

    def __init__(self, run_dir: Path | str, read_only: bool = False):
        self.root, self.read_only, self._cache = storage.run_root(run_dir), read_only, None
        self._deferred: set[str] | None = None  # kinds whose views wait for deferred_views() to end
        if storage.is_url(self.root):
            self.run_dir = self.root  # a URL: read shards with storage.read_table(catalog.root, path)
            self._open_remote()
            return
        self.run_dir = Path(self.root)
        path = self.run_dir / CATALOG_FILE
        if read_only and not path.exists():
            raise FileNotFoundError(f"{path}: no catalog here (is {self.run_dir} a docfactory run folder?)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(path), read_only=read_only)
        self.con.execute("SET file_search_path = ?", [str(self.run_dir)])
        if not read_only:
            self.con.execute(_TABLES)
        self._heal_views()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        if self._cache is not None:
            try:
                if not self.read_only:
                    storage.write_bytes(storage.location(self.root, CATALOG_FILE), (self._cache / CATALOG_FILE).read_bytes())
            finally:
                shutil.rmtree(self._cache, ignore_errors=True)
                self._cache = None

    def _open_remote(self) -> None:
        fs, path = storage.filesystem(storage.location(self.root, CATALOG_FILE))
        self._cache = Path(tempfile.mkdtemp(prefix="docfactory-catalog-"))
        local = self._cache / CATALOG_FILE
        if fs.exists(path):
            fs.get_file(path, str(local))
        elif self.read_only:
            shutil.rmtree(self._cache, ignore_errors=True)
            raise FileNotFoundError(f"{self.root}/{CATALOG_FILE}: no catalog here (is {self.root} a docfactory run?)")
        self.con = duckdb.connect(str(local), read_only=self.read_only)
        storage.register(self.con, self.root)
        if not self.read_only:
            self.con.execute(_TABLES)
        if self._has_table("shards"):
            for (kind,) in self.con.execute("SELECT DISTINCT kind FROM shards").fetchall():
                self.refresh_view(kind)

    def _has_table(self, name: str) -> bool:
        return self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary",
                                [name]).fetchone()[0] > 0

    def _heal_views(self) -> None:
        """Rebuild the views a killed process left behind the `shards` list: kinds marked stale in
        the same transaction that listed a shard under deferred_views(), and kinds with no view.
        A read-only connection cannot store views, so it makes per-connection (TEMP) ones, which
        DuckDB resolves before stored ones."""
        if not self._has_table("shards"):
            return
        stale = "SELECT kind FROM stale_views UNION " if self._has_table("stale_views") else ""
        kinds = [k for (k,) in self.con.execute(
            f"{stale}(SELECT DISTINCT kind FROM shards EXCEPT (SELECT view_name FROM duckdb_views() WHERE NOT temporary "
            "UNION SELECT table_name FROM duckdb_tables() WHERE NOT temporary)) ORDER BY 1").fetchall()]
        for kind in kinds:
            self.refresh_view(kind)

    # -- shards ---------------------------------------------------------------------------
    def listed(self, kind: str | None = None) -> dict[str, ShardInfo]:
        sql = "SELECT path, kind, rows, bytes, sha256 FROM shards" + (" WHERE kind = ?" if kind else "")
        rows = self.con.execute(sql, [kind] if kind else []).fetchall()
        return {r[0]: ShardInfo(*r) for r in rows}

    def add_shard(self, info: ShardInfo, iteration: int = 0, rejections: Iterable = ()) -> None:
        """List a complete shard (and the documents rejected while making it) in one transaction."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        self.con.execute("BEGIN")
        try:
            self.con.execute("DELETE FROM rejections WHERE shard = ?", [info.path])
            self.con.execute("INSERT OR REPLACE INTO shards VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [info.path, info.kind, iteration, info.rows, info.bytes, info.sha256, now])
            for r in rejections:
                self.con.execute("INSERT INTO rejections VALUES (?, ?, ?, ?, ?, ?)",
                                 [r.doc_id, r.template, r.stage, r.reason, info.path, now])
            if self._deferred is not None:  # a kill before the view is rebuilt is healed on the next open
                self.con.execute("INSERT OR IGNORE INTO stale_views VALUES (?)", [info.kind])
            elif self._materialized(info.kind):
                self._rebuild_table(info.kind)  # listed and queryable in one commit
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        if self._deferred is not None:
            self._deferred.add(info.kind)
        elif not self._materialized(info.kind):
            self.refresh_view(info.kind)

    @contextmanager
    def deferred_views(self) -> Iterator[None]:
        """List many shards and rebuild each touched view once, at the end (also after an error):
        creating a view reads every listed shard's footer, so per-shard refreshes would cost
        O(shards^2) reads on a 100k-shard run."""
        self._deferred = set()
        try:
            yield
        finally:
            kinds, self._deferred = self._deferred, None
            for kind in sorted(kinds):
                self.refresh_view(kind)

    def add_failure(self, shard: str, stage: str, reason: str) -> None:
        """Record a shard whose task failed as a `rejections` row (doc_id NULL); the shard is not
        listed, so a rerun makes it, and listing it then clears this row (add_shard)."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        self.con.execute("DELETE FROM rejections WHERE shard = ?", [shard])
        self.con.execute("INSERT INTO rejections VALUES (NULL, NULL, ?, ?, ?, ?)", [stage, reason, shard, now])

    def _materialized(self, kind: str) -> bool:
        return kind in MATERIALIZED and not self.read_only

    def object_type(self, name: str) -> str | None:
        """'VIEW', 'TABLE' or None for a stored (not temporary) catalog object."""
        row = self.con.execute("SELECT 'VIEW' FROM duckdb_views() WHERE view_name = ? AND NOT temporary UNION ALL "
                               "SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = ? AND NOT temporary",
                               [name, name]).fetchone()
        return row[0] if row else None

    def replace_object(self, name: str, select: str, table: bool) -> None:
        """CREATE OR REPLACE a stored TABLE or VIEW `name` AS `select`, dropping an object of the other
        type first (runs written before evaluation kinds were tables hold views of those names)."""
        existing = self.object_type(name)
        if existing == ("VIEW" if table else "TABLE"):
            self.con.execute(f"DROP {existing} {name}")
        self.con.execute(f"CREATE OR REPLACE {'TABLE' if table else 'VIEW'} {name} AS {select}")

    def _rebuild_table(self, kind: str) -> None:
        paths = sorted(self.listed(kind))
        if not paths:
            if self.object_type(kind):
                self.con.execute(f"DROP {self.object_type(kind)} {kind}")
        else:
            located = [storage.location(self.root, p) if self._cache is not None else p for p in paths]
            files = ", ".join("'" + p.replace("'", "''") + "'" for p in located)
            self.replace_object(kind, f"SELECT * FROM read_parquet([{files}], union_by_name = true)", table=True)
        self.con.execute("DELETE FROM stale_views WHERE kind = ?", [kind])

    def refresh_view(self, kind: str) -> None:
        # A remote run's views are per connection (TEMP) over absolute URLs, since DuckDB's
        # file_search_path does not reach fsspec filesystems; a local run's are stored, relative.
        if self._materialized(kind):
            self._rebuild_table(kind)
            return
        remote = self._cache is not None
        paths = [storage.location(self.root, p) if remote else p for p in sorted(self.listed(kind))]
        temp = "TEMP " if remote or self.read_only else ""
        if not paths:
            if not self.read_only:
                self.con.execute(f"DROP VIEW IF EXISTS {kind}")
        else:
            files = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
            self.con.execute(f"CREATE OR REPLACE {temp}VIEW {kind} AS SELECT * FROM read_parquet([{files}], union_by_name = true)")
        if not self.read_only:
            self.con.execute("DELETE FROM stale_views WHERE kind = ?", [kind])

    def shard_paths(self, kind: str) -> list[Path] | list[str]:
        """Absolute paths (URLs for a remote run) of the listed shards of a kind, in a stable order
        (for polars, datasets)."""
        if self._cache is not None:
            return [storage.location(self.root, p) for p in sorted(self.listed(kind))]
        return [self.run_dir / p for p in sorted(self.listed(kind))]

    # -- step configs: a resumed step must be the same step -----------------------------------
    def claim_step(self, step: str, config: dict) -> None:
        """Record the config a step runs with; refuse to resume it with a different one, since the
        shards already listed were made under the first config and would be silently mixed in."""
        import json

        text = json.dumps(config, sort_keys=True, default=str)
        row = self.con.execute("SELECT config FROM step_configs WHERE step = ?", [step]).fetchone()
        if row is None:
            self.con.execute("INSERT INTO step_configs VALUES (?, ?)", [step, text])
        elif row[0] != text:
            old, new = json.loads(row[0]), json.loads(text)
            changed = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
            raise StepConfigMismatch(f"{self.run_dir}: step {step!r} already ran with other settings ({changed}); "
                                     "rerun it with the same settings to resume, or use a new run folder")

    # -- queries ----------------------------------------------------------------------------
    def sql(self, query: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        """Run a query; the result has fetchall(), fetchone(), pl() and description."""
        return self.con.execute(query, params or [])

    def frame(self, query: str, params: list | None = None):
        """A query's result as a polars DataFrame."""
        return self.con.execute(query, params or []).pl()


def open_catalog(run_dir: Path | str, read_only: bool = False) -> Catalog:
    """Open RUN/catalog.duckdb so its views resolve against RUN wherever RUN now lives."""
    return Catalog(run_dir, read_only=read_only)
