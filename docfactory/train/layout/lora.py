"""Iterations of a layout model: iteration 0 is a full model (`it000/model/`), every later one a
LoRA adapter (`itNNN/adapter/`, peft) trained on the model the earlier iterations merge into.

    model, tokenizer, meta = load_iteration(models_dir, 2)   # it000 + it001 merged + it002 merged
    merge_iteration(models_dir, 2)                           # the same, written to it002/merged/
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from peft import LoraConfig, PeftModel, get_peft_model

from docfactory.train.layout.config import LoraOptions
from docfactory.train.layout.model import LayoutTagger, load_model, save_model
from docfactory.train.layout.tags import HEADS

MODEL_DIR, ADAPTER_DIR, MERGED_DIR, DONE = "model", "adapter", "merged", "done.json"


def iteration_dir(models_dir: Path, iteration: int) -> Path:
    return Path(models_dir) / f"it{iteration:03d}"


def completed_iterations(models_dir: Path) -> list[int]:
    out = []
    for path in sorted(Path(models_dir).glob("it[0-9][0-9][0-9]")):
        if (path / DONE).exists():
            out.append(int(path.name[2:]))
    return out


def lora_config(options: LoraOptions) -> LoraConfig:
    # "heads" names the four tag heads; peft matches modules_to_save by name suffix.
    save = [f"heads.{h}" for h in HEADS] if "heads" in options.modules_to_save else []
    save += [m for m in options.modules_to_save if m != "heads"]
    return LoraConfig(r=options.r, lora_alpha=options.alpha, lora_dropout=options.dropout,
                      target_modules=list(options.target_modules), modules_to_save=save or None)


def apply_lora(model: LayoutTagger, options: LoraOptions) -> PeftModel:
    return get_peft_model(model, lora_config(options))


def save_adapter(peft_model: PeftModel, folder: Path) -> None:
    """peft's save_pretrained into a temporary sibling, then a rename (atomic)."""
    folder = Path(folder)
    tmp = folder.with_name(f".tmp-{os.getpid()}-{folder.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    peft_model.save_pretrained(str(tmp))
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)


def load_iteration(models_dir: Path, iteration: int | None = None) -> tuple[LayoutTagger, object, dict]:
    """The model as of `iteration` (default: the latest completed one), adapters merged in."""
    models_dir = Path(models_dir)
    done = completed_iterations(models_dir)
    if not done:
        raise FileNotFoundError(f"{models_dir}: no trained layout model (engine train RUN --model layout)")
    if iteration is None:
        iteration = done[-1]
    if iteration not in done:
        raise FileNotFoundError(f"{models_dir}: iteration {iteration} is not trained (trained: {', '.join(map(str, done))})")
    merged = iteration_dir(models_dir, iteration) / MERGED_DIR
    if iteration and (merged / "model.safetensors").exists():
        return load_model(merged)
    model, tokenizer, meta = load_model(iteration_dir(models_dir, 0) / MODEL_DIR)
    for k in range(1, iteration + 1):
        adapter = iteration_dir(models_dir, k) / ADAPTER_DIR
        if not adapter.exists():
            raise FileNotFoundError(f"{adapter}: missing adapter of iteration {k}")
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
        meta = {**meta, "iteration": k}
    model.eval()
    return model, tokenizer, meta


def merge_iteration(models_dir: Path, iteration: int) -> Path:
    """Write iteration's merged full model to itNNN/merged/ (loads faster; shareable alone)."""
    model, tokenizer, meta = load_iteration(models_dir, iteration)
    folder = iteration_dir(models_dir, iteration) / (MERGED_DIR if iteration else MODEL_DIR)
    if iteration:
        extra = {k: v for k, v in meta.items() if k not in ("options", "vocab_size", "tagset")}
        save_model(model, tokenizer, extra, folder)
    return folder


def write_done(out_dir: Path, summary: dict) -> None:
    tmp = Path(out_dir) / f".tmp-{os.getpid()}-{DONE}"
    tmp.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    os.replace(tmp, Path(out_dir) / DONE)
