"""The `layout` model on a tiny run (tiny profile, CPU): gold tags round-trip to perfect answers;
training lowers the loss and beats the untrained model on field F1; predictions validate and
round-trip through `engine evaluate`; run.yaml and scalars are written; LoRA adapters save, load,
merge and change predictions; a training killed with SIGKILL resumes from its checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from docfactory.engine.evaluation import evaluate_run
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.page_inputs import PageQuery, load_pages
from docfactory.engine.predict_step import PredictRequest, run_predict
from docfactory.engine.train_step import TrainRequest, run_train
from docfactory.evaluate import field_f1
from docfactory.train import get_model
from docfactory.train.layout import lora
from docfactory.train.layout.assemble import assemble
from docfactory.train.layout.data import build_tagset, learn_separators, tagged_examples
from docfactory.train.layout.model import LayoutTagger
from docfactory.train.layout.predictor import LayoutPredictor
from docfactory.train.layout.tags import HEADS
from docfactory.train.layout.words import page_words
from docfactory.train.ocr import OcrSettings
from docfactory.train.run_capture import read_scalars

QUIET = lambda message: None  # noqa: E731


@pytest.fixture(scope="module")
def run(small_run, tmp_path_factory) -> Path:
    """A private copy of the session's run: these tests add models, shards and evaluations."""
    copy = tmp_path_factory.mktemp("layout") / "run"
    shutil.copytree(small_run[0], copy)
    return copy


@pytest.fixture(scope="module")
def trained(run) -> Path:
    started = time.perf_counter()
    out = run_train(run, TrainRequest(model="layout", profile="tiny"), log=QUIET)
    assert time.perf_counter() - started < 60, "the tiny training must stay under a minute"
    return out


@pytest.fixture(scope="module")
def pages(run):
    return load_pages(run, PageQuery()).pages


def _gold_trees(run) -> dict:
    from docfactory.engine.catalog import open_catalog
    from docfactory.engine.evaluation.gold import load_gold

    with open_catalog(run, read_only=True) as catalog:
        return load_gold(catalog)


def test_gold_tags_assemble_to_the_gold_answer(run, pages, tmp_path):
    """Tags from box overlap, assembled back, score perfectly: the tag sets lose nothing."""
    words = page_words(pages, "pdf", OcrSettings())
    tagset = build_tagset(pages, 16)
    examples, unknown = tagged_examples(pages, words, tagset, 0.5)
    separators = learn_separators(pages, words, 0.5)
    assert not unknown
    preds = tmp_path / "oracle.jsonl"
    with open(preds, "w", encoding="utf-8") as handle:
        for page, example in zip(pages, examples):
            probs = {}
            for head, size in tagset.sizes().items():
                probs[head] = np.zeros((len(example.words), size), dtype=np.float32)
                probs[head][np.arange(len(example.words)), np.maximum(example.labels[head], 0)] = 1.0
            answer = assemble(example.words, probs, tagset, separators)
            handle.write(json.dumps({"doc_id": page.doc_id, "page": page.page, "fields": answer["fields"],
                                     "tables": answer["tables"]}, ensure_ascii=False) + "\n")
    overall = evaluate_run(run, preds, name="oracle").summary["overall"]
    assert overall["teds"] == 1.0 and overall["teds_s"] == 1.0
    # Every value comes back; the only difference allowed is where a long address line wrapped on the
    # page: the label breaks lines where the address does, the words where the page did.
    from docfactory.engine.catalog import open_catalog

    with open_catalog(run, read_only=True) as catalog:
        wrong = catalog.sql("SELECT field_pattern, gold, pred, error_type FROM field_errors WHERE name = 'oracle' "
                            "AND error_type IS NOT NULL").fetchall()
    for pattern, gold, pred, error_type in wrong:
        assert pattern.endswith("address") and error_type == "format_only", (pattern, gold, pred)
        assert " ".join(gold.split()) == " ".join(pred.split())
    assert overall["field_f1"] >= 0.99


