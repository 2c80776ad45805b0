"""Layout choices end to end on a real run of receipt_pos slips (WeasyPrint, DuckDB): recorded in the
catalog's `documents.choices` and re-rendered byte for byte from it; slice columns `choice.NAME` for
mining; and a weak field tilts the options of the choices that print it (template.yaml choice_fields),
so a model that misreads the total under one total label gets more slips with that label."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.evaluation.gold import load_gold
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.mining import field_choices, hard_variants, make_plan, mine_plan, weak_slices
from docfactory.engine.plan_tables import weight_tables
from docfactory.engine.rerender import rerender
from docfactory.generators import sample_spec

N_DOCS = 16
WEAK_LABEL = "JUMLAH"
# Half the slips say JUMLAH, the others TOTAL or AMOUNT DUE: enough of each for a slice.
MIX = {"choice": {"total_label": {"TOTAL": 1, "AMOUNT DUE": 1, WEAK_LABEL: 3, "NETT TOTAL": 0, "GRAND TOTAL": 0,
                                  "TOTAL SALES (INCLUSIVE GST)": 0, "TOTAL ROUNDED": 0}}}


@pytest.fixture(scope="module")
def pos_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("choices") / "run"
    cfg = GenerateConfig(n=N_DOCS, seed=11, workers=1, shard_docs=8, templates=["receipt_pos"], weights=MIX)
    summary = run_generate(run, cfg)
    assert summary.rejected == 0 and summary.template_errors == []
    return run


def _labels(run: Path) -> dict[str, str]:
    with open_catalog(run, read_only=True) as catalog:
        return dict(catalog.sql("SELECT DISTINCT doc_id, choices->>'total_label' FROM documents").fetchall())


def test_choices_round_trip_through_the_catalog_and_rerender_byte_for_byte(pos_run, registry):
    template = registry.get("receipt_pos")
    with open_catalog(pos_run, read_only=True) as catalog:
        stored = dict(catalog.sql("SELECT DISTINCT doc_id, choices FROM documents").fetchall())
    assert len(stored) == N_DOCS
    for i in range(N_DOCS):
        spec = sample_spec(11, i, [template], weights=MIX)
        assert json.loads(stored[spec.doc_id]) == spec.choices  # every choice, as str(option)
    labels = _labels(pos_run)
    assert set(labels.values()) <= {"TOTAL", "AMOUNT DUE", WEAK_LABEL} and WEAK_LABEL in labels.values()
    for doc_id in sorted(stored)[:3]:
        report = rerender(pos_run, doc_id)
        assert report.identical, report.differences  # image, words, fields ... and choices


def _evaluate(run: Path, name: str, wrong) -> None:
    """Predictions perfect except where `wrong(doc_id, tree)` changes the tree."""
    with open_catalog(run, read_only=True) as catalog:
        gold = load_gold(catalog)
    lines = []
    for key in sorted(gold):
        page = gold[key]
        lines.append(json.dumps({"doc_id": page.doc_id, "page": page.page, "fields": wrong(page.doc_id, copy.deepcopy(page.tree))}))
    preds = run / f"{name}.jsonl"
    preds.write_text("\n".join(lines) + "\n")
    evaluate_run(run, preds, name=name)


@pytest.fixture(scope="module")
def evaluated(pos_run, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Evaluation `total`: the total misread on every JUMLAH slip; `blank`: every field of them."""
    run = tmp_path_factory.mktemp("choices_eval") / "run"
    shutil.copytree(pos_run, run)
    labels = _labels(run)

    def misread_total(doc_id, tree):
        if labels[doc_id] == WEAK_LABEL:
            tree["total"] = "9,999.99"
        return tree

    def blank(doc_id, tree):
        return {k: "x" for k in tree} if labels[doc_id] == WEAK_LABEL else tree

    _evaluate(run, "total", misread_total)
    _evaluate(run, "blank", blank)
    return run, labels


