"""`engine pretrain RUN`: pretrain, then (optionally) measure with the linear probes against a
random-init encoder of the same shape, and run the stage A/B transition; writes `report.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from docfactory.train.lejepa.config import LejepaConfig
from docfactory.train.lejepa.train import build_model, load_trained, pretrain


def pretrain_and_measure(run_dir: Path | str, out_dir: Path | str, cfg: LejepaConfig, *, probe: bool = True,
                         transition: bool = False, transition_steps: int = 50, resume: bool = True,
                         on_log: Callable[[dict], None] | None = None, argv: list[str] | None = None) -> dict:
    from docfactory.train.lejepa.probe import compare
    from docfactory.train.lejepa.transition import template_transition

    result = pretrain(run_dir, out_dir, cfg, resume=resume, on_log=on_log, argv=argv)
    report: dict = {"out_dir": str(result.out_dir), "encoder": str(result.encoder_dir), "steps": result.steps,
                    "resumed_from": result.resumed_from, "warnings": result.warnings}
    if result.history:
        first, last = result.history[0], result.history[-1]
        report["loss"] = {k: {"first": first[k], "last": last[k]} for k in ("loss", "prediction", "sigreg", "std")}
    model = load_trained(out_dir, device="cpu")
    if probe:
        report["probe"] = compare(model, build_model(cfg), run_dir)
    if transition:
        _, stages = template_transition(model, run_dir, steps_a=transition_steps, steps_b=transition_steps, seed=cfg.seed)
        report["transition"] = [{"stage": s.stage, "loss_first": s.losses[0], "loss_last": s.losses[-1],
                                 "encoder_change": s.encoder_change, "adapter_change": s.adapter_change} for s in stages]
    (Path(out_dir) / "report.json").write_text(json.dumps(report, indent=2))
    return report
