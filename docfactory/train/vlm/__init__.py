"""`vlm`: LoRA finetuning of a local Hugging Face vision-language checkpoint on a run's instruction
pairs, and prediction by `generate()` into the predictions JSONL.

Any image-text-to-text model (`AutoModelForImageTextToText`: Idefics3/SmolVLM, Qwen2-VL, LLaVA,
...) or VisionEncoderDecoder (Donut, TrOCR-style) saved in a local folder with its processor.

    from docfactory.train import get_model
    out = get_model("vlm").trainer(base="/models/SmolVLM-256M-Instruct").train("runs/r1", "runs/r1/models/vlm")
    rows = get_model("vlm").predictor(checkpoint=out).predict(pages)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docfactory.train.registry import ModelEntry, register_model
from docfactory.train.vlm.config import VlmOptions

__all__ = ["VlmOptions", "VlmTrainer", "make_predictor"]


class VlmTrainer:
    """`train(run_dir, out_dir, **options)` -> the out folder (adapter/ + vlm.json). Options are
    VlmOptions fields (`base` is required), plus `resume` (default True) or `restart`, `argv` (for
    run.yaml), and `on_log` (called with each logged row) or `log` (called with a line of text)."""

    name = "vlm"
    uses_augmented = False  # it reads the pairs shards (which point at clean or augmented images)
    replay_share = 0.0

    def __init__(self, log: Any = None, **options: Any):
        self.options = options | ({"log": log} if log is not None else {})

    def train(self, run_dir: Path, out_dir: Path, **options: Any) -> Path:
        from docfactory.train.vlm.train import train_vlm

        opts = {k: v for k, v in (self.options | options).items() if v is not None}
        for key in ("train_pages", "val_pages"):  # pages an engine may pass: vlm trains on the run's pairs instead
            opts.pop(key, None)
        resume = opts.pop("resume", True) and not opts.pop("restart", False)
        argv, on_log, log = opts.pop("argv", None), opts.pop("on_log", None), opts.pop("log", None)
        if on_log is None and callable(log):
            on_log = lambda row: log(f"step {row['step']}: loss {row['loss']:.4f} ({row['answer_tokens']} answer tokens)")  # noqa: E731
        return train_vlm(run_dir, out_dir, VlmOptions(**opts), resume=resume, argv=argv, on_log=on_log)


def make_predictor(checkpoint: str | Path | None = None, **options: Any):
    """The predictor of a trained `vlm` folder (`checkpoint`); `base` overrides the recorded base path."""
    from docfactory.train.vlm.predict import VlmPredictor

    if checkpoint is None:
        raise ValueError("the vlm predictor needs the trained folder: --checkpoint DIR (what `engine train --model vlm` wrote)")
    return VlmPredictor(checkpoint, **options)


register_model(ModelEntry("vlm", "LoRA finetuning of a local HF vision-language checkpoint on instruction pairs",
                          predictor=make_predictor, trainer=VlmTrainer))
