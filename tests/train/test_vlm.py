"""`vlm` on CPU with tiny random-init checkpoints built locally (a VisionEncoderDecoder ViT + GPT-2,
and an Idefics3/SmolVLM-style model; tokenizers trained on the run's pair texts): training lowers
the loss on answer tokens, adapters save and reload, predictions parse (or become error rows), a
killed training resumes exactly, and a LeJEPA encoder initializes a matching vision tower."""

from __future__ import annotations

import json
import re

import pytest
import torch

from docfactory.engine.catalog import open_catalog
from docfactory.train import PageInput, get_model
from docfactory.train.lejepa import load_trained, make_config, pretrain
from docfactory.train.vlm.arch import check_local, default_targets, init_vision_from, load_model, load_processing
from docfactory.train.vlm.config import VlmOptions
from docfactory.train.vlm.data import IGNORE, load_pairs, encode_example, Images
from docfactory.train.vlm.predict import parse_fields, parse_table
from docfactory.train.vlm.tiny import build_tiny, pair_texts
from docfactory.train.vlm.train import latest_checkpoint, train_vlm

pytestmark = pytest.mark.usefixtures("one_thread")

ARCHS = ["vision-encoder-decoder", "idefics3"]
TRAIN = dict(steps=8, batch_size=4, grad_accum=1, lr=1e-2, warmup_steps=0, max_length=160, lora_r=8, max_pairs=4,
             tasks=("extract", "table"), log_every=1, save_every=4, max_new_tokens=16, predict_batch_size=4)



