"""Malformed predictions: error rows with reasons and line numbers, a clear CLI message, --strict,
re-evaluation replacing a name, and a table that cannot be scored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.evaluation.gold import load_gold


@pytest.fixture(scope="module")
def run_and_gold(small_run, tmp_path_factory):
    run = tmp_path_factory.mktemp("evaluation_errors") / "run"
    shutil.copytree(small_run[0], run)
    with open_catalog(run, read_only=True) as catalog:
        return run, load_gold(catalog)


def answer(page, **extra) -> dict:
    return {"doc_id": page.doc_id, "page": page.page, "fields": page.tree, "tables": [t.html for t in page.tables],
            "text": page.text, **extra}


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def query(run: Path, sql: str, params: list | None = None) -> list[tuple]:
    with open_catalog(run, read_only=True) as catalog:
        return catalog.sql(sql, params).fetchall()


@pytest.fixture(scope="module")
def malformed(run_and_gold, tmp_path_factory) -> tuple[Path, Path, list]:
    run, gold = run_and_gold
    with_tables = [p for _, p in sorted(gold.items()) if p.tables]
    good, broken = with_tables[0], with_tables[1]
    lines = [
        answer(good),                                                   # 1: scored
        '{"doc_id": "doc-0000001", "page": 0, "fields": {',             # 2: bad JSON
        "[1, 2, 3]",                                                    # 3: not an object
        {"doc_id": "doc-9999999", "page": 0, "fields": {}},             # 4: unknown doc
        answer(good),                                                   # 5: duplicate of 1
        answer(broken, tables=["<div>no table here</div>"]),            # 6: scored, its table is an error row
        {"doc_id": good.doc_id, "page": 7, "text": ""},                 # 7: unknown page
        {"doc_id": good.doc_id, "page": "0"},                           # 8: page is not an integer
    ]
    path = write_lines(tmp_path_factory.mktemp("preds") / "malformed.jsonl", lines)
    return run, path, [good, broken]


def test_malformed_file_gives_error_rows_and_a_clear_message(run_and_gold, malformed):
    run, path, (good, broken) = malformed
    gold = run_and_gold[1]
    result = CliRunner().invoke(app, ["evaluate", str(run), "--predictions", str(path), "--name", "malformed"])
    assert result.exit_code == 0, result.output
    assert "prediction problems" in result.output and "1 bad_json" in result.output
    assert f"{len(gold) - 2} missing_prediction" in result.output
    assert "leaderboard" in result.output and "malformed" in result.output

    issues = query(run, "SELECT line, error, reason, scored FROM prediction_errors WHERE line IS NOT NULL ORDER BY line")
    assert [(line, error, scored) for line, error, _, scored in issues] == [
        (2, "bad_json", False), (3, "not_object", False), (4, "unknown_doc_id", False), (5, "duplicate", False),
        (6, "unparsable_html", True), (7, "unknown_page", False), (8, "bad_value", False)]
    reasons = {error: reason for _, error, reason, _ in issues}
    assert reasons["duplicate"].startswith("same (doc_id, page, copy) as line 1")
    assert "page must be an integer" in reasons["bad_value"]
    missing = query(run, "SELECT count(*) FROM prediction_errors WHERE error = 'missing_prediction' AND line IS NULL")
    assert missing == [(len(gold) - 2,)]

    # every gold page has a score row: the two predicted ones, and the missing ones scored as empty
    scores = dict(((d, p), (f1, err)) for d, p, f1, err in query(run, "SELECT doc_id, page, field_f1, error FROM doc_scores"))
    assert len(scores) == len(gold)
    assert scores[(good.doc_id, good.page)] == (1.0, None)
    assert all(err == "missing_prediction" and f1 == 0.0 for key, (f1, err) in scores.items()
               if key not in {(good.doc_id, good.page), (broken.doc_id, broken.page)})
    table = query(run, f"SELECT teds, teds_s, error FROM table_errors WHERE doc_id = '{broken.doc_id}' ORDER BY table_index")
    assert table[0] == (0.0, 0.0, "unparsable_html")


def test_strict_stops_at_the_first_problem_and_lists_nothing(malformed):
    run, path, _ = malformed
    result = CliRunner().invoke(app, ["evaluate", str(run), "--predictions", str(path), "--name", "strict", "--strict"])
    assert result.exit_code == 1
    assert f"{path}:2: bad_json" in result.output and "nothing was written" in result.output
    assert query(run, "SELECT count(*) FROM shards WHERE path LIKE '%/strict/%'") == [(0,)]
    assert not (run / "eval" / "strict").exists()


def test_strict_also_refuses_missing_pages(run_and_gold, tmp_path):
    run, gold = run_and_gold
    first = gold[sorted(gold)[0]]
    path = write_lines(tmp_path / "partial.jsonl", [answer(first)])
    result = CliRunner().invoke(app, ["evaluate", str(run), "--predictions", str(path), "--strict"])
    assert result.exit_code == 1 and "missing_prediction: no prediction for" in result.output


def test_evaluating_a_name_again_replaces_its_rows(run_and_gold, tmp_path):
    run, gold = run_and_gold
    pages = [gold[key] for key in sorted(gold)]
    first = write_lines(tmp_path / "first.jsonl", [{"doc_id": p.doc_id, "page": p.page, "text": ""} for p in pages])
    second = write_lines(tmp_path / "second.jsonl", [{"doc_id": p.doc_id, "page": p.page, "text": p.text} for p in pages])
    evaluate_run(run, first, name="again")
    evaluate_run(run, second, name="again")
    assert query(run, "SELECT count(*), max(cer) FROM doc_scores WHERE name = 'again'") == [(len(gold), 0.0)]
    assert query(run, "SELECT count(*) FROM shards WHERE path LIKE '%/again/%'") == [(4,)]
    with pytest.raises(ValueError, match="bad evaluation name"):
        evaluate_run(run, second, name="../escape")


def test_a_table_that_cannot_be_scored_counts_zero_and_keeps_its_error(run_and_gold, tmp_path):
    """One rule: a gold table the prediction failed on (here colspan="x", which the metric cannot
    read) is 0 in the page and corpus means, its error kept, and summary.json counts it; so broken
    spans never score higher than no table at all."""
    run, gold = run_and_gold
    page = next(p for _, p in sorted(gold.items()) if p.tables)
    broken = page.tables[0].html.replace("<td>", '<td colspan="x">', 1)
    assert broken != page.tables[0].html
    rows = {"broken": [broken], "none": []}
    summaries = {}
    for name, tables in rows.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text(json.dumps({"doc_id": page.doc_id, "page": page.page, "tables": tables}) + "\n")
        summaries[name] = evaluate_run(run, path, name=f"span-{name}", splits=None).summary
    table_rows = query(run, "SELECT table_index, teds, teds_s, error FROM table_errors WHERE name = 'span-broken' "
                            "AND doc_id = ? AND page = ? ORDER BY table_index", [page.doc_id, page.page])
    assert table_rows[0][1:3] == (0.0, 0.0) and "ValueError" in table_rows[0][3]
    page_score = query(run, "SELECT teds, error FROM doc_scores WHERE name = 'span-broken' AND doc_id = ? AND page = ?",
                       [page.doc_id, page.page])[0]
    assert page_score[0] is not None and "table 0: ValueError" in page_score[1]
    assert summaries["broken"]["overall"]["tables_failed"] == 1
    assert summaries["broken"]["overall"]["teds"] <= summaries["none"]["overall"]["teds"]