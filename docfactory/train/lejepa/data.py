"""Pretraining pages from a run's `pretrain` shards (via the catalog), turned into view tensors.

Per page: the global view (the whole gray-padded canvas at `global_size`), the masked-block views
(the same canvas with a stored block mask: its patches are replaced by the encoder's mask token),
and the local views (the stored crop boxes, resized to `local_size`). Images are read one shard at
a time and the order is seeded and shard-local (shards shuffled, rows shuffled inside a shard), so
memory stays at one shard's images whatever the run's size, and the position (epoch, cursor) is
all a resumed run needs to go on with the same batches.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from PIL import Image

from docfactory.engine.catalog import open_catalog
from docfactory.train.lejepa.config import LejepaConfig

_COLUMNS = "doc_id, page, template, kind, crops, masks, grid_h, grid_w, size, split"


@dataclass(frozen=True)
class PageRef:
    shard: str  # relative to the run folder
    row: int  # row in the shard
    doc_id: str
    page: int
    template: str
    kind: str
    split: str
    crops: tuple  # canvas boxes (x0, y0, x1, y1)
    masks: tuple  # packed bits per mask
    blocks: tuple  # per mask: ((source, r0, c0, r1, c1), ...) on the stored grid
    grid: tuple[int, int]
    size: int


def load_pages(run_dir: Path | str, splits: tuple[str, ...] | None = None) -> list[PageRef]:
    """The listed pretrain rows (metadata only; images are read later, a shard at a time)."""
    from docfactory.engine.shards import verify_listed

    out: list[PageRef] = []
    verify_listed(run_dir, ("pretrain",))  # a corrupt shard is refused by name (CorruptShardError)
    with open_catalog(run_dir, read_only=True) as catalog:
        shards = sorted(catalog.listed("pretrain"))
        if not shards:
            raise FileNotFoundError(f"{run_dir}: no pretrain shards (run `engine emit {run_dir}` first)")
        for shard in shards:
            rows = catalog.sql(f"SELECT {_COLUMNS} FROM read_parquet(?)", [shard]).fetchall()
            for i, (doc_id, page, template, kind, crops, masks, gh, gw, size, split) in enumerate(rows):
                if splits and split not in splits:
                    continue
                out.append(PageRef(
                    shard, i, doc_id, page, template, kind, split,
                    tuple((c["x0"], c["y0"], c["x1"], c["y1"]) for c in crops or ()),
                    tuple(m["bits"] for m in masks or ()),
                    tuple(tuple((b["source"], b["r0"], b["c0"], b["r1"], b["c1"]) for b in m["blocks"] or ()) for m in masks or ()),
                    (gh, gw), size))
    return out


class ImageCache:
    """The `image` column of one shard at a time (rows are visited shard by shard), and the decoded
    views of up to `max_views` pages (views are a pure function of the row: no random augmentation)."""

    def __init__(self, run_dir: Path | str, max_views: int = 0):
        self.run_dir = Path(run_dir)
        self.shard: str | None = None
        self.images: list = []
        self.max_views = max_views
        self.views: dict[tuple[str, int], tuple] = {}

    def png(self, ref: PageRef) -> bytes:
        if ref.shard != self.shard:
            self.images = pq.read_table(self.run_dir / ref.shard, columns=["image"]).column("image").to_pylist()
            self.shard = ref.shard
        return self.images[ref.row]


def epoch_order(pages: list[PageRef], seed: int, epoch: int) -> list[int]:
    """Indexes of `pages` for one epoch: shards in a seeded order, rows shuffled within each shard."""
    rng = random.Random(f"{seed}:{epoch}")
    by_shard: dict[str, list[int]] = {}
    for i, p in enumerate(pages):
        by_shard.setdefault(p.shard, []).append(i)
    shards = sorted(by_shard)
    rng.shuffle(shards)
    order = []
    for s in shards:
        rows = by_shard[s][:]
        rng.shuffle(rows)
        order += rows
    return order


class Batches:
    """Seeded, resumable batches of page indexes; `position` is (epoch, cursor)."""

    def __init__(self, pages: list[PageRef], batch_size: int, seed: int, position: tuple[int, int] = (0, 0)):
        if len(pages) < batch_size:
            raise ValueError(f"{len(pages)} pretraining pages, fewer than one batch of {batch_size}: lower batch_size or emit more pages")
        self.pages, self.batch_size, self.seed = pages, batch_size, seed
        self.epoch, self.cursor = position
        self.order = epoch_order(pages, seed, self.epoch)

    @property
    def position(self) -> tuple[int, int]:
        return (self.epoch, self.cursor)

    def next(self) -> list[PageRef]:
        if self.cursor + self.batch_size > len(self.order):  # drop the ragged tail: SIGReg wants full batches
            self.epoch, self.cursor = self.epoch + 1, 0
            self.order = epoch_order(self.pages, self.seed, self.epoch)
        batch = [self.pages[i] for i in self.order[self.cursor:self.cursor + self.batch_size]]
        self.cursor += self.batch_size
        return batch


def _tensor(img: Image.Image) -> torch.Tensor:
    """uint8 (3, H, W): views are cached as bytes and scaled to [-1, 1] per batch."""
    return torch.from_numpy(np.array(img.convert("RGB"), dtype=np.uint8)).permute(2, 0, 1)


def grid_mask(bits: bytes, grid: tuple[int, int], side: int) -> torch.Tensor:
    """A stored (grid_h, grid_w) block mask resampled to the encoder's side x side patch grid
    (a patch is masked when most of the area it covers is), flattened row-major."""
    gh, gw = grid
    mask = np.unpackbits(np.frombuffer(bits, dtype=np.uint8))[: gh * gw].reshape(gh, gw).astype(np.float32)
    resampled = F.interpolate(torch.from_numpy(mask)[None, None], size=(side, side), mode="area")[0, 0]
    return (resampled >= 0.5).flatten()


@dataclass
class ViewBatch:
    global_px: torch.Tensor  # (B, 1 + n_masked, 3, G, G): the global view, then the masked-block views
    masks: torch.Tensor  # (B, 1 + n_masked, (G/p)²) bool; all False for the global view
    local_px: torch.Tensor  # (B, n_local, 3, L, L)


def page_views(png: bytes, ref: PageRef, cfg: LejepaConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    side = cfg.global_size // cfg.encoder.patch_size
    with Image.open(io.BytesIO(png)) as canvas:
        canvas = canvas.convert("RGB")
        glob = _tensor(canvas.resize((cfg.global_size,) * 2, Image.Resampling.BILINEAR, reducing_gap=2.0))
        crops = [ref.crops[i % len(ref.crops)] for i in range(cfg.n_local)] if cfg.n_local else []
        if cfg.n_local and not ref.crops:
            raise ValueError(f"{ref.doc_id} page {ref.page} has no crop boxes: emit with crops or set n_local=0")
        local = [_tensor(canvas.resize((cfg.local_size,) * 2, Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)) for box in crops]
    if cfg.n_masked and not ref.masks:
        raise ValueError(f"{ref.doc_id} page {ref.page} has no block masks: emit with masks or set n_masked=0")
    masks = [torch.zeros(side * side, dtype=torch.bool)]
    masks += [grid_mask(ref.masks[i % len(ref.masks)], ref.grid, side) for i in range(cfg.n_masked)]
    local_px = torch.stack(local) if local else torch.zeros(0, 3, cfg.local_size, cfg.local_size, dtype=torch.uint8)
    return glob.expand(1 + cfg.n_masked, -1, -1, -1), torch.stack(masks), local_px


def make_views(refs: list[PageRef], cache: ImageCache, cfg: LejepaConfig) -> ViewBatch:
    views = []
    for r in refs:
        v = cache.views.get((r.shard, r.row))
        if v is None:
            v = page_views(cache.png(r), r, cfg)
            if len(cache.views) < cache.max_views:
                cache.views[(r.shard, r.row)] = v
        views.append(v)
    glob, masks, local = (torch.stack([v[i] for v in views]) for i in range(3))
    return ViewBatch(glob.float() / 127.5 - 1.0, masks, local.float() / 127.5 - 1.0)
