"""The transition from a pretrained encoder to a downstream model (the Hunyuan-LeJEPA plan):

- stage A: the encoder frozen (no gradient, not in the optimizer), the projector dropped, and a
  fresh adapter trained at a high learning rate (1e-3 at full scale);
- stage B: the encoder unfrozen with a differential learning rate, encoder ≪ adapter (1e-6 vs 1e-5
  at full scale).

`run_stage` is generic over the adapter and the loss; `template_transition` is the built-in
downstream task (template classification on the pretrain pages, an MLP adapter) that `engine
pretrain --transition` runs and the tests measure. The `vlm` trainer does the same with a VLM's
vision tower (`vision_init` + `vision_lr`: 0 for stage A, ≪ lr for stage B).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

from docfactory.train.lejepa.data import Batches, ImageCache, PageRef, load_pages, page_views
from docfactory.train.lejepa.model import LejepaModel

STAGE_LR = {"A": {"adapter": 1e-3, "encoder": 0.0}, "B": {"adapter": 1e-5, "encoder": 1e-6}}


@dataclass
class StageResult:
    stage: str
    losses: list[float]
    encoder_change: float  # ||Δθ|| / ||θ|| over the encoder's weights
    adapter_change: float  # the same over the adapter's


def _flat(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().float().flatten().cpu() for p in module.parameters()])


def run_stage(stage: str, encoder: nn.Module, adapter: nn.Module, batches: Iterator, loss_fn: Callable, steps: int,
              lr_adapter: float | None = None, lr_encoder: float | None = None) -> StageResult:
    """Train `adapter` (and in stage B the encoder, at its own rate) for `steps` batches;
    loss_fn(encoder, adapter, batch) -> scalar loss."""
    if stage not in STAGE_LR:
        raise KeyError(f"unknown stage {stage!r} (known: A, B)")
    lr_adapter = STAGE_LR[stage]["adapter"] if lr_adapter is None else lr_adapter
    lr_encoder = STAGE_LR[stage]["encoder"] if lr_encoder is None else lr_encoder
    train_encoder = stage == "B"
    encoder.requires_grad_(train_encoder)
    encoder.train(train_encoder)  # stage A: eval mode too, so nothing in it (norm statistics) moves
    groups = [{"params": list(adapter.parameters()), "lr": lr_adapter}]
    if train_encoder:
        groups.append({"params": list(encoder.parameters()), "lr": lr_encoder})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.0)
    enc0, ad0 = _flat(encoder), _flat(adapter)
    losses = []
    for _ in range(steps):
        loss = loss_fn(encoder, adapter, next(batches))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    enc1, ad1 = _flat(encoder), _flat(adapter)
    return StageResult(stage, losses, ((enc1 - enc0).norm() / enc0.norm()).item(), ((ad1 - ad0).norm() / ad0.norm()).item())


def adapter_mlp(width: int, n_out: int, hidden: int = 256) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, n_out))


def template_transition(model: LejepaModel, run_dir: Path | str, steps_a: int = 50, steps_b: int = 50,
                        batch_size: int = 16, lr_scale: float = 1.0, seed: int = 0) -> tuple[nn.Module, list[StageResult]]:
    """Stage A then stage B on template classification of the run's train pages; returns the adapter
    and both stages' results. The projector is dropped: only `model.encoder` is used."""
    refs = load_pages(run_dir, ("train",))
    names = sorted({r.template for r in refs})
    cache = ImageCache(run_dir, max_views=len(refs))
    cfg = model.cfg
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        adapter = adapter_mlp(cfg.encoder.hidden_size, len(names))
    device = next(model.parameters()).device
    adapter.to(device)

    def stream() -> Iterator[list[PageRef]]:
        b = Batches(refs, min(batch_size, len(refs)), seed)
        while True:
            yield b.next()

    def loss_fn(encoder, head, batch):
        px = []
        for r in batch:
            v = cache.views.get((r.shard, r.row)) or cache.views.setdefault((r.shard, r.row), page_views(cache.png(r), r, cfg))
            px.append(v[0][0])
        tokens = model.tokens(torch.stack(px).to(device).float() / 127.5 - 1.0)
        pooled = tokens[:, 0] if cfg.encoder.pool == "cls" else tokens[:, 1:].mean(1)
        y = torch.tensor([names.index(r.template) for r in batch], device=device)
        return nn.functional.cross_entropy(head(pooled), y)

    batches = stream()
    results = [run_stage(stage, model.encoder, adapter, batches, loss_fn, steps,
                         lr_adapter=STAGE_LR[stage]["adapter"] * lr_scale, lr_encoder=STAGE_LR[stage]["encoder"] * lr_scale)
               for stage, steps in (("A", steps_a), ("B", steps_b))]
    return adapter, results