def test_training_lowers_loss_and_records_the_run(trained, run):
    done = json.loads((trained / "done.json").read_text())
    assert done["kind"] == "full" and done["steps"] > 0
    train_loss = [s["value"] for s in read_scalars(trained) if s["tag"] == "train/loss"]
    assert np.mean(train_loss[-3:]) < 0.5 * np.mean(train_loss[:3])
    assert any(s["tag"] == "val/loss" for s in read_scalars(trained))
    assert list((trained / "tb").glob("events.out.tfevents.*"))
    record = yaml.safe_load((trained / "run.yaml").read_text())
    assert record["status"] == "done"
    assert len(record["git"]["commit"] or "x" * 40) == 40
    assert record["shards"] and all(len(s["sha256"]) == 64 for s in record["shards"])
    assert record["config"]["profile"] == "tiny" and record["config"]["train"]["epochs"] == 25
    assert record["seed"] == 0 and record["device"]["device"] in ("cpu", "cuda")
    assert record["libraries"]["torch"] and record["libraries"]["transformers"]
    assert not (trained / "checkpoint.pt").exists()


def test_trained_model_beats_untrained_on_field_f1(trained, run, pages):
    gold = _gold_trees(run)
    words = page_words(pages, "pdf", OcrSettings())
    trained_predictor = LayoutPredictor(trained.parent, profile="tiny")
    model, tokenizer, meta = trained_predictor.model, trained_predictor.tokenizer, trained_predictor.meta
    torch.manual_seed(1)
    untrained = LayoutTagger(model.options, tokenizer.get_vocab_size(), model.tagset).eval()
    untrained_predictor = LayoutPredictor(None, profile="tiny", model=(untrained, tokenizer, meta))
    golds = [gold[(p.doc_id, p.page)].tree for p in pages]

    def f1(predictor):
        return field_f1([a["fields"] for a in predictor.answers(pages, words)], golds)

    trained_f1, untrained_f1 = f1(trained_predictor), f1(untrained_predictor)
    assert trained_f1 > untrained_f1 + 0.1, (trained_f1, untrained_f1)


def test_predictions_validate_and_round_trip_through_evaluate(trained, run, tmp_path):
    out = tmp_path / "layout.jsonl"
    result = run_predict(run, PredictRequest(model="layout", out=out, splits=None, profile="tiny"))
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert result.pages == len(rows) > 0
    for row in rows:
        assert set(row) <= {"doc_id", "page", "fields", "tables", "text", "confidence"}
        flat = _flatten(row["fields"])
        assert set(row["confidence"]) == set(flat)
        assert all(0.0 <= c <= 1.0 for c in row["confidence"].values())
    evaluation = evaluate_run(run, out, name="layout-tiny")
    assert evaluation.pages == len(rows)
    assert evaluation.summary["prediction_errors"]["total"] == 0
    assert evaluation.summary["overall"]["field_f1"] > 0


def _flatten(tree, prefix=""):
    out = {}
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(_flatten(value, name) if isinstance(value, (dict, list)) else {name: value})
    return out


def test_lora_adapters_save_load_merge_and_change_predictions(trained, run, pages):
    run_generate(run, GenerateConfig(n=4, seed=11, workers=1, shard_docs=4, iteration=1, prefix="it1"))
    new_train = load_pages(run, PageQuery(splits={"train"}, iterations={1})).pages
    if not new_train:  # 4 documents may all hash to val/test: then one more batch
        run_generate(run, GenerateConfig(n=12, seed=11, workers=1, shard_docs=4, iteration=1, prefix="it1"))
    out = run_train(run, TrainRequest(model="layout", iteration=1, profile="tiny",
                                      options={"lora.r": 4, "lora.epochs": 2}), log=QUIET)
    adapter = out / "adapter"
    assert (adapter / "adapter_config.json").exists() and (adapter / "adapter_model.safetensors").exists()
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["r"] == 4 and sorted(config["target_modules"]) == ["query", "value"]
    record = yaml.safe_load((out / "run.yaml").read_text())
    assert record["kind"] == "lora" and record["iteration"] == 1

    base, tokenizer, _ = lora.load_iteration(trained.parent, 0)
    tuned, _, meta = lora.load_iteration(trained.parent, 1)  # adapter loaded and merged
    assert meta["iteration"] == 1
    page_list = pages[:4]
    words = page_words(page_list, "pdf", OcrSettings())
    from docfactory.train.layout.features import PageExample, collate, page_windows

    windows = [w for i, p in enumerate(page_list)
               for w in page_windows(i, PageExample(words[i], p.width, p.height), tokenizer, 256, 16)]
    batch = collate(windows)
    with torch.no_grad():
        before, after = base(**batch), tuned(**batch)
    assert any(not torch.allclose(before[h], after[h]) for h in HEADS)

    merged_dir = lora.merge_iteration(trained.parent, 1)
    assert (merged_dir / "model.safetensors").exists()
    merged, _, _ = lora.load_iteration(trained.parent, 1)  # now read from merged/
    with torch.no_grad():
        again = merged(**batch)
    for h in HEADS:
        assert torch.allclose(after[h], again[h], atol=1e-5)


