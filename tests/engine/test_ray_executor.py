"""The Ray executor on a local 2-CPU Ray: the same shards as the local executor (generate, augment,
emit, evaluate) and the same predictions file (predict), a document that raises becomes an error row, and a killed worker's task is retried
without doubled rows.

Faults are injected in the Ray workers by a setup hook (this module is pickled by value), keyed by
document-id prefix, so the runs that compare bytes are untouched.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from docfactory.engine.augment import AugmentConfig, run_augment  # noqa: E402
from docfactory.engine.catalog import open_catalog  # noqa: E402
from docfactory.engine.emit import EmitConfig, run_emit  # noqa: E402
from docfactory.engine.evaluation import evaluate_run  # noqa: E402
from docfactory.engine.evaluation.gold import load_gold  # noqa: E402
from docfactory.engine.evaluation.scoring import ScoringOptions  # noqa: E402
from docfactory.engine.executor import ExecutorOptions, make_executor  # noqa: E402
from docfactory.engine.generate import GenerateConfig, run_generate  # noqa: E402
from docfactory.engine.predict_step import PredictRequest, run_predict  # noqa: E402

FAULTS_DIR = "DOCFACTORY_TEST_FAULTS_DIR"
RAISES = "err-0000003"  # raises in every attempt
LOST = "lost-0000001"  # its first attempt's worker is killed


def _install_faults() -> None:
    """Ray worker setup hook: wrap generate_pages with the two injected faults."""
    import docfactory.engine.generate as generate

    real, markers = generate.generate_pages, Path(os.environ[FAULTS_DIR])

    def faulty(specs, registry):
        doc_id = specs[0].doc_id
        if doc_id == RAISES:
            raise RuntimeError("injected failure")
        if doc_id == LOST and not (markers / "lost.pid").exists():
            (markers / "lost.tmp").write_text(str(os.getpid()))
            os.replace(markers / "lost.tmp", markers / "lost.pid")
            time.sleep(120)  # until the test kills this worker
        return real(specs, registry)

    generate.generate_pages = faulty


@pytest.fixture(scope="module")
def ray_executor(tmp_path_factory):
    markers = tmp_path_factory.mktemp("faults")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"worker_process_setup_hook": _install_faults, "env_vars": {FAULTS_DIR: str(markers)}})
    try:
        with make_executor(ExecutorOptions(kind="ray"), workers=2) as executor:
            yield executor, markers
    finally:
        ray.shutdown()


def hashes(run: Path) -> dict[str, tuple[str, int]]:
    with open_catalog(run, read_only=True) as catalog:
        return {path: (info.sha256, info.rows) for path, info in catalog.listed().items()}


def perfect_predictions(run: Path, path: Path) -> Path:
    with open_catalog(run, read_only=True) as catalog:
        gold = load_gold(catalog)
    lines = [{"doc_id": g.doc_id, "page": g.page, "fields": g.tree, "tables": [t.html for t in g.tables]}
             for g in gold.values()]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


ECHO = """
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        m = json.loads(line)
        row = {"doc_id": m["doc_id"], "page": m["page"], "text": "%dx%d" % (m["width"], m["height"])}
        if m.get("copy") is not None:
            row["copy"] = m["copy"]
        out.write(json.dumps(row) + "\\n")