def test_choice_values_are_slice_columns(evaluated):
    run, labels = evaluated
    with open_catalog(run, read_only=True) as catalog:
        by_slices = dict(catalog.sql("SELECT DISTINCT doc_id, choices->>'total_label' FROM slices").fetchall())
        slices = weak_slices(catalog, "blank", min_support=5)
    assert by_slices == labels  # the slices table carries each page's choices
    weak = [s for s in slices if s.column == "choice.total_label"]
    assert [s.value for s in weak] == [WEAK_LABEL] and weak[0].knob == "choice.total_label"
    plan = make_plan(slices, iteration=1, budget=20)
    table = plan.weights["choice"]["total_label"]
    assert max(table, key=table.get) == WEAK_LABEL and table[WEAK_LABEL] > 1
    assert ("choice.total_label", table) in weight_tables(plan.weights)


def test_a_weak_field_tilts_the_options_its_pages_failed_under(evaluated):
    run, labels = evaluated
    with open_catalog(run, read_only=True) as catalog:
        slices = weak_slices(catalog, "total", min_support=5)
        plan = mine_plan(catalog, "total", 1, 20, "hard", min_support=5, templates=["receipt_pos"])
        flat = mine_plan(catalog, "total", 1, 20, "uniform", min_support=5, templates=["receipt_pos"])
        variants = hard_variants(catalog, "total", 3, templates=["receipt_pos"])
        stored = dict(catalog.sql("SELECT DISTINCT doc_id, choices FROM documents").fetchall())
        printing = {"receipt_pos": {"total_label": {"total"}, "currency": {"total"}, "meta": {"date"}}}
        by_choice = field_choices(catalog, "total", ["total"], printing)
    fields = [s for s in slices if s.column == "field"]
    assert [s.value for s in fields] == ["total"]
    table = plan.weights["choice"]["total_label"]
    assert max(table, key=table.get) == WEAK_LABEL and table[WEAK_LABEL] > 1
    assert all(table.get(label, 1.0) < table[WEAK_LABEL] for label in ("TOTAL", "AMOUNT DUE"))
    assert flat.weights == {}
    # The weak field alone reaches its label: choice_fields says total_label (and currency) print `total`.
    assert set(by_choice["total"]) <= {"choice.total_label", "choice.currency"}
    assert by_choice["total"]["choice.total_label"] == {WEAK_LABEL: 1.0}  # the others never failed it
    via_field = make_plan(fields, 1, 20, by_choice=by_choice).weights
    assert via_field["choice"]["total_label"][WEAK_LABEL] == 5.0 and "TOTAL" not in via_field["choice"]["total_label"]
    assert make_plan(fields, 1, 20).weights == {}  # without choice_fields, a field slice tilts no choice
    for v in variants:  # the worst slips again, same choices: JUMLAH
        assert v.choices == json.loads(stored[v.source]) and v.choices["total_label"] == WEAK_LABEL
    assert all(v["choices"]["total_label"] == WEAK_LABEL for v in plan.variants)


def test_the_plan_tilts_the_next_batch(evaluated, registry, tmp_path):
    """The mined plan's weights, given to the generator, print the weak label on most new slips."""
    run, labels = evaluated
    with open_catalog(run, read_only=True) as catalog:
        plan = mine_plan(catalog, "total", 1, 20, "hard", min_support=5, templates=["receipt_pos"], variant_share=0)
    weights = plan.generator_weights()
    nxt = tmp_path / "next"
    run_generate(nxt, GenerateConfig(n=12, seed=12, workers=1, shard_docs=12, templates=["receipt_pos"], prefix="it001",
                                     weights=weights))
    after = list(_labels(nxt).values())
    template = registry.get("receipt_pos")
    before = [sample_spec(12, i, [template], prefix="it001").choices["total_label"] for i in range(12)]
    assert after.count(WEAK_LABEL) >= before.count(WEAK_LABEL) + 3, (after, before)
    # JUMLAH weighs 1 + tilt = 5 against 7 for the other options together (TOTAL is listed twice): from 1 in 8 to 5 in 12
    drawn = [sample_spec(12, i, [template], prefix="it001", weights=weights).choices["total_label"] for i in range(400)]
    assert 0.33 < drawn.count(WEAK_LABEL) / len(drawn) < 0.5
