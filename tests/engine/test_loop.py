"""The closed loop on the tiny profile (real WeasyPrint, DuckDB, torch): two iterations end to end,
a planted weak slice tilts the plan, bad profiles are refused, and a loop killed (SIGKILL) while
writing documents and while training resumes to the same catalog as an uninterrupted one, with
either strategy.

Iteration 0 does not depend on the strategy, so it runs once and both strategies continue a copy
(as benchmarks/loop_ab.py does)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.evaluation.gold import load_gold
from docfactory.engine.loop import LoopRequest, ProfileError, load_profile, run_loop
from docfactory.engine.loop.run import evalset_dir, plan_from
from docfactory.engine.loop.state import iterations

ENGINE = [sys.executable, "-m", "docfactory.cli"]
# hard: the plan (its hard variants rank documents by the model's confidences) depends on the
# trained weights, which are the same bytes in another process since the layout vocabulary is
# deterministic, so the documents of iteration 1 can be compared byte for byte.
COMMAND = ["run", "--iterations", "2", "--profile", "tiny", "--seed", "3"]


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory) -> dict[str, Path]:
    """strategy -> an uninterrupted 2-iteration tiny run; iteration 0 made once and copied."""
    root = tmp_path_factory.mktemp("loop")
    started = time.perf_counter()
    run_loop(root / "base", LoopRequest(iterations=1, profile="tiny", seed=3))
    runs = {}
    for strategy in ("hard", "uniform"):
        shutil.copytree(root / "base", root / strategy)
        run_loop(root / strategy, LoopRequest(iterations=2, profile="tiny", seed=3, strategy=strategy))
        runs[strategy] = root / strategy
    print(f"tiny loop, iteration 0 and iteration 1 of both strategies: {time.perf_counter() - started:.1f}s")
    return runs


@pytest.fixture(scope="module")
def tiny_run(tiny_runs) -> Path:
    return tiny_runs["hard"]


def _state(run: Path) -> dict:
    with open_catalog(run, read_only=True) as catalog:
        shards = catalog.sql("SELECT path, rows, sha256 FROM shards WHERE kind IN ('documents', 'augmented', 'lines') "
                             "ORDER BY path").fetchall()
        counts = {kind: catalog.sql(f"SELECT count(*) FROM {kind}").fetchone()[0] for kind in ("documents", "augmented")}
        steps = catalog.sql("SELECT iteration, step FROM loop_steps ORDER BY ALL").fetchall()
        n_iterations = catalog.sql("SELECT count(*) FROM iterations").fetchone()[0]
    return {"shards": shards, "counts": counts, "steps": steps, "iterations": n_iterations}


def test_two_iterations_fill_the_iterations_table(tiny_run):
    rows = iterations(tiny_run)
    assert [r["iteration"] for r in rows] == [0, 1]
    assert [r["strategy"] for r in rows] == ["base", "hard"]
    assert rows[0]["n_train"] > 0 and rows[1]["n_train_total"] > rows[0]["n_train_total"]
    for r in rows:
        assert r["field_f1"] is not None and r["holdout_field_f1"] is not None
        assert {"in_dist", "holdout"} <= set(r["metrics"]) and "template" in r["slices"]["in_dist"]
        assert {"generate", "augment", "train", "predict", "evaluate"} <= set(r["stage_seconds"])
    assert "eval_sets" in rows[0]["stage_seconds"] and "plan" in rows[1]["stage_seconds"]
    assert (tiny_run / "plans" / "it001.json").exists()
    assert (tiny_run / "models" / "layout" / "it001" / "done.json").exists()
    with open_catalog(tiny_run, read_only=True) as catalog:
        prefixes = dict(catalog.sql("SELECT split_part(doc_id, '-', 1), count(*) FROM documents GROUP BY 1").fetchall())
        templates = {t for (t,) in catalog.sql("SELECT DISTINCT template FROM documents").fetchall()}
    assert set(prefixes) == {"doc", "it001"}  # a new doc-id prefix per iteration
    assert "receipt_thermal" not in templates  # the holdout template is never trained on
    with open_catalog(evalset_dir(tiny_run, "holdout"), read_only=True) as catalog:
        # the hand-written held-out template, and receipt_pos slips of the held-out layout family
        assert {t for (t,) in catalog.sql("SELECT DISTINCT template FROM documents").fetchall()} == {"receipt_thermal", "receipt_pos"}
    held = load_profile("tiny").holdout_choices
    assert held == {"rule": ["equals"], "total_label": ["GRAND TOTAL"]}
    family = "(choices->>'rule') = 'equals' OR (choices->>'total_label') = 'GRAND TOTAL'"  # ->> binds looser than =
    for folder in (tiny_run, *(evalset_dir(tiny_run, name) for name in ("in_dist", "audit", "holdout"))):
        with open_catalog(folder, read_only=True) as catalog:
            counts = catalog.sql(f"SELECT count(*) FILTER (WHERE {family}), count(*) FILTER (WHERE "
                                 f"{family.replace(' OR ', ' AND ')}), count(*) "
                                 "FROM documents WHERE template = 'receipt_pos'").fetchone()
        if folder.name == "holdout":
            assert counts[1] == counts[2] > 0  # every slip of the family, both options
        else:
            assert counts[0] == 0 and (counts[2] > 0 or folder != tiny_run)  # never in training, in_dist or audit
    assert all(r["holdout_teds"] is None for r in rows)  # the holdout receipts have no tables: no TEDS, not 0


def test_hard_orders_variants_of_failed_documents_and_uniform_does_not(tiny_runs):
    hard = json.loads((tiny_runs["hard"] / "plans" / "it001.json").read_text())
    uniform = json.loads((tiny_runs["uniform"] / "plans" / "it001.json").read_text())
    assert uniform["variants"] == [] and uniform["weights"] == {}
    assert len(hard["variants"]) == round(load_profile("tiny").variant_share * hard["budget"]) > 0
    assert all(v["source"].startswith("eval-") for v in hard["variants"])
    with open_catalog(tiny_runs["hard"], read_only=True) as catalog:
        made = dict(catalog.sql("SELECT DISTINCT doc_id, template FROM documents WHERE starts_with(doc_id, 'it001-')").fetchall())
    for i, v in enumerate(hard["variants"]):  # the first documents of the batch are the variants
        assert made[f"it001-{i:07d}"] == v["template"]
    assert hard["low_confidence"] and all(a["confidence"] < 0.5 for a in hard["low_confidence"])


def _blank(tree):
    if isinstance(tree, dict):
        return {k: _blank(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_blank(v) for v in tree]
    return "x"


def test_a_planted_weak_template_tilts_the_plan_and_uniform_does_not(tiny_run):
    """Predictions right everywhere but on one template of the fixed set: hard plans for it."""
    evalset = evalset_dir(tiny_run, "in_dist")
    with open_catalog(evalset, read_only=True) as catalog:
        gold = load_gold(catalog)
        templates = dict(catalog.sql("SELECT DISTINCT doc_id, template FROM documents").fetchall())
    weak = sorted(templates.values())[0]
    lines = [json.dumps({"doc_id": p.doc_id, "page": p.page,
                         "fields": _blank(p.tree) if templates[p.doc_id] == weak else copy.deepcopy(p.tree)})
             for _, p in sorted(gold.items())]
    preds = tiny_run / "planted.jsonl"
    preds.write_text("\n".join(lines) + "\n")
    evaluate_run(evalset, preds, name="planted")
    profile = load_profile("tiny")
    hard = plan_from(evalset, "planted", 1, 8, "hard", profile)
    uniform = plan_from(evalset, "planted", 1, 8, "uniform", profile)
    assert uniform.weights == {}
    assert hard.weights != uniform.weights
    assert max(hard.weights["template"], key=hard.weights["template"].get) == weak


def test_profiles_are_typed_data(tmp_path):
    assert load_profile("tiny").min_support >= 1 and load_profile("default").budget > 0 and load_profile("full")
    bad = tmp_path / "bad.yaml"
    bad.write_text("initial_docs: 4\nbudget: 2\neval_docs: 2\nholdout_docs: 0\nbudgett: 3\n")
    with pytest.raises(ProfileError, match=r"bad\.yaml: budgett"):
        load_profile(str(bad))
    with pytest.raises(ProfileError, match="known: default, full, tiny"):
        load_profile("huge")


def test_an_initial_mix_weighs_iteration_0_and_a_plan_replaces_only_the_knobs_it_sets(tmp_path):
    from docfactory.engine.loop.run import LoopError, _Loop, Reporter

    skewed = tmp_path / "skewed.yaml"
    skewed.write_text((Path(__file__).parents[2] / "benchmarks" / "profiles" / "skewed.yaml").read_text())
    profile = load_profile(str(skewed))
    assert profile.initial_weights == {"template": {"receipt_shop": 0.1}}
    loop = _Loop(tmp_path / "run", profile, LoopRequest(iterations=2, profile=str(skewed)), Reporter())
    assert loop.plan_weights(0) == {"template": {"receipt_shop": 0.1}}
    plans = tmp_path / "run" / "plans"
    plans.mkdir(parents=True)
    (plans / "it001.json").write_text(json.dumps({"weights": {}, "variants": []}))  # uniform: the initial mix
    assert loop.plan_weights(1) == {"template": {"receipt_shop": 0.1}}
    (plans / "it001.json").write_text(json.dumps({"weights": {"template": {"receipt_shop": 5.0}, "locale": {"de_DE": 2.0}},
                                                  "variants": []}))
    assert loop.plan_weights(1) == {"template": {"receipt_shop": 5.0}, "locale": {"de_DE": 2.0}}

    skewed.write_text(skewed.read_text().replace("receipt_shop: 0.1", "receipt_thermal: 0.1"))  # a holdout template
    with pytest.raises(LoopError, match="initial_weights.template: receipt_thermal"):
        _Loop(tmp_path / "run", load_profile(str(skewed)), LoopRequest(iterations=1), Reporter())


def _kill_when(run: Path, command: list[str], marker, timeout: float = 120) -> None:
    """Start the loop in a subprocess and SIGKILL it as soon as `marker(run)` holds."""
    proc = subprocess.Popen([*ENGINE, *command, "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if marker(run):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the loop ended before the kill point"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker processes, like kill -9 of a session
        proc.wait()


@pytest.mark.parametrize("strategy", ["hard", "uniform"])
def test_resume_after_kills_gives_the_same_catalog(tiny_runs, tmp_path, strategy):
    run, command = tmp_path / "killed", [*COMMAND, "--strategy", strategy]
    if strategy == "uniform":  # mid-shard (the kill points are split between the two to keep each under a minute)
        _kill_when(run, command, lambda r: (r / "shards" / "documents" / "it000" / "part-00000.parquet").exists())
    _kill_when(run, command, lambda r: (r / "models" / "layout" / "it000" / "checkpoint.pt").exists())
    if strategy == "hard":  # in iteration 1, its plan saved
        _kill_when(run, command, lambda r: (r / "plans" / "it001.json").exists())
    done = subprocess.run([*ENGINE, *command, "--out", str(run)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _state(run) == _state(tiny_runs[strategy])
    assert (run / "plans" / "it001.json").read_bytes() == (tiny_runs[strategy] / "plans" / "it001.json").read_bytes()
    # The same command with other settings (the other strategy, another budget) is refused rather than mixed in.
    change = ["--strategy", "uniform"] if strategy == "hard" else ["--strategy", "uniform", "--budget", "9"]
    other = subprocess.run([*ENGINE, *COMMAND, "--out", str(run), *change], capture_output=True, text=True)
    assert other.returncode == 1 and "other settings" in other.stdout + other.stderr


def test_report_is_self_contained_and_has_every_section(tiny_run):
    from typer.testing import CliRunner

    from docfactory.cli import app

    result = CliRunner().invoke(app, ["report", str(tiny_run)])
    assert result.exit_code == 0, result.output
    html = (tiny_run / "report.html").read_text()
    for section in ("id='metrics'", "id='errors'", "id='heatmap'", "id='worst'", "id='plans'", "<svg",
                    "data:image/png;base64,"):
        assert section in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from a server


def test_report_on_a_run_without_loop_iterations_is_one_clear_error(small_run):
    from typer.testing import CliRunner

    from docfactory.cli import app

    run = small_run[0]
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 1
    assert "no finished loop iterations" in result.output and "Traceback" not in result.output
    assert not (run / "report.html").exists()


def test_audit_set_is_never_mined_and_one_catalog_answers_across_sets(tiny_run):
    """The audit set is drawn like in_dist (other documents) and scored every iteration, but no plan
    reads it; the loop catalog holds every set's evaluation rows with an `evalset` column."""
    with open_catalog(evalset_dir(tiny_run, "audit"), read_only=True) as catalog:
        audit_docs = {d for (d,) in catalog.sql("SELECT DISTINCT doc_id FROM documents").fetchall()}
        audit_pages = catalog.sql("SELECT count(*) FROM documents").fetchone()[0]
    with open_catalog(evalset_dir(tiny_run, "in_dist"), read_only=True) as catalog:
        in_dist_docs = {d for (d,) in catalog.sql("SELECT DISTINCT doc_id FROM documents").fetchall()}
    assert audit_docs and all(d.startswith("audit-") for d in audit_docs) and not audit_docs & in_dist_docs
    rows = iterations(tiny_run)
    assert all(r["audit_field_f1"] is not None and "audit" in r["metrics"] for r in rows)
    plan = json.loads((tiny_run / "plans" / "it001.json").read_text())
    assert not any(v["source"] in audit_docs for v in plan["variants"])
    with open_catalog(tiny_run, read_only=True) as catalog:
        counts = dict(((s, n), c) for s, n, c in catalog.sql(
            "SELECT evalset, name, count(*) FROM eval_doc_scores GROUP BY ALL").fetchall())
        slices = {s for (s,) in catalog.sql("SELECT DISTINCT evalset FROM eval_slices").fetchall()}
        # one query across sets and iterations: field F1 per set per iteration
        by_set = catalog.sql("SELECT evalset, name, avg(field_f1) FROM eval_doc_scores GROUP BY ALL ORDER BY ALL").fetchall()
    for evalset in ("in_dist", "holdout", "audit"):
        for name in ("it000", "it001"):
            assert counts[(evalset, name)] > 0
    assert slices == {"in_dist", "holdout", "audit"} and len(by_set) == 6
    assert counts[("audit", "it000")] == audit_pages