"""


def predictions(run: Path, executor=None) -> bytes:
    """Every clean page and augmented copy through the `command` model (light to start on a worker)."""
    script, out = run.parent / f"{run.name}-model.py", run.parent / f"{run.name}-predictions.jsonl"
    script.write_text(ECHO)
    request = PredictRequest(model="command", splits=None, copies="both", out=out, predict_cmd=f"{sys.executable} {script}")
    assert run_predict(run, request, executor=executor).errors == []
    return out.read_bytes()


def steps(run: Path, executor=None) -> bytes:
    cfg = GenerateConfig(n=4, seed=11, shard_docs=2, workers=1, templates=["invoice_classic", "statement_report"])
    assert run_generate(run, cfg, executor=executor).failed_shards == []
    assert run_augment(run, AugmentConfig(preset="mild", workers=1), executor=executor).failed_shards == []
    assert run_emit(run, EmitConfig(workers=1), executor=executor).failed_shards == []
    predicted = predictions(run, executor)
    evaluate_run(run, perfect_predictions(run, run.parent / f"{run.name}.jsonl"), name="perfect",
                 options=ScoringOptions(workers=1 if executor else 0, executor=executor))  # 0: TEDS in this process
    return predicted


def test_ray_gives_the_same_shards_as_local(ray_executor, tmp_path):
    executor, _ = ray_executor
    predicted_locally = steps(tmp_path / "local")
    assert steps(tmp_path / "ray", executor) == predicted_locally  # the predictions file too, byte for byte
    assert len(predicted_locally.splitlines()) >= 8 and b'"copy": 0' in predicted_locally
    local, on_ray = hashes(tmp_path / "local"), hashes(tmp_path / "ray")
    assert {path.split("/")[1] for path in local} >= {"documents", "augmented", "lines", "pairs", "pretrain", "doc_scores"}
    assert on_ray == local
    with open_catalog(tmp_path / "ray", read_only=True) as catalog:
        teds = catalog.sql("SELECT min(teds), count(*) FROM table_errors").fetchone()
    assert teds[0] == 1.0 and teds[1] >= 3  # tables were scored on Ray, perfectly


def test_a_document_that_raises_on_ray_is_an_error_row(ray_executor, tmp_path):
    executor, _ = ray_executor
    summary = run_generate(tmp_path / "run", GenerateConfig(n=6, seed=11, shard_docs=2, prefix="err"), executor=executor)
    assert (summary.generated, summary.verified, summary.rejected, summary.failed_shards) == (6, 5, 1, [])
    with open_catalog(tmp_path / "run", read_only=True) as catalog:
        assert catalog.sql("SELECT doc_id, stage, reason FROM rejections").fetchall() == [
            (RAISES, "error", "RuntimeError: injected failure")]
        assert catalog.sql("SELECT count(DISTINCT doc_id) FROM documents").fetchone()[0] == 5
        assert len(catalog.listed("documents")) == 3


def test_a_killed_ray_worker_is_retried_without_doubled_rows(ray_executor, tmp_path):
    executor, markers = ray_executor
    killed: list[int] = []

    def kill_the_worker() -> None:
        deadline = time.monotonic() + 60
        while not (markers / "lost.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int((markers / "lost.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_the_worker, daemon=True)
    killer.start()
    cfg = GenerateConfig(n=4, seed=11, shard_docs=2, prefix="lost", workers=1)
    summary = run_generate(tmp_path / "ray", cfg, executor=executor)
    killer.join(5)
    assert killed, "the worker was never killed"
    assert (summary.generated, summary.failed_shards) == (4, [])
    with open_catalog(tmp_path / "ray", read_only=True) as catalog:
        pages, distinct, docs = catalog.sql(
            "SELECT count(*), count(DISTINCT (doc_id, page)), count(DISTINCT doc_id) FROM documents").fetchone()
    assert pages == distinct == summary.pages and docs == 4
    run_generate(tmp_path / "local", cfg)
    assert hashes(tmp_path / "ray") == hashes(tmp_path / "local")


def test_cli_generate_and_emit_on_ray(ray_executor, tmp_path):
    from typer.testing import CliRunner

    from docfactory.cli import app

    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["generate", "--n", "2", "--out", str(run), "--seed", "11", "--executor", "ray",
                                      "--workers", "2", "--emit"])
    assert result.exit_code == 0, result.output
    assert "generated 2 / verified 2 / rejected 0" in result.output and "emitted" in result.output
    assert ray.is_initialized()  # the CLI used the Ray it found and left it running
    assert {path.split("/")[1] for path in hashes(run)} == {"documents", "pairs", "pretrain"}
