"""`engine run --templates DIR`: a team's template is generated, trained on and evaluated in the loop,
and a field it declares that no built-in template has (a provider field) is in the trained layout
model's label set, in its kind's tag mask, and in the evaluation's field rows.

One iteration of the tiny profile (real WeasyPrint, DuckDB, torch) with every built-in template held
out, so the training mix and the in-distribution evaluation set are the team's template only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.catalog import open_catalog
from docfactory.engine.loop import LoopRequest, run_loop
from docfactory.engine.loop.profile import known_profiles
from docfactory.engine.loop.run import LoopError, evalset_dir, plan_from
from docfactory.templates import BUILTIN_DIR, TemplateRegistry

EXTRA_FIELD = "loyalty_id"  # declared by the team's template only


def team_template(root: Path) -> Path:
    """receipt_shop renamed, printing a loyalty card number that no content builder produces."""
    folder = root / "team" / "receipt_loyalty"
    shutil.copytree(BUILTIN_DIR / "receipt_shop", folder)
    yaml_path = folder / "template.yaml"
    yaml_path.write_text(yaml_path.read_text().replace(
        "  receipt_number: {type: id}\n",
        f'  receipt_number: {{type: id}}\n  {EXTRA_FIELD}: {{type: id, provider: bothify, args: {{text: "LY-########"}}}}\n'))
    html = folder / "template.html.j2"
    anchor = '<div class="thanks">'
    assert anchor in html.read_text()
    html.write_text(html.read_text().replace(
        anchor, f'<div class="small">Loyalty <span data-field="{EXTRA_FIELD}">{{{{ doc.{EXTRA_FIELD} }}}}</span></div>\n  {anchor}'))
    return folder.parent


def team_profile(root: Path) -> Path:
    assert "tiny" in known_profiles()
    data = yaml.safe_load((Path(__file__).resolve().parents[2] / "docfactory" / "engine" / "loop" / "profiles"
                           / "tiny.yaml").read_text())
    data.update(holdout_templates=TemplateRegistry().names(), holdout_docs=1, audit_docs=0, initial_docs=8, eval_docs=4)
    path = root / "team.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def team_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("team")
    run = root / "run"
    run_loop(run, LoopRequest(iterations=1, profile=str(team_profile(root)), seed=5,
                              template_dirs=[str(team_template(root))]))
    return run


def test_an_extra_field_reaches_the_trained_label_set_and_the_evaluation(team_run):
    meta = json.loads((team_run / "models" / "layout" / "it000" / "model" / "model.json").read_text())
    assert EXTRA_FIELD in meta["tagset"]["patterns"]
    assert EXTRA_FIELD in meta["kind_patterns"]["receipt"] and meta["field_types"][EXTRA_FIELD] == "id"
    with open_catalog(team_run, read_only=True) as catalog:
        templates = {t for (t,) in catalog.sql("SELECT DISTINCT template FROM documents").fetchall()}
        rows = catalog.sql("SELECT count(*), count(*) FILTER (WHERE gold LIKE 'LY-%') FROM eval_field_errors "
                           "WHERE evalset = 'in_dist' AND field = ?", [EXTRA_FIELD]).fetchone()
    assert templates == {"receipt_loyalty"}
    assert rows[0] > 0 and rows[0] == rows[1]  # one gold row per evaluated page that prints it


def test_mining_plans_with_the_team_templates(team_run):
    # Iteration 1's plan step: which trained templates print a weak field is read from their folders.
    from docfactory.engine.loop.profile import load_profile
    from docfactory.templates import UnknownTemplate

    profile = load_profile(str(team_run.parent / "team.yaml"))
    dirs = [str(team_run.parent / "team")]
    plan = plan_from(evalset_dir(team_run, "in_dist"), "it000", 1, 6, "hard", profile, templates=["receipt_loyalty"],
                     template_dirs=dirs)
    assert {v["template"] for v in plan.variants} <= {"receipt_loyalty"}
    with pytest.raises(UnknownTemplate):  # what iteration 1 met before the loop passed its folders on
        plan_from(evalset_dir(team_run, "in_dist"), "it000", 1, 6, "hard", profile, templates=["receipt_loyalty"])


def test_a_resumed_run_keeps_its_template_folders(team_run, tmp_path):
    from docfactory.engine.catalog import StepConfigMismatch

    with pytest.raises(StepConfigMismatch, match="template_dirs"):
        run_loop(team_run, LoopRequest(iterations=1, profile=str(team_run.parent / "team.yaml"), seed=5))


def test_a_broken_team_template_stops_the_loop_with_its_file(tmp_path):
    folder = tmp_path / "team" / "receipt_broken"
    shutil.copytree(BUILTIN_DIR / "receipt_shop", folder)
    (folder / "template.yaml").write_text("kind: receipt\nversion: 1\nfonts: []\n")
    with pytest.raises(LoopError, match=r"receipt_broken/template.yaml"):
        run_loop(tmp_path / "run", LoopRequest(iterations=1, profile="tiny", template_dirs=[str(folder.parent)]))


def test_engine_run_takes_templates(tmp_path):
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "--templates" in result.output
    missing = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "run"), "--profile", "tiny", "--iterations", "1",
                                       "--templates", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "template directory not found" in missing.output
