"""engine predict through the executor: the same predictions file with 1 or 2 workers (tasks are the
shards holding chosen pages, the file sorted by doc/page), a page the model raises on is a row with
its error while the rest is answered, and a whole run at a URL (memory://, file://) goes generate ->
train -> predict -> evaluate -> mine -> export -> rerender through the `engine` command."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import fsspec
import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.executor import ExecutorOptions, make_executor
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.predict_step import PredictRequest, PredictStepError, run_predict
from docfactory.train.registry import ModelEntry, register_model

TEMPLATES = ["invoice_classic", "receipt_shop"]

# An external model (the `command` predictor) that crashes when its manifest holds one document:
# the engine narrows the failure down to that document's pages.
CRASHES_ON = '''
import json, sys
manifest, out = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(manifest)]
if any(m["doc_id"] == "{bad}" for m in rows):
    sys.exit("cannot read {bad}")
with open(out, "w") as f:
    for m in rows:
        f.write(json.dumps({"doc_id": m["doc_id"], "page": m["page"], "text": "%d" % m["width"]}) + "\\n")
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """Five documents in three shards (two tasks of two documents, one of one)."""
    run = tmp_path_factory.mktemp("predict") / "run"
    cfg = GenerateConfig(n=5, seed=7, shard_docs=2, workers=1, templates=TEMPLATES)
    assert run_generate(run, cfg).failed_shards == []
    return run


def request(out: Path, script: Path, **kw) -> PredictRequest:
    """The `command` model (light to start in a worker) running `script` on each task's pages."""
    return PredictRequest(model="command", splits=None, out=out, predict_cmd=f"{sys.executable} {script}", **kw)


def test_predictions_are_the_same_bytes_with_one_or_two_workers(run, tmp_path):
    script = tmp_path / "model.py"
    script.write_text(CRASHES_ON.replace("{bad}", "none"))
    one = run_predict(run, request(tmp_path / "one.jsonl", script))
    with make_executor(ExecutorOptions(), workers=2) as executor:
        two = run_predict(run, request(tmp_path / "two.jsonl", script), executor=executor)
    assert one.pages == two.pages >= 5 and one.errors == two.errors == []
    text = (tmp_path / "one.jsonl").read_bytes()
    assert (tmp_path / "two.jsonl").read_bytes() == text
    keys = [(row["doc_id"], row["page"]) for row in map(json.loads, text.splitlines())]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) and {k[0] for k in keys} == {f"doc-000000{i}" for i in range(5)}
    limited = run_predict(run, request(tmp_path / "three.jsonl", script, limit=3), workers=1)
    assert (tmp_path / "three.jsonl").read_bytes().splitlines() == text.splitlines()[:3] and limited.pages == 3


def test_a_page_the_model_raises_on_is_an_error_row_and_the_rest_is_answered(run, tmp_path):
    bad = "doc-0000001"
    script = tmp_path / "model.py"
    script.write_text(CRASHES_ON.replace("{bad}", bad))
    out = tmp_path / "p.jsonl"
    result = run_predict(run, request(out, script), workers=2)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    failed = [r for r in rows if r.get("error")]
    assert failed and {r["doc_id"] for r in failed} == {bad} and len(result.errors) == len(failed)
    assert f"cannot read {bad}" in failed[0]["error"]
    assert all(r["text"].isdigit() for r in rows if not r.get("error")) and len(rows) == result.pages
    summary = evaluate_run(run, out, name="crashy").summary
    assert summary["prediction_errors"]["predictor_error"] == len(failed)
    assert summary["overall"]["pages"] == len(rows)  # the rest is scored


def test_a_model_that_fails_on_every_page_fails_the_step(run, tmp_path):
    with pytest.raises(PredictStepError, match="needs a trained checkpoint"):
        run_predict(run, PredictRequest(model="layout", out=tmp_path / "p.jsonl", splits=None))
    with pytest.raises(RuntimeError, match="exited with 3"):
        run_predict(run, PredictRequest(model="command", out=tmp_path / "p.jsonl", splits=None, predict_cmd="exit 3"))
    assert not (tmp_path / "p.jsonl").exists()