@pytest.fixture(scope="module")
def bases(emitted, tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_vlm")
    texts = pair_texts(emitted)
    return {arch: build_tiny(root / arch, arch, texts) for arch in ARCHS}


@pytest.fixture(scope="module")
def trained(emitted, bases, tmp_path_factory):
    out, logs = {}, {}
    for arch in ARCHS:
        logs[arch] = []
        trainer = get_model("vlm").trainer(base=str(bases[arch]), **TRAIN)
        trainer.options["on_log"] = logs[arch].append
        out[arch] = trainer.train(emitted, tmp_path_factory.mktemp(f"vlm_{arch}"))
    return out, logs


def _pages(run, n=2):
    with open_catalog(run, read_only=True) as catalog:
        rows = catalog.frame("SELECT doc_id, page, kind, image, width, height FROM documents "
                             "ORDER BY split = 'test' DESC, doc_id, page LIMIT ?", [n]).to_dicts()
    return [PageInput(r["doc_id"], r["page"], r["image"], r["width"], r["height"], kind=r["kind"]) for r in rows]


@pytest.mark.parametrize("arch", ARCHS)
def test_tiny_model_trains_saves_reloads_and_predicts(emitted, trained, arch):
    out, logs = trained
    folder, log = out[arch], logs[arch]
    assert [r["step"] for r in log] == list(range(1, TRAIN["steps"] + 1))
    assert log[-1]["loss"] < log[0]["loss"] - 0.1  # the same 4 pairs every step: the loss must fall
    assert (folder / "adapter" / "adapter_config.json").exists() and (folder / "vlm.json").exists()
    assert (folder / "run.yaml").exists() and (folder / "scalars.csv").exists()
    meta = json.loads((folder / "vlm.json").read_text())
    assert meta["model_type"] == arch and meta["prompts"]
    predictor = get_model("vlm").predictor(checkpoint=folder, tasks=("extract", "table"))
    rows = list(predictor.predict(_pages(emitted)))
    assert len(rows) == 2
    for row in rows:
        json.dumps(row)  # a JSONL line
        assert isinstance(row["doc_id"], str) and isinstance(row["page"], int)
        assert isinstance(row.get("fields", {}), dict) and all(t.startswith("<table") for t in row.get("tables", []))
        assert "fields" in row or "tables" in row
        # An untrained-looking answer is an error row with its reason, never a crash.
        assert "error" not in row or re.match(r"(extract|table): ", row["error"])


def test_adapter_weights_reload_identically(trained, bases):
    from peft import PeftModel

    out, _ = trained
    folder = out["idefics3"]
    opts = VlmOptions(base=str(bases["idefics3"]))
    model, _ = load_model(check_local(opts.base), opts, torch.device("cpu"))
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    merged = PeftModel.from_pretrained(model, folder / "adapter").merge_and_unload().state_dict()
    changed = [k for k in base_state if not torch.equal(base_state[k], merged[k])]
    assert changed and all("text_model" in k for k in changed)  # LoRA targets: the language model only


def test_loss_is_on_answer_tokens_only(emitted, bases):
    for arch in ARCHS:
        proc = load_processing(bases[arch], arch)
        pair = load_pairs(emitted, "train", ("field",))[0]
        image = Images(emitted).get(pair.image_shard, pair.image_row)
        e = encode_example(proc, image, pair.prompt, pair.answer, 512, start_id=1 if arch != "idefics3" else None)
        labels, ids = e["labels"][0], e["input_ids"][0]
        answer = labels != IGNORE
        first = int(answer.nonzero()[0])
        assert not answer[:first].any() and answer[first:].all()
        assert torch.equal(labels[answer], ids[answer])
        text = proc.tokenizer.decode(ids[answer], skip_special_tokens=True)
        assert text.strip() == pair.answer.strip()
        prefix = proc.tokenizer.decode(ids[:first])
        assert pair.prompt in prefix and pair.answer not in prefix.replace(pair.prompt, "")


def test_default_lora_targets_per_architecture(bases):
    for arch, expect, never in (("idefics3", "text_model", "vision_model"), ("vision-encoder-decoder", "decoder.", "encoder.")):
        opts = VlmOptions(base=str(bases[arch]))
        model, model_type = load_model(bases[arch], opts, torch.device("cpu"))
        pattern = default_targets(model, model_type)
        hits = [n for n, _ in model.named_modules() if re.fullmatch(pattern, n)]
        assert hits and all(expect in n and not n.startswith(never) and never not in n for n in hits)


def test_killed_training_resumes_exactly(emitted, bases, tmp_path):
    opts = VlmOptions(base=str(bases["vision-encoder-decoder"]), **(TRAIN | {"steps": 3, "save_every": 5, "max_pairs": 2}))
    train_vlm(emitted, tmp_path / "straight", opts)
    train_vlm(emitted, tmp_path / "killed", opts, stop_after=2)  # a checkpoint at the stop, as at a save before a kill
    assert latest_checkpoint(tmp_path / "killed").name == "step-000002" and not (tmp_path / "killed" / "adapter").exists()
    train_vlm(emitted, tmp_path / "killed", opts)
    from safetensors.torch import load_file

    a = load_file(tmp_path / "straight" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "killed" / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    with pytest.raises(ValueError, match="other options"):
        train_vlm(emitted, tmp_path / "killed", opts.model_copy(update={"lr": 1e-3}))


def test_lejepa_encoder_initializes_a_matching_vision_tower(emitted, bases, tmp_path):
    # The tiny VisionEncoderDecoder's encoder is a ViT of width 64, 2 layers, 2 heads, 64 px, patch 16.
    cfg = make_config("tiny", split="all", steps=1, global_size=64,
                      encoder=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128))
    encoder = pretrain(emitted, tmp_path / "lj", cfg).encoder_dir
    opts = VlmOptions(base=str(bases["vision-encoder-decoder"]))
    model, model_type = load_model(bases["vision-encoder-decoder"], opts, torch.device("cpu"))
    assert init_vision_from(model, model_type, encoder) > 10
    source = load_trained(encoder.parent).encoder.state_dict()
    assert all(torch.equal(v, source[k]) for k, v in model.encoder.state_dict().items() if k in source)
    # Stage B inside vlm: the initialized tower trains at its own small LR and is saved with the adapter.
    stage_b = TRAIN | {"steps": 1, "max_pairs": 2, "batch_size": 2, "gradient_checkpointing": True}
    folder = train_vlm(emitted, tmp_path / "b", VlmOptions(base=str(bases["vision-encoder-decoder"]), vision_init=str(encoder),
                                                           vision_lr=1e-6, **stage_b))
    assert (folder / "adapter" / "vision_tower.safetensors").exists()
    assert get_model("vlm").predictor(checkpoint=folder).model_type == "vision-encoder-decoder"
    small = make_config("tiny", split="all", steps=1)  # width 48: does not fit
    with pytest.raises(ValueError, match="does not fit"):
        init_vision_from(model, model_type, pretrain(emitted, tmp_path / "lj48", small).encoder_dir)


def test_parsing_answers_into_predictions():
    assert parse_fields('```json\n{"total": "12,00"}\n```') == ({"total": "12,00"}, None)
    assert parse_fields('Sure: {"a": 1} done') == ({"a": 1}, None)
    fields, why = parse_fields('{"total": "12')
    assert fields is None and why.startswith("extract: not JSON")
    assert parse_fields("[1, 2]")[1] == "extract: a JSON list, not an object"
    assert parse_table("x <table><tr><td>1</td></tr></table> y") == ("<table><tr><td>1</td></tr></table>", None)
    assert parse_table("<table><tr><td>1")[1] == "table: <table> not closed"


def test_clear_errors_for_a_missing_base_and_unavailable_quantization(emitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        check_local("HuggingFaceTB/SmolVLM-256M-Instruct")
    with pytest.raises(ValueError, match="precision"):
        VlmOptions(base="x", quantize="4bit")
    with pytest.raises(Exception, match="extra"):
        VlmOptions(base="x", lora_rank=8)
