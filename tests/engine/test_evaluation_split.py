"""`engine evaluate --split`: predicting one split needs no predictions for the others."""

from __future__ import annotations

import json
import shutil

import pytest

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.evaluation.gold import load_gold


def test_only_the_named_split_is_gold(small_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(small_run[0], run)
    with open_catalog(run, read_only=True) as catalog:
        split_of = dict(catalog.sql("SELECT DISTINCT doc_id, split FROM documents").fetchall())
        gold = load_gold(catalog)
    split = max(set(split_of.values()), key=lambda s: sum(v == s for v in split_of.values()))
    lines = [json.dumps({"doc_id": p.doc_id, "page": p.page, "fields": p.tree}) for p in gold.values()
             if split_of[p.doc_id] == split]
    preds = tmp_path / "preds.jsonl"
    preds.write_text("\n".join(lines) + "\n")
    result = evaluate_run(run, preds, name="one-split", splits=[split])
    assert result.pages == len(lines)
    with open_catalog(run, read_only=True) as catalog:
        assert catalog.sql("SELECT count(*) FROM prediction_errors WHERE name = 'one-split'").fetchone()[0] == 0
        assert catalog.sql("SELECT min(field_f1) FROM doc_scores WHERE name = 'one-split'").fetchone()[0] == 1.0
    with pytest.raises(ValueError, match="no pages in split"):
        evaluate_run(run, preds, name="none", splits=["no-such-split"])
