"""engine evaluate on a real generated run: perfect and corrupted predictions, augmented-copy slices,
the README's analyst query, and the generated gold's numeric consistency."""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import ANALYST_QUERY, EVAL_KINDS, evaluate_run, leaderboard
from docfactory.engine.evaluation.gold import GoldPage, load_gold
from docfactory.engine.evaluation.scoring import merge_pages
from docfactory.evaluate import numeric_consistency

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def gold(small_run) -> dict[tuple[str, int], GoldPage]:
    with open_catalog(small_run[0], read_only=True) as catalog:
        return load_gold(catalog)


def copy_run(small_run, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(small_run[0], run)
    return run


def answer(page: GoldPage, tasks=("fields", "tables", "text"), **extra) -> dict:
    """A prediction that repeats the gold exactly."""
    out = {"doc_id": page.doc_id, "page": page.page, **extra}
    if "fields" in tasks:
        out["fields"] = copy.deepcopy(page.tree)
    if "tables" in tasks:
        out["tables"] = [t.html for t in page.tables]
    if "text" in tasks:
        out["text"] = page.text
    return out


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def rows(run: Path, sql: str) -> list[dict]:
    with open_catalog(run, read_only=True) as catalog:
        return catalog.frame(sql).to_dicts()


def test_generated_gold_always_passes_numeric_consistency(gold):
    documents: dict[str, list[GoldPage]] = defaultdict(list)
    for key in sorted(gold):
        documents[key[0]].append(gold[key])
    assert any(len(pages) > 1 for pages in documents.values()), "a multi-page document is merged too"
    for doc_id, pages in documents.items():
        first = pages[0]
        check = numeric_consistency(first.kind, merge_pages([p.tree for p in pages]), first.types, first.locale)
        assert check.ok is True and check.checked > 0, (doc_id, first.template, first.locale, check)


def test_perfect_predictions_score_one_with_no_error_rows(small_run, gold, tmp_path):
    run = copy_run(small_run, tmp_path)
    preds = write_jsonl(tmp_path / "perfect.jsonl", [answer(gold[key]) for key in sorted(gold)])
    result = evaluate_run(run, preds)
    assert result.name == "perfect" and result.pages == len(gold)

    scores = rows(run, "SELECT * FROM doc_scores WHERE name = 'perfect'")
    assert len(scores) == len(gold)
    for s in scores:
        assert (s["ted_acc"], s["field_f1"], s["field_exact_rate"], s["cer"], s["wer"]) == (1.0, 1.0, 1.0, 0.0, 0.0), s
        assert s["numeric_ok"] is True and s["numeric_violations"] == [] and s["error"] is None
        has_tables = gold[(s["doc_id"], s["page"])].tables
        assert (s["teds"], s["teds_s"]) == ((1.0, 1.0) if has_tables else (None, None))
    assert rows(run, "SELECT count(*) AS n FROM field_errors WHERE error_type IS NOT NULL")[0]["n"] == 0
    tables = rows(run, "SELECT * FROM table_errors")
    assert len(tables) == sum(len(p.tables) for p in gold.values())
    assert all(t["teds"] == 1.0 and t["teds_s"] == 1.0 and t["error"] is None for t in tables)
    assert rows(run, "SELECT count(*) AS n FROM prediction_errors")[0]["n"] == 0

    # field names are the documents' own, item indexes included (later pages of long documents too)
    labelled = rows(run, "SELECT doc_id, page, f.name AS field FROM documents, unnest(fields) AS t(f)")
    named = rows(run, "SELECT doc_id, page, field FROM field_errors")
    assert sorted(map(tuple, map(dict.values, named))) == sorted(map(tuple, map(dict.values, labelled)))

    overall = json.loads((run / "eval" / "perfect" / "summary.json").read_text())["overall"]
    assert {k: overall[k] for k in ("teds", "teds_s", "ted_acc", "field_f1", "numeric_ok_rate", "cer")} == {
        "teds": 1.0, "teds_s": 1.0, "ted_acc": 1.0, "field_f1": 1.0, "numeric_ok_rate": 1.0, "cer": 0.0}
    assert leaderboard(run)[0]["name"] == "perfect"
    slices = rows(run, "SELECT count(*) AS n, count(DISTINCT preset) AS presets FROM slices")[0]
    assert slices == {"n": len(gold), "presets": 1}


def _last_digit_changed(text: str) -> str:
    i = max(i for i, ch in enumerate(text) if ch.isdigit())
    return text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:]


def _pick(gold, used: set, test) -> GoldPage:
    page = next((p for key, p in sorted(gold.items()) if p.n_pages == 1 and p.doc_id not in used and test(p)), None)
    assert page is not None, "the small run has no document for this case"
    used.add(page.doc_id)
    return page


