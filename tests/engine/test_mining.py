"""Mining on a real evaluated run: a template planted to fail is ranked first and the plan tilts
toward it; noise-level slices are not chased; uniform plans keep the initial mix."""

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
from docfactory.engine.mining import make_plan, weak_slices, wilson


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
        lines.append(json.dumps({"doc_id": page.doc_id, "page": page.page,
                                 "fields": _blank(tree) if templates[page.doc_id] == weak else tree}))
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
    plan = make_plan(slices, iteration=1, budget=50)
    assert max(plan.weights["template"], key=plan.weights["template"].get) == weak
    assert plan.weights["template"][weak] > 1.5
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
    result = CliRunner().invoke(app, ["mine", str(run), "--name", "nope"])
    assert result.exit_code == 1
