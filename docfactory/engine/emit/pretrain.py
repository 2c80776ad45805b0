"""Pretraining rows (the LeJEPA plan): the page resized to a max side of `size`, padded with gray
to a size x size canvas, a global view (the page's box on the canvas) plus local crop boxes, and
block-wise masks over the patch grid.

A mask covers 30-50 % of the patches that hold page content, in large contiguous blocks: first the
page's semantic blocks (a field group such as the totals section or an address, a table column, a
block of text) in a seeded order, then, only if those fall short, random rectangles of at least
`min_block_patches`. Never single random patches: a masked patch next to visible neighbours of the
same word is guessed from them, which teaches the model little about documents.
"""

from __future__ import annotations

import io
import math
import random
from typing import Annotated, Sequence

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from docfactory.engine.emit.blocks import Block
from docfactory.generators.spec import derive_seed


class PretrainOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size: Annotated[int, Field(gt=0, description="canvas side; the page's longer side is resized to it")] = 1024
    patch_size: Annotated[int, Field(gt=0, description="ViT patch side in canvas pixels")] = 16
    n_masks: Annotated[int, Field(ge=1, description="masks per page")] = 2
    n_crops: Annotated[int, Field(ge=0, description="local crop boxes per page")] = 4
    mask_min: Annotated[float, Field(gt=0, lt=1, description="least masked share of content patches")] = 0.3
    mask_max: Annotated[float, Field(gt=0, lt=1, description="largest masked share of content patches")] = 0.5
    min_block_patches: Annotated[int, Field(ge=1, description="smallest block (in patches) a mask may use")] = 6
    block_margin: Annotated[int, Field(ge=0, description="patches added around a layout block (its white space goes with it)")] = 1
    crop_scale: Annotated[tuple[float, float], Field(description="crop side as a share of the page's longer side")] = (0.25, 0.5)
    gray: Annotated[int, Field(ge=0, le=255)] = 128

    @model_validator(mode="after")
    def _check(self) -> "PretrainOptions":
        if self.size % self.patch_size:
            raise ValueError(f"size {self.size} is not a multiple of patch_size {self.patch_size}")
        if self.mask_min > self.mask_max:
            raise ValueError("mask_min > mask_max")
        return self


def canvas(png: bytes, options: PretrainOptions) -> tuple[bytes, float, tuple[int, int]]:
    """(PNG of the gray canvas with the page at its top-left, page->canvas scale, (width, height) on the canvas)."""
    with Image.open(io.BytesIO(png)) as page:
        page = page.convert("RGB")
        scale = options.size / max(page.size)
        w, h = (min(options.size, max(1, round(v * scale))) for v in page.size)
        out = Image.new("RGB", (options.size, options.size), (options.gray,) * 3)
        out.paste(page.resize((w, h), Image.Resampling.BICUBIC), (0, 0))
    buf = io.BytesIO()
    out.save(buf, format="PNG", compress_level=3)
    return buf.getvalue(), scale, (w, h)


def patch_rect(box: tuple[float, float, float, float], scale: float, p: int, rows: int, cols: int,
               margin: int = 0) -> tuple[int, int, int, int]:
    """The patches a page-pixel box touches, grown by `margin` patches: (r0, c0, r1, c1),
    end-exclusive, inside the content grid."""
    x0, y0, x1, y1 = (v * scale for v in box)
    return (max(0, math.floor(y0 / p) - margin), max(0, math.floor(x0 / p) - margin),
            min(rows, math.ceil(y1 / p) + margin), min(cols, math.ceil(x1 / p) + margin))


