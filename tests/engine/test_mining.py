"""Mining on a real evaluated run: a template planted to fail is ranked first and the plan tilts
toward it; noise-level slices are not chased; uniform plans keep the initial mix; confidences join
the comparisons; hard variants keep the failed document's template and knobs, and the spec sampler
makes them."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.evaluation.gold import load_gold
from docfactory.engine.mining import (Slice, hard_variants, join_confidences, low_confidence, make_plan, mine_plan,
                                      weak_slices, wilson)
from docfactory.generators import sample_spec
from docfactory.templates import TemplateRegistry


def _flat(tree, prefix: str = "") -> list[str]:
    """Page-relative field names, as the layout predictor's confidences name them."""
    if isinstance(tree, dict):
        return [n for k, v in tree.items() for n in _flat(v, f"{prefix}{k}.")]
    if isinstance(tree, list):
        return [n for i, v in enumerate(tree) for n in _flat(v, f"{prefix}{i}.")]
    return [prefix[:-1]]


def _blank(tree):
    if isinstance(tree, dict):
        return {k: _blank(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_blank(v) for v in tree]
    return "x"


@pytest.fixture(scope="module")
def planted(small_run, tmp_path_factory) -> tuple[Path, str]:
    """Predictions perfect everywhere except on one template, where every value is wrong."""
    run = tmp_path_factory.mktemp("mining") / "run"
    shutil.copytree(small_run[0], run)
    with open_catalog(run, read_only=True) as catalog:
        gold = load_gold(catalog)
        templates = dict(catalog.sql("SELECT DISTINCT doc_id, template FROM documents").fetchall())
    counts: dict[str, int] = {}
    for page in gold.values():
        counts[templates[page.doc_id]] = counts.get(templates[page.doc_id], 0) + 1
    weak = max(counts, key=lambda t: (counts[t], t))
    lines = []
    for key in sorted(gold):
        page = gold[key]
        tree = copy.deepcopy(page.tree)
        bad = templates[page.doc_id] == weak
        lines.append(json.dumps({"doc_id": page.doc_id, "page": page.page, "fields": _blank(tree) if bad else tree,
                                 "confidence": {name: 0.1 if bad else 0.9 for name in _flat(tree)}}))
    preds = run / "preds.jsonl"
    preds.write_text("\n".join(lines) + "\n")
    evaluate_run(run, preds, name="it000")
    return run, weak


def test_planted_template_is_the_top_weak_slice_and_the_plan_tilts_to_it(planted):
    run, weak = planted
    with open_catalog(run, read_only=True) as catalog:
        slices = weak_slices(catalog, "it000", min_support=20)
    template_slices = [s for s in slices if s.column == "template"]
    assert template_slices and template_slices[0].value == weak
    assert all(s.lower > 0 for s in slices)
    plan = make_plan(slices, iteration=1, budget=50, tilt=4.0)
    assert max(plan.weights["template"], key=plan.weights["template"].get) == weak
    assert plan.weights["template"][weak] == 5.0  # the surest weak value of a knob weighs 1 + tilt
    assert make_plan(slices, iteration=1, budget=50, strategy="uniform").weights == {}


def test_small_support_is_not_chased():
    # 2 failures out of 3 look bad, but the interval is too wide to beat a 30% base rate surely.
    lower, upper = wilson(2, 3)
    assert lower < 0.3 < upper
    lower, _ = wilson(60, 100)
    assert lower > 0.45


def test_cli_mine_prints_slices_and_plan(planted):
    run, weak = planted
    result = CliRunner().invoke(app, ["mine", str(run), "--iteration", "0"])
    assert result.exit_code == 0, result.output
    assert "weak slices" in result.stdout and weak in result.stdout and "plan for the next batch" in result.stdout
    assert "least sure answers" in result.stdout and "hard variants" in result.stdout
    result = CliRunner().invoke(app, ["mine", str(run), "--name", "nope"])
    assert result.exit_code == 1


def test_confidences_join_the_comparisons(planted):
    run, weak = planted
    with open_catalog(run, read_only=True) as catalog:
        assert join_confidences(catalog, run / "preds.jsonl") > 0
        joined, total = catalog.sql("SELECT count(c.confidence), count(*) FROM field_errors e LEFT JOIN field_confidence c "
                                    "ON c.doc_id = e.doc_id AND c.page = e.page AND c.field = e.field "
                                    "WHERE e.name = 'it000' AND e.pred IS NOT NULL").fetchone()
        slices = weak_slices(catalog, "it000", min_support=20)
        low = low_confidence(catalog, "it000", below=0.5)
    assert joined == total  # every predicted value found its confidence (document field names)
    assert next(s for s in slices if s.column == "template" and s.value == weak).confidence == 0.1
    assert low and all(a["confidence"] == 0.1 for a in low)


def test_hard_variants_repeat_failed_documents_with_more_items(planted):
    run, weak = planted
    with open_catalog(run, read_only=True) as catalog:
        variants = hard_variants(catalog, "it000", 5)
        knobs = dict(catalog.sql("SELECT DISTINCT doc_id, knobs FROM documents").fetchall())
        plan = mine_plan(catalog, "it000", 1, 20, "hard", variant_share=0.25, predictions=run / "preds.jsonl")
        uniform = mine_plan(catalog, "it000", 1, 20, "uniform", predictions=run / "preds.jsonl")
    assert len(variants) == 5 and {v.template for v in variants} == {weak}
    for v in variants:
        assert v.knobs == knobs[v.source]
        assert v.push.get("n_items", v.knobs["n_items"]) >= v.knobs["n_items"] + 2 or not v.push
    assert len(plan.variants) == 5 and plan.generator_weights()["variants"] == plan.variants
    assert uniform.variants == [] and uniform.weights == {}


def test_the_spec_sampler_makes_the_variants_first():
    templates = list(TemplateRegistry().templates.values())
    by_name = {t.name: t for t in templates}
    template = by_name["invoice_classic"]
    low, high = template.config.n_items
    base = sample_spec(5, 0, [template])
    knobs = {k: getattr(base.knobs, k) for k in ("locale", "currency", "n_items", "tax_rate", "discount_rate", "font", "dpi")}
    variants = [{"source": "eval-1", "template": "invoice_classic", "knobs": knobs, "push": {"n_items": high + 50}},
                {"source": "eval-1", "template": "invoice_classic", "knobs": knobs, "push": {}}]
    weights = {"template": {"receipt_shop": 100.0}, "variants": variants}
    first, second, third = (sample_spec(9, i, templates, prefix="it001", weights=weights) for i in range(3))
    assert first.template == "invoice_classic" and first.knobs.n_items == high  # pushed, clamped to the range
    assert second.knobs.n_items == knobs["n_items"] and second.knobs.locale == knobs["locale"]
    assert first.seed != second.seed  # same template and knobs, a new seed
    assert third.template == "receipt_shop"  # after the variants, the weights draw
    assert sample_spec(9, 0, templates, prefix="it001", weights=weights) == first


def test_weak_fields_tilt_their_templates_and_barely_weak_values_barely_move():
    def weak(column, value, score):
        return Slice(column, value, 100, 0.5, 0.4, 0.6, score)

    slices = [weak("field", "store.address", 0.30), weak("template", "invoice_classic", 0.10),
              weak("locale", "de_DE", 0.01), weak("n_items_bucket", "5-9", 0.05)]
    by_field = {"store.address": {"receipt_shop": 1.0}}
    plan = make_plan(slices, 1, 40, tilt=4.0, by_field=by_field)
    assert plan.weights["template"] == {"receipt_shop": 5.0, "invoice_classic": round(1 + 4 * 0.10 / 0.30, 4)}
    assert plan.weights["locale"]["de_DE"] < 1.2  # a barely weak locale is not pushed like a failing template
    assert set(plan.weights["n_items"]) == {"5", "6", "7", "8", "9"}
    assert make_plan(slices, 1, 40, tilt=4.0).weights["template"] == {"invoice_classic": 5.0}  # fields alone tilt nothing
