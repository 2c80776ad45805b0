"""Linear probes on frozen encoder features: the measured effect of pretraining.

Two tasks from the pretrain rows themselves (no labels beyond what the factory recorded):
- `template`: which template a page comes from (page features: the pooled global view);
- `table_block`: whether a masked layout block is a table or table column rather than a field group
  or text block (block features: the mean of the encoder's patch tokens inside the block).

The same probe (standardized features, L2-regularized softmax regression fitted with L-BFGS) is
fitted on the `train` pages and scored on the held-in evaluation pages (`val` + `test`; `holdout`
templates are never seen in training, so they cannot be classified by template). The baseline is a
random-init encoder of the same shape and seed: the weights pretraining started from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from docfactory.train.lejepa.config import LejepaConfig
from docfactory.train.lejepa.data import ImageCache, PageRef, load_pages, page_views
from docfactory.train.lejepa.model import LejepaModel

TABLE_SOURCES = {"table", "table_column"}
OTHER_SOURCES = {"field_group", "text_block"}
EVAL_SPLITS = ("val", "test")


@dataclass
class ProbeData:
    x: torch.Tensor
    y: torch.Tensor
    train: torch.Tensor  # bool: fit on these, score on the rest


@torch.no_grad()
def encode_pages(model: LejepaModel, refs: list[PageRef], cache: ImageCache, batch_size: int = 32) -> torch.Tensor:
    """Patch tokens of each page's unmasked global view: (N, 1 + side², D)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(refs), batch_size):
        px = torch.stack([page_views(cache.png(r), r, model.cfg)[0][0] for r in refs[i:i + batch_size]])
        out.append(model.tokens(px.to(device).float() / 127.5 - 1.0).float().cpu())
    return torch.cat(out)


def probe_data(tokens: torch.Tensor, refs: list[PageRef], cfg: LejepaConfig, task: str) -> ProbeData:
    side = cfg.global_size // cfg.encoder.patch_size
    is_train = [r.split == "train" for r in refs]
    if task == "template":
        names = sorted({r.template for r in refs if r.split == "train"})
        keep = [i for i, r in enumerate(refs) if r.template in names]
        pooled = tokens[:, 0] if cfg.encoder.pool == "cls" else tokens[:, 1:].mean(1)
        return ProbeData(pooled[keep], torch.tensor([names.index(refs[i].template) for i in keep]),
                         torch.tensor([is_train[i] for i in keep]))
    if task == "table_block":
        xs, ys, train = [], [], []
        for i, r in enumerate(refs):
            grid = tokens[i, 1:].view(side, side, -1)
            seen = set()
            for blocks in r.blocks:
                for source, r0, c0, r1, c1 in blocks:
                    if source not in TABLE_SOURCES | OTHER_SOURCES or (source, r0, c0, r1, c1) in seen:
                        continue
                    seen.add((source, r0, c0, r1, c1))
                    a0, b0 = r0 * side // r.grid[0], c0 * side // r.grid[1]
                    a1, b1 = max(a0 + 1, -(-r1 * side // r.grid[0])), max(b0 + 1, -(-c1 * side // r.grid[1]))
                    xs.append(grid[a0:a1, b0:b1].mean((0, 1)))
                    ys.append(int(source in TABLE_SOURCES))
                    train.append(is_train[i])
        if not xs:
            raise ValueError("no labelled layout blocks in the pretrain rows' masks")
        return ProbeData(torch.stack(xs), torch.tensor(ys), torch.tensor(train))
    raise KeyError(f"unknown probe task {task!r} (known: template, table_block)")


def linear_probe(data: ProbeData, l2: float = 1e-2, iterations: int = 200) -> float:
    """Accuracy on the held-out rows of a softmax regression fitted on the train rows."""
    return probe_hits(data, l2, iterations).float().mean().item()


def probe_hits(data: ProbeData, l2: float = 1e-2, iterations: int = 200, shuffle_seed: int | None = None) -> torch.Tensor:
    """Per held-out row, whether the probe got it right. `shuffle_seed`: fit on the train labels
    shuffled (a seeded permutation): the chance-level control a real probe must beat."""
    tr, te = data.train, ~data.train
    if not tr.any() or not te.any():
        raise ValueError("the probe needs train pages and val/test pages")
    mean, std = data.x[tr].mean(0), data.x[tr].std(0).clamp_min(1e-6)
    x = (data.x - mean) / std
    n_classes = int(data.y.max()) + 1
    y_train = data.y[tr]
    if shuffle_seed is not None:
        y_train = y_train[torch.randperm(len(y_train), generator=torch.Generator().manual_seed(shuffle_seed))]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        head = nn.Linear(x.shape[1], n_classes)
    opt = torch.optim.LBFGS(head.parameters(), lr=1, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(head(x[tr]), y_train) + l2 * head.weight.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return head(x[te]).argmax(1) == data.y[te]


def bootstrap_interval(hits: torch.Tensor, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % interval of an accuracy over resamples (with replacement) of the evaluation rows."""
    generator = torch.Generator().manual_seed(seed)
    draws = torch.randint(len(hits), (resamples, len(hits)), generator=generator)
    means = hits.float()[draws].mean(1).sort().values
    return round(means[int(0.025 * (resamples - 1))].item(), 4), round(means[int(0.975 * (resamples - 1))].item(), 4)


def compare(pretrained: LejepaModel, random_init: LejepaModel, run_dir: Path | str,
            tasks: tuple[str, ...] = ("template", "table_block")) -> dict[str, dict[str, float]]:
    """{task: {"pretrained": acc, "random_init": acc, "<name>_ci95": [lo, hi] (bootstrap over the
    evaluation rows), "shuffled": the pretrained features' accuracy with the train labels shuffled,
    "n_train": .., "n_eval": ..}} on the run's pages."""
    refs = load_pages(run_dir, ("train",) + EVAL_SPLITS)
    cache = ImageCache(run_dir)
    refs.sort(key=lambda r: (r.shard, r.row))  # one shard read at a time
    report: dict[str, dict[str, float]] = {}
    tokens = {name: encode_pages(m, refs, cache) for name, m in (("pretrained", pretrained), ("random_init", random_init))}
    for task in tasks:
        row: dict[str, float] = {}
        for name, tok in tokens.items():
            data = probe_data(tok, refs, pretrained.cfg, task)
            hits = probe_hits(data)
            row[name] = round(hits.float().mean().item(), 4)
            row[f"{name}_ci95"] = list(bootstrap_interval(hits))
            row["n_train"], row["n_eval"] = int(data.train.sum()), int((~data.train).sum())
            if name == "pretrained":
                row["shuffled"] = round(probe_hits(data, shuffle_seed=0).float().mean().item(), 4)
        report[task] = row
    return report