def build_mask(rng: random.Random, candidates: list[tuple[Block, tuple[int, int, int, int]]], rows: int, cols: int,
               grid: int, options: PretrainOptions) -> dict:
    """One mask: semantic blocks (canvas boxes, patch rects) in a seeded order while they fit under
    mask_max, stopping at a seeded target share; random rectangles only to reach mask_min."""
    mask = np.zeros((grid, grid), dtype=bool)
    content = rows * cols
    target = rng.uniform(options.mask_min, options.mask_max)
    limit = math.floor(options.mask_max * content)
    used = []
    # A seeded order that puts large blocks first more often (Efraimidis-Spirakis keys u^(1/area)):
    # a few large blocks reach the target and leave more of the page's text visible than many rows.
    keys = [rng.random() ** (1.0 / ((r[2] - r[0]) * (r[3] - r[1]))) for _, r in candidates]
    order = [candidates[i] for i in sorted(range(len(candidates)), key=lambda i: -keys[i])]
    for block, (r0, c0, r1, c1) in order:
        if mask.sum() >= target * content:
            break
        new = int((~mask[r0:r1, c0:c1]).sum())
        if new and mask.sum() + new <= limit:
            mask[r0:r1, c0:c1] = True
            used.append(_block_row(block.source, block.name, block.box, (r0, c0, r1, c1)))
    tries = 0
    while mask.sum() < options.mask_min * content and tries < 200:
        tries += 1
        budget = limit - int(mask.sum())
        area = min(budget, max(options.min_block_patches, round(rng.uniform(0.05, 0.15) * content)))
        aspect = math.exp(rng.uniform(math.log(0.5), math.log(2)))
        h = min(rows, max(1, round(math.sqrt(area * aspect))))
        w = min(cols, max(1, area // h))
        if h * w < options.min_block_patches:
            continue
        r0, c0 = rng.randrange(rows - h + 1), rng.randrange(cols - w + 1)
        if mask.sum() + int((~mask[r0:r0 + h, c0:c0 + w]).sum()) > limit:
            continue
        mask[r0:r0 + h, c0:c0 + w] = True
        p = options.patch_size
        used.append(_block_row("random", f"rect{len(used)}", (c0 * p, r0 * p, (c0 + w) * p, (r0 + h) * p), (r0, c0, r0 + h, c0 + w)))
    return {"bits": np.packbits(mask.ravel()).tobytes(), "ratio": float(mask.sum() / content), "blocks": used}


def _block_row(source: str, name: str, canvas_box, rect) -> dict:
    x0, y0, x1, y1 = (round(float(v), 2) for v in canvas_box)
    r0, c0, r1, c1 = rect
    return {"source": source, "name": name, "box": {"x0": x0, "y0": y0, "x1": x1, "y1": y1},
            "r0": r0, "c0": c0, "r1": r1, "c1": c1}


def crops(rng: random.Random, blocks: Sequence[Block], w: int, h: int, scale: float, options: PretrainOptions) -> list[dict]:
    """Local views: squares of a random share of the page's longer side, centred on a semantic
    block where there is one (so a crop holds document content, not margin), kept on the page."""
    out = []
    for _ in range(options.n_crops):
        side = rng.uniform(*options.crop_scale) * max(w, h)
        cw, ch = min(side, w), min(side, h)
        if blocks:
            b = rng.choice(blocks).box
            cx, cy = (b[0] + b[2]) / 2 * scale, (b[1] + b[3]) / 2 * scale
        else:
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        x0 = min(max(0.0, cx - cw / 2), w - cw)
        y0 = min(max(0.0, cy - ch / 2), h - ch)
        out.append({"x0": round(x0, 2), "y0": round(y0, 2), "x1": round(x0 + cw, 2), "y1": round(y0 + ch, 2)})
    return out


def pretrain_row(doc: dict, blocks: Sequence[Block], source_shard: str, source_row: int, split: str, *,
                 options: PretrainOptions = PretrainOptions(), seed: int = 0) -> dict:
    png, scale, (w, h) = canvas(doc["image"], options)
    p, grid = options.patch_size, options.size // options.patch_size
    rows, cols = math.ceil(h / p), math.ceil(w / p)
    candidates = []
    for b in blocks:
        rect = patch_rect(b.box, scale, p, rows, cols, options.block_margin)
        if (rect[2] - rect[0]) * (rect[3] - rect[1]) >= options.min_block_patches:
            candidates.append((Block(b.source, b.name, tuple(v * scale for v in b.box), b.fields), rect))
    masks = [build_mask(random.Random(derive_seed(seed, doc["seed"], doc["page"], "mask", m)), candidates,
                        rows, cols, grid, options) for m in range(options.n_masks)]
    return {
        "doc_id": doc["doc_id"], "page": doc["page"], "template": doc["template"], "kind": doc["kind"],
        "source_shard": source_shard, "source_row": source_row, "image": png, "size": options.size,
        "scale": scale, "content_box": {"x0": 0.0, "y0": 0.0, "x1": float(w), "y1": float(h)},
        "crops": crops(random.Random(derive_seed(seed, doc["seed"], doc["page"], "crops")), blocks, w, h, scale, options),
        "patch_size": p, "grid_h": grid, "grid_w": grid, "masks": masks, "split": split,
    }


def unpack_mask(row: dict, index: int = 0) -> np.ndarray:
    """A stored mask as a (grid_h, grid_w) bool array."""
    bits = np.frombuffer(row["masks"][index]["bits"], dtype=np.uint8)
    return np.unpackbits(bits)[: row["grid_h"] * row["grid_w"]].reshape(row["grid_h"], row["grid_w"]).astype(bool)
