"""What every exporter shares: the output folder rule, page and pair iteration, image files."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from docfactory.engine import storage
from docfactory.engine.catalog import CATALOG_FILE, Catalog
from docfactory.engine.emit.splits import SplitConfig


class ExportError(ValueError):
    pass


@dataclass
class ExportSummary:
    format: str
    out: Path
    records: Counter = field(default_factory=Counter)  # per split: pairs or pages written
    images: int = 0


@dataclass
class ExportContext:
    catalog: Catalog
    out: Path
    splits: SplitConfig
    summary: ExportSummary

    @property
    def run(self) -> str:
        """The run's root: a local path or an fsspec URL (read shards with engine.storage)."""
        return self.catalog.root

    def split_of(self, row: dict) -> str:
        return self.splits.split_of(row["doc_id"], row["template"])

    def pages(self, columns: list[str] | None = None) -> Iterator[tuple[str, int, dict]]:
        """(documents shard, row index, row) for every page of the run, in shard order."""
        for path in sorted(self.catalog.listed("documents")):
            table = storage.read_table(self.run, path, columns=columns)
            for i, row in enumerate(table.to_pylist()):
                yield path, i, row

    def pairs(self) -> Iterator[dict]:
        paths = sorted(self.catalog.listed("pairs"))
        if not paths:
            raise ExportError(f"{self.run} has no pairs: run `engine emit {self.run}` first")
        for path in paths:
            yield from storage.read_table(self.run, path).to_pylist()

    def write_image(self, rel: str, png: bytes) -> str:
        target = self.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png)
        self.summary.images += 1
        return rel


def page_stem(doc_id: str, page: int, copy: str = "clean", index: int = 0) -> str:
    return f"{doc_id}_p{page}" + (f"_a{index}" if copy == "augmented" else "")


def write_json(path: Path, obj, lines: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if lines:
        text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in obj)
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=1) + "\n"
    path.write_text(text, encoding="utf-8")


MARKER = ".docfactory-export"


def prepare_out(out: Path, run: Path | str, overwrite: bool, fmt: str) -> None:
    """Refuse a non-empty folder unless overwrite, and overwrite only a folder an export wrote (it
    holds MARKER): a mistyped --out never deletes a run or someone's files."""
    out = out.resolve()
    local_run = None if storage.is_url(run) else Path(run).resolve()
    if (local_run is not None and (out == local_run or out in local_run.parents)) or (out / CATALOG_FILE).exists():
        raise ExportError(f"{out} holds the run folder {run}: export somewhere else")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file, not a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ExportError(f"{out} is not empty: choose an empty folder or pass --overwrite")
        if not (out / MARKER).exists():
            raise ExportError(f"{out} is not empty and was not written by engine export: not deleting it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(json.dumps({"format": fmt, "run": str(run)}) + "\n", encoding="utf-8")


class PairImages:
    """Writes each page image a pair refers to once, under images/, and returns its path."""

    def __init__(self, ctx: ExportContext):
        self.ctx = ctx
        self.paths: dict[tuple[str, int], str] = {}
        self.tables: dict[str, object] = {}

    def path(self, pair: dict) -> str:
        key = (pair["image_shard"], pair["image_row"])
        if key not in self.paths:
            shard = pair["image_shard"]
            if shard not in self.tables:  # pairs come in shard order: keep one shard's images at a time
                self.tables = {shard: _images(self.ctx.run, shard)}
            images, formats = self.tables[shard]
            ext = "jpg" if formats is not None and formats[pair["image_row"]].as_py() == "jpeg" else "png"
            rel = f"images/{page_stem(pair['doc_id'], pair['page'], pair['image_copy'], pair['copy'])}.{ext}"
            self.paths[key] = self.ctx.write_image(rel, images[pair["image_row"]].as_py())
        return self.paths[key]


def _images(run: str, path: str):
    """(image column, image_format column or None): augmented copies may be JPEG."""
    has_format = "image_format" in storage.read_schema(run, path).names
    table = storage.read_table(run, path, columns=["image"] + (["image_format"] if has_format else []))
    return table.column("image"), table.column("image_format") if has_format else None


def group_pairs(ctx: ExportContext, image_token: str) -> dict[str, list[tuple[dict, str, str]]]:
    """Pairs by split as (pair, image path, prompt with the image token)."""
    images = PairImages(ctx)
    by_split: dict[str, list] = {}
    for pair in ctx.pairs():
        by_split.setdefault(pair["split"], []).append((pair, images.path(pair), image_token + pair["prompt"]))
        ctx.summary.records[pair["split"]] += 1
    return by_split
