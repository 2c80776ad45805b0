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
    VlmOptions fields (`base` is required), plus `resume` (default True) and `argv` (for run.yaml)."""

    name = "vlm"

    def __init__(self, **options: Any):
        self.options = options

    def train(self, run_dir: Path, out_dir: Path, **options: Any) -> Path:
        from docfactory.train.vlm.train import train_vlm

        opts = {k: v for k, v in (self.options | options).items() if v is not None}
        resume, argv = opts.pop("resume", True), opts.pop("argv", None)
        return train_vlm(run_dir, out_dir, VlmOptions(**opts), resume=resume, argv=argv)


def make_predictor(checkpoint: str | Path | None = None, **options: Any):
    """The predictor of a trained `vlm` folder (`checkpoint`); `base` overrides the recorded base path."""
    from docfactory.train.vlm.predict import VlmPredictor

    if checkpoint is None:
        raise ValueError("the vlm predictor needs the trained folder: --checkpoint DIR (what `engine train --model vlm` wrote)")
    return VlmPredictor(checkpoint, **options)


register_model(ModelEntry("vlm", "LoRA finetuning of a local HF vision-language checkpoint on instruction pairs",
                          predictor=make_predictor, trainer=VlmTrainer))
