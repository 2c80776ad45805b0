"""`engine run --real-eval` on the tiny profile: the real set is imported once into RUN/evalsets/real,
scored every iteration (iterations table, summary, report), never trained on; mining takes its weak
fields and tilts the trained templates that print them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.loop import LoopRequest, load_profile, run_loop
from docfactory.engine.loop.run import evalset_dir, plan_from
from docfactory.engine.loop.state import iterations

SROIE = Path(__file__).resolve().parents[3] / "shared" / "data" / "sroie"
pytestmark = pytest.mark.skipif(not SROIE.is_dir(), reason="../shared/data/sroie not present")
STEMS = ("000", "001", "002", "003")


@pytest.fixture(scope="module")
def real_loop(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("loop_real")
    src = root / "sroie"
    for sub, suffix in (("img", ".jpg"), ("key", ".json"), ("box", ".csv")):
        (src / sub).mkdir(parents=True)
        for stem in STEMS:
            shutil.copy(SROIE / sub / f"{stem}{suffix}", src / sub / f"{stem}{suffix}")
    profile = root / "tiny_real.yaml"
    tiny = (Path(__file__).resolve().parents[2] / "docfactory/engine/loop/profiles/tiny.yaml").read_text()
    # the dataset's own OCR keeps the test fast; the default word source is rapidocr
    profile.write_text(tiny + f"\nreal_eval: {{src: {src}, format: sroie, word_source: dataset}}\n")
    run_loop(root / "run", LoopRequest(iterations=2, profile=str(profile), seed=3))
    return root / "run"


def test_real_set_is_imported_once_and_scored_every_iteration(real_loop):
    rows = iterations(real_loop)
    assert [r["iteration"] for r in rows] == [0, 1]
    for r in rows:
        real = r["metrics"]["real"]
        assert real["pages"] == len(STEMS) and real["match_rule"] == "sroie"
        assert set(real["match_fields"]) == {"store.company", "date", "store.address", "total"}
        assert r["real_field_f1"] is not None and r["real_match"] == pytest.approx(
            sum(real["match_fields"].values()) / 4)
        assert 0 < real["ocr_ceiling"] <= 1
    with open_catalog(evalset_dir(real_loop, "real"), read_only=True) as catalog:
        assert catalog.sql("SELECT count(*), count(DISTINCT source) FROM documents").fetchone() == (len(STEMS), 1)
        assert {n for (n,) in catalog.sql("SELECT DISTINCT name FROM doc_scores").fetchall()} == {"it000", "it001"}
        assert catalog.sql("SELECT count(*) FROM field_errors WHERE match IS NOT NULL").fetchone()[0] > 0
    with open_catalog(real_loop, read_only=True) as catalog:  # never trained on: no real page in the run
        assert catalog.sql("SELECT count(*) FROM documents WHERE starts_with(doc_id, 'sroie')").fetchone()[0] == 0
        assert catalog.sql("SELECT count(*) FROM iterations WHERE real_match IS NOT NULL").fetchone()[0] == 2


def test_report_shows_the_real_set(real_loop):
    from docfactory.engine.report import write_report

    html = write_report(real_loop).read_text()
    assert "real match (mean of fields)" in html and "real: sroie match, field=store.company" in html
    assert "Worst pages of it001 (real set" in html and "data:image/jpeg;base64," in html


def test_mining_takes_the_real_sets_weak_fields(real_loop, tmp_path):
    real = evalset_dir(real_loop, "real")
    keys = {stem: json.loads((SROIE / "key" / f"{stem}.json").read_text()) for stem in STEMS}
    # a model that reads every key but the company right on the real receipts
    preds = tmp_path / "planted.jsonl"
    preds.write_text("".join(json.dumps({"doc_id": f"sroie-{s}", "page": 0, "fields": {
        "store": {"company": "WRONG", "address": k["address"]}, "date": k["date"], "total": k["total"]}}) + "\n"
        for s, k in keys.items()))
    evaluate_run(real, preds, name="it001", match="sroie")
    profile = load_profile("tiny").model_copy(update={"min_support": 3})
    plan = plan_from(evalset_dir(real_loop, "in_dist"), "it001", 2, 6, "hard", profile,
                     templates=["invoice_classic", "invoice_modern", "receipt_shop", "statement_report"], real=real)
    real_slices = [s for s in plan.weak_slices if s["evalset"] == "real"]
    assert [(s["column"], s["value"]) for s in real_slices] == [("field", "store.company")]
    weights = plan.weights["template"]
    # the real set's weak field is the surest slice, and of the trained templates only receipt_shop prints
    # store.company: it takes the top weight (1 + tilt); the invoices and the statement do not gain by it
    assert plan.weak_slices[0]["evalset"] == "real"
    assert weights["receipt_shop"] == 1 + profile.tilt
    assert all(weights.get(t, 1.0) < weights["receipt_shop"] for t in ("invoice_classic", "invoice_modern", "statement_report"))
