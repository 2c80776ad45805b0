"""The analyst's DuckDB: plain `duckdb RUN/catalog.duckdb`, opened from another directory after the run
folder moved, answers the evaluation tables (doc_scores, field_errors, table_errors, prediction_errors,
slices) and the README's analyst query — they are native tables, not views over relative paths."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import ANALYST_QUERY, evaluate_run
from docfactory.engine.evaluation.gold import load_gold


def test_plain_duckdb_answers_from_another_folder_after_a_move(small_run, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(small_run[0], run)
    with open_catalog(run, read_only=True) as catalog:
        gold = load_gold(catalog)
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"doc_id": p.doc_id, "page": p.page, "fields": p.tree}) + "\n"
                             for p in gold.values()))
    evaluate_run(run, preds, name="oracle")
    moved = tmp_path / "elsewhere" / "moved_run"
    moved.parent.mkdir()
    shutil.move(run, moved)
    other = tmp_path / "somewhere_else"
    other.mkdir()
    monkeypatch.chdir(other)
    con = duckdb.connect(str(moved / "catalog.duckdb"), read_only=True)  # no file_search_path, no engine
    try:
        for table in ("doc_scores", "field_errors", "table_errors", "prediction_errors", "slices"):
            n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # no "No files found"
            assert n >= 1 or table in ("table_errors", "prediction_errors")  # the oracle answered fields only
        assert con.execute("SELECT count(*) FROM doc_scores WHERE name = 'oracle'").fetchone()[0] == len(gold)
        rows = con.execute(ANALYST_QUERY).fetchall()
        assert rows and all(r[0] == "oracle" and r[4] == 0 for r in rows)  # every total right, per template
    finally:
        con.close()
    assert os.getcwd() == str(other)
