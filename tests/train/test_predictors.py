"""The predictors that need no training: the Tesseract baseline on a rendered page (real
Tesseract, OCR cached in the run's `ocr` shards), the `command` predictor with a small script, and
clear errors for unknown doc ids, bad images and bad external output."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.predict_step import PredictRequest, PredictStepError, run_predict
from docfactory.train.command import CommandError

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="Debian tesseract-ocr is not installed")

ECHO = '''
import json, sys
manifest, out = sys.argv[1], sys.argv[2]
with open(out, "w") as f:
    for line in open(manifest):
        m = json.loads(line)
        assert open(m["image"], "rb").read(4) == b"\\x89PNG"
        row = {"doc_id": m["doc_id"], "page": m["page"], "fields": {"total": "%d x %d" % (m["width"], m["height"])}}
        if "{bad}" == "yes":
            row["doc_id"] = "doc-9999999"
        f.write(json.dumps(row) + "\\n")
'''


@pytest.fixture(scope="module")
def run(small_run, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("predictors") / "run"
    shutil.copytree(small_run[0], copy)
    return copy


def _first_page(run: Path, template: str) -> str:
    with open_catalog(run, read_only=True) as catalog:
        return catalog.sql("SELECT doc_id FROM documents WHERE template = ? AND page = 0 ORDER BY doc_id LIMIT 1",
                           [template]).fetchone()[0]


def test_tesseract_baseline_reads_a_rendered_page_and_caches_its_ocr(run, tmp_path):
    doc_id = _first_page(run, "invoice_classic")
    out = tmp_path / "tesseract.jsonl"
    first = run_predict(run, PredictRequest(model="tesseract", out=out, doc_ids=[doc_id], splits=None))
    assert (first.pages, first.ocr_misses, first.ocr_hits) == (1, 1, 0)
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["doc_id"] == doc_id and row["text"].strip()
    assert row["fields"], "the rules found no field on an invoice"
    assert row["tables"] and row["tables"][0].startswith("<table>")
    with open_catalog(run, read_only=True) as catalog:
        assert catalog.sql("SELECT count(*) FROM ocr").fetchone()[0] == 1
    again = run_predict(run, PredictRequest(model="tesseract", out=out, doc_ids=[doc_id], splits=None))
    assert (again.ocr_misses, again.ocr_hits) == (0, 1)
    summary = evaluate_run(run, out, name="tesseract-one").summary
    assert summary["slices"]["template"]["invoice_classic"]["field_f1"] > 0


def test_command_predictor_runs_a_script_and_round_trips(run, tmp_path):
    script = tmp_path / "model.py"
    script.write_text(ECHO.replace("{bad}", "no"))
    out = tmp_path / "command.jsonl"
    result = run_predict(run, PredictRequest(model="command", out=out, splits=None,
                                             predict_cmd=f"{sys.executable} {script} {{manifest}} {{predictions}}"))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert result.pages == len(rows) > 0 and all(" x " in r["fields"]["total"] for r in rows)
    summary = evaluate_run(run, out, name="command-echo").summary
    assert summary["prediction_errors"]["total"] == 0 and summary["overall"]["pages"] == len(rows)


def test_command_output_for_pages_not_asked_is_an_error(run, tmp_path):
    script = tmp_path / "bad.py"
    script.write_text(ECHO.replace("{bad}", "yes"))
    with pytest.raises(CommandError, match=r"predictions.jsonl:1: 'doc-9999999' page 0 is not in the manifest"):
        run_predict(run, PredictRequest(model="command", out=tmp_path / "p.jsonl", limit=1, splits=None,
                                        predict_cmd=f"{sys.executable} {script}"))
    with pytest.raises(CommandError, match="exited with 3"):
        run_predict(run, PredictRequest(model="command", out=tmp_path / "p.jsonl", limit=1, splits=None,
                                        predict_cmd="exit 3"))
    assert not (tmp_path / "p.jsonl").exists()  # nothing half-written


def test_unknown_doc_ids_are_a_clear_error(run, tmp_path):
    with pytest.raises(PredictStepError, match="unknown doc id.*doc-nope"):
        run_predict(run, PredictRequest(model="tesseract", out=tmp_path / "p.jsonl", doc_ids=["doc-nope"]))


def test_bad_images_are_a_clear_error(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    buf = io.BytesIO()
    Image.new("L", (200, 100), 255).save(buf, format="PNG")
    (folder / "good.png").write_bytes(buf.getvalue())
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(PredictStepError, match=r"broken\.png: not a readable image"):
        run_predict(None, PredictRequest(model="tesseract", out=tmp_path / "p.jsonl", images=folder))
    (folder / "broken.png").unlink()
    result = run_predict(None, PredictRequest(model="tesseract", out=tmp_path / "p.jsonl", images=folder))
    assert result.pages == 1
    assert json.loads((tmp_path / "p.jsonl").read_text())["doc_id"] == "good"


def test_cli_predict_writes_the_file_and_names_errors(run, tmp_path):
    from typer.testing import CliRunner

    from docfactory.cli import app

    script = tmp_path / "model.py"
    script.write_text(ECHO.replace("{bad}", "no"))
    out = tmp_path / "cli.jsonl"
    result = CliRunner().invoke(app, ["predict", str(run), "--model", "command", "--split", "all", "--limit", "2",
                                      "--predict-cmd", f"{sys.executable} {script}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "predicted 2 pages with command" in result.output and len(out.read_text().splitlines()) == 2
    result = CliRunner().invoke(app, ["predict", str(run), "--model", "nope", "--out", str(out)])
    assert result.exit_code == 1 and "unknown model 'nope'" in result.output


class _KwTrainer:
    """A trainer that reads the run itself (as `vlm` does): train(run_dir, out_dir, **options)."""

    seen: dict = {}

    def __init__(self, **options):
        self.options = options

    def train(self, run_dir, out_dir, **options):
        _KwTrainer.seen = {"init": self.options, "train": options, "out": out_dir}
        out_dir.mkdir(parents=True, exist_ok=True)
        return out_dir


class _KwPredictor:
    def __init__(self, checkpoint, **options):
        self.checkpoint, self.options = checkpoint, options

    def predict(self, pages):
        for page in pages:
            yield {"doc_id": page.doc_id, "page": page.page, "text": str(self.checkpoint.name), "fields": self.options}


def test_engine_dispatches_through_the_registry_by_signature(run, tmp_path):
    from docfactory.engine.train_step import TrainRequest, run_train
    from docfactory.train.registry import ModelEntry, register_model

    register_model(ModelEntry("kw-test", "test double", predictor=_KwPredictor, trainer=_KwTrainer))
    out = run_train(run, TrainRequest(model="kw-test", options={"base": "/models/x", "steps": 3}, argv=["engine"]))
    assert out == run / "models" / "kw-test" / "it000"
    assert _KwTrainer.seen["init"] == {}
    assert _KwTrainer.seen["train"] == {"base": "/models/x", "steps": 3, "argv": ["engine"], "resume": True}
    preds = tmp_path / "kw.jsonl"
    run_predict(run, PredictRequest(model="kw-test", out=preds, limit=1, splits=None, options={"max_new_tokens": 8}))
    row = json.loads(preds.read_text())
    assert row["text"] == "it000" and row["fields"] == {"max_new_tokens": 8}
