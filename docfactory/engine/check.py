"""`engine check RUN [--repair]`: does the run folder hold exactly what its catalog lists?

Every listed shard is checked for existence, size, sha256, row count and schema (engine.schema for
its kind); the folder is searched for Parquet files under shards/ that no catalog lists and for
temporary leftovers (`.tmp-*` names of atomic writes, `*.tmp` files and DuckDB's catalog.duckdb.tmp
spill folder). A loop run's evaluation sets (RUN/evalsets/NAME, run folders of their own) are
checked with it.

`--repair` (holding the run lock) removes the leftovers and the unlisted files, and unlists a listed
shard that is missing or corrupt, deleting its file and recording it in the `repairs` table; a loop
run also forgets the loop step that made it, so `engine run` (or the step's command) remakes it,
byte for byte the same. An unlisted complete shard is removed rather than listed: what was rejected
while making it is unknown, and it may come from other settings (`emit --redo` leaves its old
shards unlisted). A listed shard whose bytes match but whose schema differs (another docfactory
version) is reported and kept: it is complete, and repair never deletes a complete listed shard.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from docfactory.engine import storage
from docfactory.engine.catalog import CATALOG_FILE, open_catalog
from docfactory.engine.lock import holder, run_lock
from docfactory.engine.schema import SCHEMAS
from docfactory.engine.shards import TMP_PREFIX, ShardInfo, sha256_of

SHARDS_DIR = "shards"
EVALSETS_DIR = "evalsets"
CORRUPT = ("missing", "size", "sha256", "rows", "unreadable")  # unlisted by --repair; "schema" is kept
# The loop step that makes a shard kind: a repaired shard's step is run again by `engine run`.
_MAKER = {"documents": "generate", "augmented": "augment", "lines": "augment",
          "doc_scores": "evaluate", "field_errors": "evaluate", "table_errors": "evaluate", "prediction_errors": "evaluate"}

_REPAIRS = """CREATE TABLE IF NOT EXISTS repairs (
    path VARCHAR, kind VARCHAR, iteration INTEGER, problem VARCHAR, detail VARCHAR, repaired_at TIMESTAMP)"""


class CheckError(RuntimeError):
    pass


@dataclass
class Finding:
    run: str  # the run folder, absolute
    path: str  # relative to it
    problem: str  # missing | size | sha256 | rows | unreadable | schema | unlisted | temporary
    detail: str
    action: str = ""  # what --repair did
    repaired: bool = False


@dataclass
class CheckReport:
    runs: list[str] = field(default_factory=list)
    shards: int = 0  # listed shards checked
    bytes: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Finding]:
        return [f for f in self.findings if not f.repaired]


def check_run(run_dir: Path | str, repair: bool = False) -> CheckReport:
    """Check RUN and its evaluation sets; with `repair`, make each catalog match its folder."""
    started = time.perf_counter()
    if storage.is_url(run_dir):
        raise CheckError(f"{run_dir}: engine check works on local run folders")
    root = Path(storage.run_root(run_dir))
    if not (root / CATALOG_FILE).is_file():
        raise CheckError(f"{root}: no catalog here (is it a docfactory run folder?)")
    runs = [root] + sorted(p.parent for p in (root / EVALSETS_DIR).glob(f"*/{CATALOG_FILE}"))
    report = CheckReport(runs=[str(r) for r in runs])
    if not repair:
        for run in runs:
            if (who := holder(run)) is not None:
                raise CheckError(f"{run}: an engine process is writing this run ({who}); check it when that ends")
            _check_one(run, runs, report)
    else:
        with ExitStack() as locks:
            for run in runs:
                locks.enter_context(run_lock(run))
            for run in runs:
                _check_one(run, runs, report)
            for run in runs:
                _repair(run, root, [f for f in report.findings if f.run == str(run)])
    report.seconds = time.perf_counter() - started
    return report


def _connect(run: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    # A plain connection, not Catalog: opening a Catalog may rebuild views, which reads the footer
    # of every listed shard, and a truncated one would stop the check before it reports anything.
    try:
        return duckdb.connect(str(run / CATALOG_FILE), read_only=read_only)
    except duckdb.Error as exc:
        raise CheckError(f"{run / CATALOG_FILE}: cannot open the catalog ({exc})") from None


def _listing(run: Path) -> dict[str, tuple[ShardInfo, int]]:
    con = _connect(run, read_only=True)
    try:
        rows = con.execute("SELECT path, kind, rows, bytes, sha256, iteration FROM shards ORDER BY path").fetchall()
    except duckdb.CatalogException:
        rows = []  # a catalog made before any shard was listed
    finally:
        con.close()
    return {r[0]: (ShardInfo(*r[:5]), r[5]) for r in rows}


def _check_one(run: Path, runs: list[Path], report: CheckReport) -> None:
    listed = _listing(run)
    for path, (info, _) in listed.items():
        report.shards += 1
        report.bytes += info.bytes
        problem = verify_listed(run, info)
        if problem:
            report.findings.append(Finding(str(run), path, *problem))
    others = [r for r in runs if r != run and run in r.parents]  # evaluation sets inside this run
    for item in _walk(run, others):
        rel = item.relative_to(run).as_posix()
        if _is_temporary(item.name):
            what = "folder" if item.is_dir() else f"{item.stat().st_size} bytes"
            report.findings.append(Finding(str(run), rel, "temporary", f"leftover of an interrupted write ({what})"))
        elif item.suffix == ".parquet" and rel.startswith(SHARDS_DIR + "/") and rel not in listed:
            report.findings.append(Finding(str(run), rel, "unlisted", _describe_unlisted(item)))


def verify_listed(run: Path, info: ShardInfo) -> tuple[str, str] | None:
    """(problem, detail) for a listed shard that is not what the catalog says, else None."""
    path = run / info.path
    if not path.is_file():
        return "missing", f"listed ({info.rows} rows, {info.bytes} bytes) but not on disk"
    size = path.stat().st_size
    if size != info.bytes:
        return "size", f"{size} bytes on disk, {info.bytes} listed (truncated or overwritten)"
    digest = sha256_of(path)
    if digest != info.sha256:
        return "sha256", f"sha256 {digest[:12]}... on disk, {info.sha256[:12]}... listed (bytes altered)"
    try:
        meta = pq.ParquetFile(path)
        rows, schema = meta.metadata.num_rows, meta.schema_arrow
    except Exception as exc:  # noqa: BLE001 - any reader error means the file is not a shard
        return "unreadable", f"not readable as Parquet ({type(exc).__name__}: {exc})"
    if rows != info.rows:
        return "rows", f"{rows} rows in the file, {info.rows} listed"
    expected = SCHEMAS.get(info.kind)
    if expected is not None and not schema.equals(expected, check_metadata=False):
        diff = sorted(set(expected.names) ^ set(schema.names)) or [
            n for n in expected.names if schema.field(n).type != expected.field(n).type]
        return "schema", f"schema differs from engine.schema's {info.kind!r} (columns {', '.join(diff[:5])})"
    return None


def _walk(run: Path, skip: list[Path]):
    """Every file and folder of the run, not descending into temporary folders or other runs."""
    for folder, dirs, files in os.walk(run):
        here = Path(folder)
        keep = []
        for name in sorted(dirs):
            if _is_temporary(name):
                yield here / name
            elif here / name not in skip:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            yield here / name


def _is_temporary(name: str) -> bool:
    # `.tmp-PID-name` (shards, summaries, checkpoints), `name.tmp` (lejepa, vlm) and DuckDB's spill
    # folder catalog.duckdb.tmp; never catalog.duckdb.wal, which holds committed transactions.
    return name.startswith(TMP_PREFIX) or name.endswith(".tmp")


def _describe_unlisted(path: Path) -> str:
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - a partial file
        return f"not listed, not readable as Parquet ({path.stat().st_size} bytes: a partial write)"
    return f"not listed ({rows} rows): written but never listed, or dropped by --redo"


def _repair(run: Path, root: Path, findings: list[Finding]) -> None:
    corrupt = [f for f in findings if f.problem in CORRUPT]
    for f in findings:
        if f.problem in ("temporary", "unlisted"):
            target = run / f.path
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
            f.action, f.repaired = "removed", True
        elif f.problem == "schema":
            f.action = "kept (complete; made by another docfactory version?)"
    if corrupt:
        steps = _unlist(run, corrupt)
        for f in corrupt:
            (run / f.path).unlink(missing_ok=True)
            step = steps.get(f.path)
            f.action = "unlisted; rerun " + (f"{step[0]} (iteration {step[1]})" if step else "the step that made it") + \
                " to remake it"
            f.repaired = True
        _forget_loop_steps(run, root, steps)
    with open_catalog(run) as catalog:  # views over exactly the listed shards again
        kinds = {k for (k,) in catalog.sql("SELECT DISTINCT kind FROM shards").fetchall()}
        views = {v for (v,) in catalog.sql("SELECT view_name FROM duckdb_views() WHERE NOT temporary").fetchall()}
        for kind in sorted(kinds | (views & set(SCHEMAS))):
            catalog.refresh_view(kind)


def _unlist(run: Path, corrupt: list[Finding]) -> dict[str, tuple[str, int]]:
    """Unlist the shards, record them in `repairs`; returns {path: (step, iteration) that makes it}."""
    listed = _listing(run)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    steps = {}
    con = _connect(run, read_only=False)
    try:
        con.execute(_REPAIRS)
        con.execute("BEGIN")
        for f in corrupt:
            info, iteration = listed[f.path]
            con.execute("DELETE FROM shards WHERE path = ?", [f.path])
            con.execute("DELETE FROM rejections WHERE shard = ?", [f.path])  # the rerun lists them again
            con.execute("INSERT INTO repairs VALUES (?, ?, ?, ?, ?, ?)", [f.path, info.kind, iteration, f.problem, f.detail, now])
            if info.kind in _MAKER:
                steps[f.path] = _maker_step(info, iteration)
        con.execute("COMMIT")
    finally:
        con.close()
    return steps


def _maker_step(info: ShardInfo, iteration: int) -> tuple[str, int]:
    """(step, iteration) that makes the shard; a loop's evaluation shards carry it in their name."""
    step = _MAKER[info.kind]
    if step == "evaluate":
        match = re.search(r"/it(\d{3})/", info.path)
        iteration = int(match.group(1)) if match else iteration
    return step, iteration


def _forget_loop_steps(run: Path, root: Path, steps: dict[str, tuple[str, int]]) -> None:
    """Make `engine run` redo the steps whose shards were unlisted. An evaluation set's documents
    are made by the parent loop's `eval_sets` step of iteration 0."""
    loop_run, rows = root, set()
    for step, iteration in steps.values():
        if run != root and step == "generate":
            step, iteration = "eval_sets", 0
        rows.add((iteration, step))
    if not rows or not (loop_run / CATALOG_FILE).is_file():
        return
    con = _connect(loop_run, read_only=False)
    try:
        exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'loop_steps'").fetchone()[0]
        if exists:
            for iteration, step in sorted(rows):
                con.execute("DELETE FROM loop_steps WHERE iteration = ? AND step = ?", [iteration, step])
    finally:
        con.close()