def test_corrupted_predictions_become_typed_error_rows(small_run, gold, tmp_path):
    run = copy_run(small_run, tmp_path)
    used: set[str] = set()
    with open_catalog(run) as catalog:  # a stand-in for issue 4's augmented copies: copy 0 of invoice_classic
        catalog.sql("""CREATE VIEW augmented AS SELECT doc_id, page, 0 AS "copy", 'strong' AS preset,
                       CAST(0.5 AS FLOAT) AS severity FROM documents WHERE template = 'invoice_classic'""")
    wrong_total = _pick(gold, used, lambda p: p.kind == "invoice" and p.template != "invoice_classic")
    swapped = _pick(gold, used, lambda p: len(p.tree.get("items", [])) >= 2 and p.template != "invoice_classic")
    dropped = _pick(gold, used, lambda p: isinstance(p.tree.get("receipt_number"), str))
    reformatted = _pick(gold, used, lambda p: p.locale in ("de_DE", "fr_FR") and "total" in p.tree
                        and p.template != "invoice_classic")
    lines = []
    for key in sorted(gold):
        line = answer(gold[key], tasks=("fields",))
        fields = line["fields"]
        if key[0] == wrong_total.doc_id:
            fields["total"] = _last_digit_changed(fields["total"])
        elif key[0] == swapped.doc_id:
            fields["items"][0], fields["items"][1] = fields["items"][1], fields["items"][0]
        elif key[0] == dropped.doc_id:
            del fields["receipt_number"]
        elif key[0] == reformatted.doc_id:
            fields["total"] = re.sub(r"[^\d.,]", "", fields["total"]).replace(".", "").replace(",", ".")  # "1234.56"
        lines.append(line)
        if gold[key].template == "invoice_classic":  # the model fails the total on every strong copy
            augmented = answer(gold[key], tasks=("fields",), copy=0)
            augmented["fields"]["total"] = _last_digit_changed(augmented["fields"]["total"])
            lines.append(augmented)
    evaluate_run(run, write_jsonl(tmp_path / "corrupted.jsonl", lines))

    def score(page: GoldPage, copy_clause: str = '"copy" IS NULL') -> dict:
        return rows(run, f"SELECT * FROM doc_scores WHERE doc_id = '{page.doc_id}' AND {copy_clause}")[0]

    def errors(page: GoldPage) -> list[dict]:
        return rows(run, f"""SELECT field, field_pattern, gold, pred, exact, numeric_match, error_type FROM field_errors
                             WHERE doc_id = '{page.doc_id}' AND "copy" IS NULL AND error_type IS NOT NULL""")

    bad_total = score(wrong_total)
    assert bad_total["numeric_ok"] is False
    assert "total = subtotal - discount + tax" in bad_total["numeric_violations"]
    assert [(e["field"], e["error_type"], e["numeric_match"]) for e in errors(wrong_total)] == [("total", "numeric_off", False)]

    swap = score(swapped)  # items pair by assignment: no error rows, F1 1, numbers still add up
    assert errors(swapped) == [] and swap["field_f1"] == 1.0 and swap["numeric_ok"] is True
    assert swap["ted_acc"] < 1.0  # Donut's ordered accuracy does see the swap

    assert [(e["field"], e["pred"], e["error_type"]) for e in errors(dropped)] == [("receipt_number", None, "missing")]
    assert score(dropped)["field_f1"] < 1.0

    reformat = errors(reformatted)
    assert [(e["field"], e["error_type"], e["numeric_match"]) for e in reformat] == [("total", "format_only", True)]
    assert score(reformatted)["numeric_ok"] is True  # "1234.56" reads as the same number in a German document

    strong = rows(run, """SELECT count(*) AS n, bool_and(NOT numeric_ok) AS all_bad FROM doc_scores WHERE "copy" = 0""")[0]
    assert strong == {"n": sum(p.template == "invoice_classic" for p in gold.values()), "all_bad": True}
    summary = json.loads((run / "eval" / "corrupted" / "summary.json").read_text())
    assert summary["slices"]["preset"]["strong"]["field_errors"] == {"numeric_off": strong["n"]}
    assert summary["prediction_errors"] == {"total": 0}

    # The README's query, verbatim, in the plain DuckDB way: from the run folder, catalog.duckdb.
    assert f"```sql\n{ANALYST_QUERY}\n```" in README.read_text(encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(run)
        with duckdb.connect("catalog.duckdb", read_only=True) as con:
            top = con.execute(ANALYST_QUERY).fetchall()
    assert top[0] == ("corrupted", "invoice_classic", "strong", strong["n"], strong["n"], 1.0)
    assert top[1][-1] < 1.0


def test_copies_must_exist(small_run, gold, tmp_path):
    run = copy_run(small_run, tmp_path)
    key = sorted(gold)[0]
    result = evaluate_run(run, write_jsonl(tmp_path / "c.jsonl", [answer(gold[key], tasks=("text",), copy=3)]))
    issues = rows(run, "SELECT error, reason FROM prediction_errors ORDER BY ALL")
    assert issues[0]["error"] == "missing_prediction"  # with no valid line, every clean page is missing
    assert {"error": "unknown_copy", "reason": f"{key[0]} page {key[1]} has no augmented copy 3"} in issues
    assert result.summary["prediction_errors"]["missing_prediction"] == len(gold)