def test_killed_training_resumes_from_its_checkpoint(small_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(small_run[0], run)
    settings = {"train.checkpoint_every": 2, "train.patience": 50, "train.epochs": 4, "train.threads": 1}
    command = [sys.executable, "-m", "docfactory", "train", str(run), "--profile", "tiny"]
    command += [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    checkpoint = run / "models" / "layout" / "it000" / "checkpoint.pt"
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if checkpoint.exists() and torch.load(checkpoint, weights_only=False)["step"] >= 4:
                break
            if first.poll() is not None:
                pytest.fail(f"training ended before it could be killed: {first.stdout.read().decode()[-2000:]}")
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint within 60 s")
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    saved = torch.load(checkpoint, weights_only=False)["step"]
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"at step {saved}" in second.stderr + second.stdout
    done = json.loads((checkpoint.parent / "done.json").read_text())
    assert done["steps"] > saved
    steps = [s["step"] for s in read_scalars(checkpoint.parent) if s["tag"] == "train/loss"]
    assert steps == list(range(1, done["steps"] + 1))  # no step logged twice, none missing

    # The resumed model is the model an uninterrupted training makes, bit for bit.
    whole = tmp_path / "whole"
    shutil.copytree(small_run[0], whole)
    run_train(whole, TrainRequest(model="layout", profile="tiny", options=settings), log=QUIET)
    resumed = load_file(str(checkpoint.parent / "model" / "model.safetensors"))
    uninterrupted = load_file(str(whole / "models" / "layout" / "it000" / "model" / "model.safetensors"))
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in uninterrupted)


def test_unknown_model_and_missing_checkpoint_are_clear_errors(run, tmp_path):
    from docfactory.engine.predict_step import PredictStepError

    with pytest.raises(KeyError, match="known: .*layout.*tesseract"):
        get_model("nope")
    empty = tmp_path / "models"
    empty.mkdir()
    with pytest.raises(PredictStepError, match="no trained layout model"):
        run_predict(run, PredictRequest(model="layout", out=tmp_path / "p.jsonl", checkpoint=empty, profile="tiny"))


def test_tokenizer_vocabulary_is_the_same_every_time(pages):
    from docfactory.train.layout.tokenizer import train_tokenizer, word_pieces

    words = [w["text"] for p in pages for w in p.words]
    first, second = train_tokenizer(words, 800), train_tokenizer(words, 800)
    assert first.to_str() == second.to_str() and first.get_vocab_size() == 800
    assert all(ids for ids in word_pieces(first, words[:50]))


def test_a_page_of_a_known_kind_is_tagged_with_its_kinds_fields_only(trained, run):
    """The model remembers which field patterns each kind's training pages carried; a receipt page
    never gets an invoice-only tag (buyer.name), whatever the tagger's probabilities say."""
    from docfactory.train.layout.predictor import LayoutPredictor

    predictor = LayoutPredictor(trained.parent, profile="tiny")
    kinds = predictor.meta["kind_patterns"]
    assert "buyer.name" in kinds["invoice"] and "buyer.name" not in kinds["receipt"]
    tagset = predictor.model.tagset
    probs = np.ones((3, tagset.sizes()["field"]), dtype=np.float32)
    masked = predictor.within_kind(probs, "receipt")
    for tag in range(1, probs.shape[1]):
        pattern = tagset.field_of(tag)[0]
        assert (masked[:, tag] > 0).all() == (pattern in kinds["receipt"]), pattern
    assert (predictor.within_kind(probs, None) == probs).all()  # an image file: kind unknown, nothing masked
