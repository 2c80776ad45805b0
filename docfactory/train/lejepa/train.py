"""The LeJEPA pretraining loop (readable in one sitting, nanoGPT-style).

    result = pretrain("runs/r1", "runs/r1/models/lejepa", make_config("tiny", steps=40))

Every `save_every` steps (and at the end) `checkpoint.pt` is replaced atomically: model, optimizer,
schedule, step, data position (epoch, cursor), RNG state and the config. Rerunning with the same
config resumes from it (a different `steps` extends or shortens the run; any other change is
refused). At the end the encoder alone is saved as a transformers ViT (`encoder/`), which a
VisionEncoderDecoder's ViT tower or the stage A/B transition loads.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from docfactory.train.lejepa.config import LejepaConfig
from docfactory.train.lejepa.data import Batches, ImageCache, load_pages, make_views
from docfactory.train.lejepa.model import LejepaModel, lejepa_loss
from docfactory.train.lejepa.runlog import RunLog

log = logging.getLogger("docfactory.lejepa")
CHECKPOINT = "checkpoint.pt"
ENCODER_DIR = "encoder"
# Settings that may differ on resume: they do not change what the first steps computed.
RESUMABLE = {"steps", "log_every", "save_every", "device", "collapse_std", "cache_pages"}


@dataclass
class PretrainResult:
    out_dir: Path
    encoder_dir: Path
    steps: int
    history: list[dict] = field(default_factory=list)  # the logged rows of this invocation
    warnings: list[str] = field(default_factory=list)
    resumed_from: int = 0


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build_model(cfg: LejepaConfig) -> LejepaModel:
    """A freshly initialized model; the init is seeded by cfg.seed without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return LejepaModel(cfg)


def step_seed(cfg: LejepaConfig, step: int) -> int:
    """The seed of a step's SIGReg directions: the same on every device and on a resumed run."""
    return (cfg.seed * 1_000_003 + step) % (2**63)


def lr_at(cfg: LejepaConfig, step: int) -> float:
    """Linear warmup, then cosine decay to 10 % of the peak."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))


def _save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _check_resume(saved: dict, cfg: LejepaConfig, path: Path) -> None:
    old, new = saved["config"], cfg.model_dump()
    changed = [k for k in sorted(set(old) | set(new)) if k not in RESUMABLE and old.get(k) != new.get(k)]
    if changed:
        raise ValueError(f"{path}: made with other settings ({', '.join(changed)}); use a new --out or the same settings")


def pretrain(run_dir: Path | str, out_dir: Path | str, cfg: LejepaConfig, *, resume: bool = True,
             stop_after: int | None = None, on_log: Callable[[dict], None] | None = None,
             argv: list[str] | None = None) -> PretrainResult:
    """Pretrain on the run's `cfg.split` pretrain rows. `stop_after` ends this invocation after that
    many steps (a checkpoint is written), as a kill would, for resume tests."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    pages = load_pages(run_dir, None if cfg.split == "all" else (cfg.split,))
    model = build_model(cfg).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, position = 0, (0, 0)
    ckpt_path = out_dir / CHECKPOINT
    if resume and ckpt_path.exists():
        saved = torch.load(ckpt_path, map_location=device, weights_only=False)
        _check_resume(saved, cfg, ckpt_path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step, position = saved["step"], tuple(saved["position"])
        torch.set_rng_state(saved["rng"]["torch"])
    result = PretrainResult(out_dir, out_dir / ENCODER_DIR, step, resumed_from=step)
    batches = Batches(pages, cfg.batch_size, cfg.seed, position)
    cache = ImageCache(run_dir, cfg.cache_pages)
    runlog = RunLog(out_dir, kind="lejepa", config=cfg.model_dump(), run_dir=run_dir, argv=argv, kinds=("pretrain",),
                    resume_step=step)
    n_global = 1
    last_warned = -10**9

    def save() -> None:
        _save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                      "position": batches.position, "config": cfg.model_dump(), "rng": {"torch": torch.get_rng_state()}},
                     ckpt_path)

    model.train()
    started, this_run = time.perf_counter(), 0
    while step < cfg.steps and (stop_after is None or this_run < stop_after):
        views = make_views(batches.next(), cache, cfg)
        views.global_px, views.masks, views.local_px = (t.to(device) for t in (views.global_px, views.masks, views.local_px))
        for group in optimizer.param_groups:
            group["lr"] = lr_at(cfg, step)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            z = model(views)
        parts = lejepa_loss(z.float(), n_global, cfg.lambd, step_seed(cfg, step), cfg.n_slices)
        optimizer.zero_grad(set_to_none=True)
        parts.loss.backward()
        optimizer.step()
        step, this_run = step + 1, this_run + 1
        if parts.std < cfg.collapse_std and step > cfg.warmup_steps and step - last_warned >= cfg.log_every * 10:
            last_warned = step
            message = (f"step {step}: embeddings are collapsing (median per-dimension std {parts.std:.3g} < "
                       f"{cfg.collapse_std}); raise lambd (now {cfg.lambd}) to weigh SIGReg more")
            log.warning(message)
            result.warnings.append(message)
        if step % cfg.log_every == 0 or step == cfg.steps or step == 1:
            row = {"step": step, "loss": parts.loss.item(), "prediction": parts.prediction.item(),
                   "sigreg": parts.sigreg.item(), "std": parts.std, "lr": lr_at(cfg, step - 1),
                   "seconds": round(time.perf_counter() - started, 3)}
            result.history.append(row)
            runlog.scalars(step, {k: v for k, v in row.items() if k != "step"})
            if on_log:
                on_log(row)
        if step % cfg.save_every == 0:
            save()
    save()
    result.steps = step
    if step >= cfg.steps:
        model.encoder.save_pretrained(result.encoder_dir)
        (out_dir / "lejepa.json").write_text(json.dumps({"config": cfg.model_dump(), "steps": step}, indent=2))
    runlog.close("done" if step >= cfg.steps else "stopped", steps=step, warnings=result.warnings)
    return result


def load_trained(out_dir: Path | str, device: str = "cpu") -> LejepaModel:
    """The model of a pretraining folder's checkpoint (encoder + projector)."""
    saved = torch.load(Path(out_dir) / CHECKPOINT, map_location=device, weights_only=False)
    model = build_model(LejepaConfig.model_validate(saved["config"]))
    model.load_state_dict(saved["model"])
    return model.to(device).eval()
