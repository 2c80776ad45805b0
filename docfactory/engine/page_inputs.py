"""PageInputs for models: a run's pages (clean `documents` rows, scan-like `augmented` copies) or
plain image files. The engine builds them; models never read shards for pages themselves.

A clean page carries its PDF text layer as `words` (the `pdf` word source); an augmented copy and
an image file carry none (a scan has no text layer). Gold fields and table cells, with the boxes of
the image the page shows, are in `meta` for trainers; predictors must not use them.

The split of a page is the run's effective split: the one `engine emit` recorded (with its held-out
templates) when the run was emitted, else `documents.split`; `holdout_templates` given here move
those templates' pages to `holdout` either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from docfactory.engine.catalog import open_catalog
from docfactory.engine.emit.splits import HOLDOUT, SplitConfig
from docfactory.train.base import PageInput

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
_DOC_COLUMNS = ["doc_id", "page", "template", "kind", "knobs", "width", "height", "image", "words", "fields", "tables", "split"]
_AUG_COLUMNS = ["doc_id", "page", "copy", "preset", "template", "knobs", "width", "height", "image", "fields", "tables",
                "split", "severity", "legible"]


class PageSelectionError(ValueError):
    pass


@dataclass
class PageQuery:
    splits: set[str] | None = None  # None: every split
    copies: str = "clean"  # clean | augmented | both
    presets: set[str] | None = None  # augmented copies of these presets only
    doc_ids: list[str] | None = None  # these documents only (each must exist)
    iterations: set[int] | None = None  # shards of these iterations only
    holdout_templates: list[str] = field(default_factory=list)
    legible_only: bool = True  # leave out augmented copies the legibility gate flagged
    limit: int | None = None


@dataclass
class LoadedPages:
    pages: list[PageInput]
    shards: list[dict]  # {path, kind, iteration, rows, sha256} of every shard read


def split_config(run_dir: Path, holdout_templates: list[str]) -> SplitConfig | None:
    from docfactory.engine.emit.step import recorded_splits

    with open_catalog(run_dir, read_only=True) as catalog:
        recorded = recorded_splits(catalog)
    if recorded is None and not holdout_templates:
        return None
    base = recorded or SplitConfig()
    if holdout_templates:
        base = SplitConfig(ratios=base.ratios, holdout_templates=sorted(set(base.holdout_templates) | set(holdout_templates)))
    return base


def load_pages(run_dir: Path | str, query: PageQuery) -> LoadedPages:
    run_dir = Path(run_dir).resolve()
    if query.copies not in ("clean", "augmented", "both"):
        raise PageSelectionError(f"unknown copies {query.copies!r} (known: clean, augmented, both)")
    with open_catalog(run_dir, read_only=True) as catalog:
        listed = catalog.sql("SELECT path, kind, iteration, rows, sha256 FROM shards WHERE kind IN ('documents', 'augmented') "
                             "ORDER BY path").fetchall()
    shards = [dict(zip(("path", "kind", "iteration", "rows", "sha256"), r)) for r in listed]
    if not any(s["kind"] == "documents" for s in shards):
        raise PageSelectionError(f"{run_dir}: no documents in this run (engine generate first)")
    splits = split_config(run_dir, query.holdout_templates)
    wanted_kinds = {"clean": {"documents"}, "augmented": {"augmented"}, "both": {"documents", "augmented"}}[query.copies]
    if "augmented" in wanted_kinds and not any(s["kind"] == "augmented" for s in shards):
        raise PageSelectionError(f"{run_dir}: no augmented copies in this run (engine augment RUN --preset strong first)")
    used, pages = [], []
    doc_filter = set(query.doc_ids) if query.doc_ids else None
    seen_docs: set[str] = set()
    for shard in shards:
        if shard["kind"] not in wanted_kinds and not (doc_filter and shard["kind"] == "documents"):
            continue
        if query.iterations is not None and shard["iteration"] not in query.iterations:
            continue
        columns = _DOC_COLUMNS if shard["kind"] == "documents" else _AUG_COLUMNS
        rows = pq.read_table(run_dir / shard["path"], columns=columns).to_pylist()
        kept = 0
        for row in rows:
            if doc_filter is not None:
                if row["doc_id"] not in doc_filter:
                    continue
                seen_docs.add(row["doc_id"])
            if shard["kind"] not in wanted_kinds:
                continue
            split = splits.split_of(row["doc_id"], row["template"]) if splits else row["split"]
            if query.splits is not None and split not in query.splits:
                continue
            if shard["kind"] == "augmented" and ((query.presets and row["preset"] not in query.presets)
                                                 or (query.legible_only and not row["legible"])):
                continue
            pages.append(_page(row, shard, split))
            kept += 1
        if kept:
            used.append(shard)
    if doc_filter is not None:
        unknown = sorted(doc_filter - seen_docs)
        if unknown:
            raise PageSelectionError(f"unknown doc id(s) {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''} "
                                     f"(not in {run_dir}; list them: engine query {run_dir} \"SELECT DISTINCT doc_id FROM documents\")")
    pages.sort(key=lambda p: (p.doc_id, p.page, -1 if p.copy is None else p.copy))
    if query.limit is not None:
        pages = pages[: query.limit]
    return LoadedPages(pages, used)


def _page(row: dict, shard: dict, split: str) -> PageInput:
    clean = shard["kind"] == "documents"
    meta = {"template": row["template"], "split": split, "locale": (row.get("knobs") or {}).get("locale"),
            "iteration": shard["iteration"], "fields": row["fields"], "tables": row["tables"],
            "preset": "none" if clean else row["preset"], "severity": 0.0 if clean else row["severity"]}
    words = [{"text": w["text"], "box": w["box"]} for w in row["words"]] if clean else None
    return PageInput(doc_id=row["doc_id"], page=row["page"], image=row["image"], width=row["width"], height=row["height"],
                     copy=None if clean else row["copy"], kind=row.get("kind") or None, words=words, meta=meta)


def image_pages(folder: Path | str) -> list[PageInput]:
    """One page per image file in `folder` (sorted by name; doc_id = the file's stem, page 0)."""
    from docfactory.train.ocr import check_image

    folder = Path(folder)
    if not folder.is_dir():
        raise PageSelectionError(f"{folder}: not a folder of images")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise PageSelectionError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    pages = []
    stems: dict[str, Path] = {}
    for path in files:
        if path.stem in stems:
            raise PageSelectionError(f"{path} and {stems[path.stem]} would both be doc_id {path.stem!r}; rename one")
        stems[path.stem] = path
        data = path.read_bytes()
        width, height = check_image(data, str(path))
        pages.append(PageInput(doc_id=path.stem, page=0, image=data, width=width, height=height,
                               meta={"path": str(path.resolve()), "split": None, "preset": "none"}))
    return pages


__all__ = ["HOLDOUT", "LoadedPages", "PageQuery", "PageSelectionError", "image_pages", "load_pages", "split_config"]
