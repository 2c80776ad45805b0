"""The loop's record in the run's catalog: `loop_steps` (a step is done once its row is there) and
`iterations` (one row per finished iteration: training size, metrics, seconds per stage).

A step writes its outputs first (shards atomically, models with done.json, files by rename) and
its `loop_steps` row last, so a kill between the two only makes the step run again, and every
step is safe to run again (listed shards are skipped, evaluations replace their own rows)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from docfactory.engine.catalog import open_catalog

TABLES = """
CREATE TABLE IF NOT EXISTS loop_steps (
    iteration INTEGER NOT NULL, step VARCHAR NOT NULL, seconds DOUBLE NOT NULL, done_at TIMESTAMP NOT NULL,
    PRIMARY KEY (iteration, step)
);
CREATE TABLE IF NOT EXISTS iterations (
    iteration INTEGER PRIMARY KEY, strategy VARCHAR NOT NULL, n_train INTEGER NOT NULL, n_train_total INTEGER NOT NULL,
    field_f1 DOUBLE, teds DOUBLE, holdout_field_f1 DOUBLE, holdout_teds DOUBLE,
    metrics VARCHAR NOT NULL, slices VARCHAR NOT NULL, stage_seconds VARCHAR NOT NULL, wall_seconds DOUBLE NOT NULL,
    created_at TIMESTAMP NOT NULL
);
ALTER TABLE iterations ADD COLUMN IF NOT EXISTS real_field_f1 DOUBLE;
ALTER TABLE iterations ADD COLUMN IF NOT EXISTS real_match DOUBLE;
ALTER TABLE iterations ADD COLUMN IF NOT EXISTS audit_field_f1 DOUBLE;
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def init(run_dir: Path, claim: dict) -> None:
    with open_catalog(run_dir) as catalog:
        catalog.sql(TABLES)
        catalog.claim_step("loop", claim)


def claim(run_dir: Path, step: str, config: dict) -> None:
    with open_catalog(run_dir) as catalog:
        catalog.claim_step(step, config)


def done_steps(run_dir: Path) -> dict[tuple[int, str], float]:
    with open_catalog(run_dir, read_only=True) as catalog:
        rows = catalog.sql("SELECT iteration, step, seconds FROM loop_steps").fetchall()
    return {(k, step): seconds for k, step, seconds in rows}


def mark_done(run_dir: Path, iteration: int, step: str, seconds: float) -> None:
    with open_catalog(run_dir) as catalog:
        catalog.sql("INSERT OR REPLACE INTO loop_steps VALUES (?, ?, ?, ?)", [iteration, step, seconds, _now()])


def record_iteration(run_dir: Path, row: dict) -> None:
    values = {**row, "created_at": _now()}
    for key in ("metrics", "slices", "stage_seconds"):
        values[key] = json.dumps(values[key], sort_keys=True)
    columns = ["iteration", "strategy", "n_train", "n_train_total", "field_f1", "teds", "holdout_field_f1",
               "holdout_teds", "metrics", "slices", "stage_seconds", "wall_seconds", "created_at", "real_field_f1",
               "real_match", "audit_field_f1"]
    for key in ("real_field_f1", "real_match", "audit_field_f1"):
        values.setdefault(key, None)
    with open_catalog(run_dir) as catalog:
        catalog.sql(f"INSERT OR REPLACE INTO iterations ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [values[c] for c in columns])


def iterations(run_dir: Path) -> list[dict]:
    with open_catalog(run_dir, read_only=True) as catalog:
        if not catalog.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'iterations'").fetchone()[0]:
            return []  # a run that `engine run` never finished an iteration of
        frame = catalog.frame("SELECT * FROM iterations ORDER BY iteration")
    rows = frame.to_dicts()
    for row in rows:
        for key in ("metrics", "slices", "stage_seconds"):
            row[key] = json.loads(row[key])
    return rows


# The loop's own catalog answers across its evaluation sets and iterations: each evaluation's rows
# are copied into eval_<kind> tables with an `evalset` column (in_dist, holdout, audit, real).
EVAL_COPIES = ("doc_scores", "field_errors", "table_errors", "slices")


def copy_evaluation(run_dir: Path, evalset: str, folder: Path, name: str) -> None:
    """Replace evaluation `name` of evaluation set `evalset` (the run folder `folder`) in the loop
    catalog's eval_doc_scores, eval_field_errors, eval_table_errors and eval_slices."""
    source = str(Path(folder) / "catalog.duckdb").replace("'", "''")
    with open_catalog(run_dir) as catalog:
        catalog.sql(f"ATTACH '{source}' AS evalset_src (READ_ONLY)")
        try:
            catalog.sql("BEGIN")
            for kind in EVAL_COPIES:
                exists = catalog.sql("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'evalset_src' "
                                     "AND table_name = ?", [kind]).fetchone()[0]
                if not exists:
                    continue
                where = "" if kind == "slices" else " WHERE name = ?"
                params = [] if kind == "slices" else [name]
                catalog.sql(f"CREATE TABLE IF NOT EXISTS eval_{kind} AS SELECT CAST(NULL AS VARCHAR) AS evalset, * "
                            f"FROM evalset_src.{kind} LIMIT 0")
                catalog.sql(f"DELETE FROM eval_{kind} WHERE evalset = ?" + ("" if kind == "slices" else " AND name = ?"),
                            [evalset, *params])
                catalog.sql(f"INSERT INTO eval_{kind} BY NAME SELECT ? AS evalset, * FROM evalset_src.{kind}{where}",
                            [evalset, *params])
            catalog.sql("COMMIT")
        except Exception:
            catalog.sql("ROLLBACK")
            raise
        finally:
            catalog.sql("DETACH evalset_src")
