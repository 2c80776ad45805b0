"""PageInputs for models: a run's pages (clean `documents` rows, scan-like `augmented` copies) or
plain image files. The engine builds them; models never read shards for pages themselves.

A clean page carries its PDF text layer as `words` (the `pdf` word source); an augmented copy and
an image file carry none (a scan has no text layer). Gold fields and table cells, with the boxes of
the image the page shows, are in `meta` for trainers; predictors must not use them.

The split of a page is the run's effective split: the one `engine emit` recorded (with its held-out
templates) when the run was emitted, else `documents.split`; `holdout_templates` given here move
those templates' pages to `holdout` either way.

Choosing pages (`select_pages`: the catalog and the small columns) is apart from reading them
(`read_shard_pages`: one shard's chosen pages, no catalog), so a driver chooses and its workers read,
shard by shard. The run may be a local folder or an fsspec URL (engine.storage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from docfactory.engine import storage
from docfactory.engine.catalog import open_catalog
from docfactory.engine.emit.splits import HOLDOUT, SplitConfig
from docfactory.train.base import PageInput

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
_DOC_COLUMNS = ["doc_id", "page", "template", "kind", "knobs", "width", "height", "image", "words", "fields", "tables", "split"]
_AUG_COLUMNS = ["doc_id", "page", "copy", "preset", "template", "knobs", "width", "height", "image", "fields", "tables",
                "split", "severity", "legible"]


PageKey = tuple  # (doc_id, page, copy or None)
_SELECT_COLUMNS = {"documents": ["doc_id", "page", "template", "split"],
                   "augmented": ["doc_id", "page", "copy", "preset", "template", "split", "legible"]}


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


@dataclass(frozen=True)
class ShardPages:
    """The pages a query chose from one shard: (doc_id, page, copy) -> effective split."""

    root: str  # the run (a local path or a URL)
    shard: dict  # {path, kind, iteration, rows, sha256}
    splits: dict[tuple, str]

    def __len__(self) -> int:
        return len(self.splits)


@dataclass
class LoadedPages:
    pages: list[PageInput]
    shards: list[dict]  # {path, kind, iteration, rows, sha256} of every shard read


def split_config(run_dir: Path | str, holdout_templates: list[str]) -> SplitConfig | None:
    from docfactory.engine.emit.step import recorded_splits

    with open_catalog(run_dir, read_only=True) as catalog:
        recorded = recorded_splits(catalog)
    if recorded is None and not holdout_templates:
        return None
    base = recorded or SplitConfig()
    if holdout_templates:
        base = SplitConfig(ratios=base.ratios, holdout_templates=sorted(set(base.holdout_templates) | set(holdout_templates)))
    return base


def page_order(key: PageKey) -> tuple:
    """(doc_id, page, copy) order, the clean page before its augmented copies."""
    return key[0], key[1], -1 if key[2] is None else key[2]


def select_pages(run_dir: Path | str, query: PageQuery) -> list[ShardPages]:
    """Which pages of which shards the query asks for, read from the small columns only (no images),
    so a driver can choose pages and hand each shard's share to a worker (read_shard_pages)."""
    root = storage.run_root(run_dir)
    if query.copies not in ("clean", "augmented", "both"):
        raise PageSelectionError(f"unknown copies {query.copies!r} (known: clean, augmented, both)")
    with open_catalog(root, read_only=True) as catalog:
        listed = catalog.sql("SELECT path, kind, iteration, rows, sha256 FROM shards WHERE kind IN ('documents', 'augmented') "
                             "ORDER BY path").fetchall()
    shards = [dict(zip(("path", "kind", "iteration", "rows", "sha256"), r)) for r in listed]
    if not any(s["kind"] == "documents" for s in shards):
        raise PageSelectionError(f"{root}: no documents in this run (engine generate first)")
    splits = split_config(root, query.holdout_templates)
    wanted_kinds = {"clean": {"documents"}, "augmented": {"augmented"}, "both": {"documents", "augmented"}}[query.copies]
    if "augmented" in wanted_kinds and not any(s["kind"] == "augmented" for s in shards):
        raise PageSelectionError(f"{root}: no augmented copies in this run (engine augment RUN --preset strong first)")
    doc_filter = set(query.doc_ids) if query.doc_ids else None
    seen_docs: set[str] = set()
    chosen: list[tuple[PageKey, str, int]] = []  # (key, split, shard index)
    for index, shard in enumerate(shards):
        if shard["kind"] not in wanted_kinds and not (doc_filter and shard["kind"] == "documents"):
            continue
        if query.iterations is not None and shard["iteration"] not in query.iterations:
            continue
        columns = _SELECT_COLUMNS[shard["kind"]]
        for row in storage.read_table(root, shard["path"], columns=columns).to_pylist():
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
            chosen.append(((row["doc_id"], row["page"], row.get("copy")), split, index))
    if doc_filter is not None:
        unknown = sorted(doc_filter - seen_docs)
        if unknown:
            raise PageSelectionError(f"unknown doc id(s) {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''} "
                                     f"(not in {root}; list them: engine query {root} \"SELECT DISTINCT doc_id FROM documents\")")
    chosen.sort(key=lambda c: page_order(c[0]))
    if query.limit is not None:
        chosen = chosen[: query.limit]
    by_shard: dict[int, dict[PageKey, str]] = {}
    for key, split, index in chosen:
        by_shard.setdefault(index, {})[key] = split
    return [ShardPages(root, shards[i], by_shard[i]) for i in sorted(by_shard)]


def read_shard_pages(part: ShardPages) -> list[PageInput]:
    """The chosen pages of one shard, in page order (runs in a worker: needs no catalog)."""
    columns = _DOC_COLUMNS if part.shard["kind"] == "documents" else _AUG_COLUMNS
    pages = []
    for row in storage.read_table(part.root, part.shard["path"], columns=columns).to_pylist():
        split = part.splits.get((row["doc_id"], row["page"], row.get("copy")))
        if split is not None:
            pages.append(_page(row, part.shard, split))
    pages.sort(key=lambda p: page_order((p.doc_id, p.page, p.copy)))
    return pages


def load_pages(run_dir: Path | str, query: PageQuery) -> LoadedPages:
    parts = select_pages(run_dir, query)
    pages = [page for part in parts for page in read_shard_pages(part)]
    pages.sort(key=lambda p: page_order((p.doc_id, p.page, p.copy)))
    return LoadedPages(pages, [part.shard for part in parts])


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


__all__ = ["HOLDOUT", "LoadedPages", "PageQuery", "PageSelectionError", "ShardPages", "image_pages", "load_pages",
           "page_order", "read_shard_pages", "select_pages", "split_config"]
