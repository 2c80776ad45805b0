"""engine evaluate on an imported real set: field_errors rows and the summary's SROIE accuracy equal a
hand-computed expectation; the OCR ceiling counts the gold values present in the words; the error
tables answer an analyst's question in one query."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.real_sets import ImportRequest, import_set

SROIE = Path(__file__).resolve().parents[3] / "shared" / "data" / "sroie"
pytestmark = pytest.mark.skipif(not SROIE.is_dir(), reason="../shared/data/sroie not present")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src") / "sroie"
    for sub, suffix in (("img", ".jpg"), ("key", ".json"), ("box", ".csv")):
        (src / sub).mkdir(parents=True)
        for stem in ("000", "001", "002"):
            shutil.copy(SROIE / sub / f"{stem}{suffix}", src / sub / f"{stem}{suffix}")
    run = tmp_path_factory.mktemp("run") / "real"
    import_set(run, ImportRequest(src=src, fmt="sroie", word_source="dataset"))
    return run


def key(stem: str) -> dict:
    return json.loads((SROIE / "key" / f"{stem}.json").read_text())


def test_sroie_match_rows_and_per_key_accuracy(real_run, tmp_path):
    k0, k1, k2 = key("000"), key("001"), key("002")
    preds = [
        # 000: all four right
        {"doc_id": "sroie-000", "page": 0, "fields": {"store": {"company": k0["company"], "address": k0["address"]},
                                                      "date": k0["date"], "total": k0["total"]}},
        # 001: company with doubled and trailing spaces (right under SROIE's whitespace rule), total wrong
        {"doc_id": "sroie-001", "page": 0, "fields": {"store": {"company": k1["company"].replace(" ", "  ") + " ",
                                                                "address": k1["address"]},
                                                      "date": k1["date"], "total": "RM60.30"}},
        # 002: no address, lower-case company (wrong: case counts), date right
        {"doc_id": "sroie-002", "page": 0, "fields": {"store": {"company": k2["company"].lower()}, "date": k2["date"],
                                                      "total": k2["total"]}},
    ]
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in preds))
    result = evaluate_run(real_run, path, name="hand", match="sroie")
    fields = result.summary["match"]["fields"]
    assert {f: (v["right"], v["values"]) for f, v in fields.items()} == {
        "store.company": (2, 3), "date": (3, 3), "store.address": (2, 3), "total": (2, 3)}
    assert result.summary["match"]["mean_of_fields"] == pytest.approx((2 / 3 + 1 + 2 / 3 + 2 / 3) / 4)
    assert result.summary["overall"]["match_accuracy"] == pytest.approx(9 / 12)
    with open_catalog(real_run, read_only=True) as catalog:
        rows = catalog.sql("SELECT doc_id, field, match, error_type FROM field_errors WHERE name = 'hand' "
                           "AND gold IS NOT NULL ORDER BY doc_id, field").fetchall()
        # the analyst's question in one query: accuracy per key on the real set
        per_key = dict(catalog.sql("SELECT field_pattern, avg(CAST(match AS DOUBLE)) FROM field_errors "
                                   "WHERE name = 'hand' AND gold IS NOT NULL GROUP BY 1").fetchall())
    assert ("sroie-001", "store.company", True, "format_only") in rows  # Donut: not exact; SROIE: right
    assert ("sroie-001", "total", False, "format_only") in rows
    assert ("sroie-002", "store.address", False, "missing") in rows
    assert ("sroie-002", "store.company", False, "format_only") in rows
    assert per_key["date"] == 1.0 and per_key["total"] == pytest.approx(2 / 3)


def test_ocr_ceiling_counts_gold_values_in_the_words(real_run, tmp_path):
    from docfactory.evaluate.ocr_ceiling import value_present
    from docfactory.train.layout.words import reading_order

    path = tmp_path / "empty.jsonl"
    path.write_text("".join(json.dumps({"doc_id": f"sroie-{s}", "page": 0, "fields": {}}) + "\n" for s in ("000", "001", "002")))
    result = evaluate_run(real_run, path, name="empty", match="sroie")
    ceiling = result.summary["ocr_ceiling"]
    with open_catalog(real_run, read_only=True) as catalog:
        pages = catalog.sql("SELECT words, fields FROM documents ORDER BY doc_id").fetchall()
    expected: dict[str, list[int]] = {}
    for words, fields in pages:
        texts = [w["text"] for w in reading_order({"text": w["text"], "box": w["box"]} for w in words)]
        for f in fields:
            expected.setdefault(f["name"], [0, 0])
            expected[f["name"]][0] += value_present(f["value"], texts)
            expected[f["name"]][1] += 1
    assert {f: (v["present"], v["values"]) for f, v in ceiling["fields"].items()} == {f: tuple(v) for f, v in expected.items()}
    assert ceiling["fields"]["date"]["present"] == 3  # every date is printed as labelled
    assert result.summary["match"]["mean_of_fields"] == 0.0


def test_unknown_match_rule_is_refused(real_run, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"doc_id": "sroie-000", "page": 0, "fields": {}}) + "\n")
    with pytest.raises(ValueError, match="unknown match rule 'cord' \\(known: exact, sroie\\)"):
        evaluate_run(real_run, path, name="x", match="cord")