class _CountTrainer:
    """A trainer on the engine's pages: its checkpoint is the number of training pages it saw."""

    def train(self, run_dir, out_dir, *, train_pages, val_pages, iteration=0, previous=None, run_info=None,
              restart=False):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "pages.txt").write_text(str(len(train_pages)))
        (out_dir / "done.json").write_text(json.dumps({"steps": 1}))
        return out_dir


class _CountPredictor:
    def __init__(self, checkpoint):
        self.seen = (Path(checkpoint) / "pages.txt").read_text()

    def predict(self, pages):
        for page in pages:
            yield {"doc_id": page.doc_id, "page": page.page, "text": self.seen, "fields": {"total": self.seen}}


register_model(ModelEntry("count-test", "test double", predictor=_CountPredictor, trainer=_CountTrainer))


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_a_run_at_a_url_goes_through_every_command(scheme, tmp_path):
    url = f"memory://docfactory-test-{uuid.uuid4().hex}/r1" if scheme == "memory" else f"file://{tmp_path}/r1"
    cli = CliRunner()

    def engine(*args: str, code: int = 0) -> str:
        result = cli.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    # memory:// lives in this process: no worker process could write it, so no time limit (which needs one)
    engine("generate", "--n", "3", "--out", url, "--seed", "5", "--workers", "1", "--task-timeout", "0",
           "--template", "invoice_classic", "--template", "receipt_shop")
    assert "trained count-test iteration 0" in engine("train", url, "--model", "count-test")
    preds = tmp_path / "preds.jsonl"
    assert "predicted" in engine("predict", url, "--model", "count-test", "--split", "all", "--out", str(preds))
    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    assert rows and all(r["text"] == rows[0]["text"] != "0" for r in rows)  # the checkpoint came from the run
    assert "evaluated preds" in engine("evaluate", url, "--predictions", str(preds))
    assert "weak slices" in engine("mine", url, "--min-support", "1")
    assert "exported coco" in engine("export", url, "--format", "coco", "--out", str(tmp_path / "coco"))
    assert (tmp_path / "coco" / "annotations").is_dir()
    doc_id = rows[0]["doc_id"]
    assert "byte-identical" in engine("rerender", url, doc_id)
    if scheme == "memory":
        fs = fsspec.filesystem("memory")
        assert fs.exists(f"{url}/models/count-test/it000/pages.txt") and fs.exists(f"{url}/eval/preds/summary.json")
        fs.rm(url.rsplit("/", 1)[0], recursive=True)
    else:
        assert (tmp_path / "r1" / "models" / "count-test" / "it000" / "pages.txt").exists()


def test_evaluate_on_the_executor_writes_the_same_rows_as_in_process(run, tmp_path):
    from docfactory.engine.catalog import open_catalog
    from docfactory.engine.evaluation.gold import load_gold
    from docfactory.engine.evaluation.scoring import ScoringOptions

    with open_catalog(run, read_only=True) as catalog:
        gold = sorted(load_gold(catalog).values(), key=lambda g: (g.doc_id, g.page), reverse=True)  # not in doc order
    lines = [{"doc_id": g.doc_id, "page": g.page, "fields": g.tree, "tables": [t.html for t in g.tables]} for g in gold[1:]]
    lines[0]["fields"] = {"total": "0.00"}  # a wrong answer, and gold[0] is missing: error rows to compare
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps(line) + "\n" for line in lines))

    def evaluated(name: str, options: ScoringOptions) -> tuple[dict, dict]:
        result = evaluate_run(run, preds, name=name, options=options)
        with open_catalog(run, read_only=True) as catalog:
            rows = {kind: catalog.sql(f"SELECT * EXCLUDE (name) FROM {kind} WHERE name = ? ORDER BY ALL", [name]).fetchall()
                    for kind in ("doc_scores", "field_errors", "table_errors", "prediction_errors")}
        return rows, {k: v for k, v in result.summary.items() if k not in ("name", "seconds")}

    here = evaluated("here", ScoringOptions(workers=0))  # TEDS in this process
    with make_executor(ExecutorOptions(), workers=2) as executor:
        there = evaluated("there", ScoringOptions(workers=0, executor=executor, pages_per_task=2))  # 3 tasks
    assert there == here
    assert here[1]["prediction_errors"]["missing_prediction"] == 1 and here[0]["table_errors"]
    assert here[1]["overall"]["field_f1"] < 1.0
