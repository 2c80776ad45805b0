"""LeJEPA pretraining on the block-masked `pretrain` shards (a ViT encoder + 3-layer MLP projector,
loss (1 − λ)·prediction + λ·SIGReg), the stage A/B transition to a downstream adapter, and linear
probes that measure what pretraining bought.

    from docfactory.train.lejepa import make_config, pretrain
    result = pretrain("runs/r1", "runs/r1/models/lejepa", make_config("small", steps=2000))

CLI: `engine pretrain RUN [--scale tiny|small|full] [--steps N] [--probe] [--transition]`.
Registered as the model `lejepa` (a trainer only: it makes no page predictions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docfactory.train.lejepa.config import SCALES, EncoderConfig, LejepaConfig, make_config
from docfactory.train.lejepa.sigreg import sigreg
from docfactory.train.lejepa.train import PretrainResult, load_trained, pretrain
from docfactory.train.registry import ModelEntry, register_model

__all__ = ["SCALES", "EncoderConfig", "LejepaConfig", "LejepaTrainer", "PretrainResult", "load_trained", "make_config",
           "pretrain", "sigreg"]


class LejepaTrainer:
    """The registry's trainer: `train(run_dir, out_dir, scale=..., **config overrides)` -> the encoder folder."""

    name = "lejepa"

    def __init__(self, **options: Any):
        self.options = options

    def train(self, run_dir: Path, out_dir: Path, **options: Any) -> Path:
        opts = self.options | options
        resume = opts.pop("resume", True) and not opts.pop("restart", False)
        argv = opts.pop("argv", None)
        cfg = make_config(opts.pop("scale", "small"), **opts)
        return pretrain(run_dir, out_dir, cfg, resume=resume, argv=argv).encoder_dir


def _no_predictor(**_: Any):
    raise ValueError("lejepa is a pretraining model: it makes no page predictions (use `engine pretrain`, then "
                     "initialize a `vlm` vision tower from its encoder with --vision-init)")


register_model(ModelEntry("lejepa", "LeJEPA self-supervised pretraining of a ViT encoder on the pretrain shards",
                          predictor=_no_predictor, trainer=LejepaTrainer))
