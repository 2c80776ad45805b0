"""The one-writer lock and shard verification live in the engine API, not only in the CLI: a Python
caller of run_generate / evaluate_run / run_predict gets RunLocked while another process writes the
run, and evaluate_run, run_predict and the vlm / lejepa readers refuse a corrupt shard by name."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docfactory.engine.catalog import open_catalog
from docfactory.engine.emit.step import EmitConfig, run_emit
from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.lock import RunLocked
from docfactory.engine.predict_step import PredictRequest, run_predict
from docfactory.engine.shards import CorruptShardError


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture()
def run(small_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(small_run[0], copy)
    return copy


def _preds(run: Path, tmp_path: Path) -> Path:
    with open_catalog(run, read_only=True) as catalog:
        pages = catalog.sql("SELECT doc_id, page FROM documents").fetchall()
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps({"doc_id": d, "page": p, "fields": {}}) + "\n" for d, p in pages))
    return path


def test_python_callers_get_the_lock(run, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom docfactory.engine.lock import run_lock\n"
        f"with run_lock({str(run)!r}, argv=['holder-test']):\n    print('held', flush=True)\n    time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        preds = _preds(run, tmp_path)
        with pytest.raises(RunLocked, match="holder-test"):
            evaluate_run(run, preds, name="x")
        with pytest.raises(RunLocked, match="holder-test"):
            run_generate(run, GenerateConfig(n=2, seed=1, workers=1, prefix="more"))
        with pytest.raises(RunLocked, match="holder-test"):
            run_predict(run, PredictRequest(model="tesseract", out=tmp_path / "p.jsonl", limit=1))
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert evaluate_run(run, _preds(run, tmp_path), name="after").pages > 0  # the kernel released it


def test_evaluate_and_predict_refuse_a_corrupt_shard(run, tmp_path):
    with open_catalog(run, read_only=True) as catalog:
        first = run / sorted(catalog.listed("documents"))[0]
    preds = _preds(run, tmp_path)
    _flip(first)
    with pytest.raises(CorruptShardError, match=f"{first}: corrupt shard"):
        evaluate_run(run, preds, name="x")
    with pytest.raises(CorruptShardError, match=f"{first}: corrupt shard"):
        run_predict(run, PredictRequest(model="tesseract", out=tmp_path / "p.jsonl", limit=1))


def test_vlm_and_lejepa_readers_refuse_corrupt_pairs_and_pretrain(run):
    from docfactory.train.lejepa.data import load_pages
    from docfactory.train.vlm.data import load_pairs

    run_emit(run, EmitConfig(workers=1))
    with open_catalog(run, read_only=True) as catalog:
        pairs, pretrain = sorted(catalog.listed("pairs"))[0], sorted(catalog.listed("pretrain"))[0]
    assert load_pairs(run, "train") and load_pages(run)
    _flip(run / pairs)
    with pytest.raises(CorruptShardError, match="corrupt shard"):
        load_pairs(run, "train")
    _flip(run / pretrain)
    with pytest.raises(CorruptShardError, match="corrupt shard"):
        load_pages(run)
