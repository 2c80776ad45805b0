"""`engine import SRC --format F --out RUN`: a labelled real dataset -> an evaluation run.

Everything is read and checked first (labels parsed, every key mapped, every image readable), so
bad input stops the import with one error before a byte is written. Then pages are read in fixed
shards of PAGES_PER_SHARD (sorted by doc id): words from the chosen source (OCR results go to the
run's `ocr` cache shards, so a page is read once), rows written atomically and listed. A killed
import resumes at the first unlisted shard; importing again with other settings is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from docfactory.engine.lock import locks_run
from docfactory.engine.catalog import open_catalog
from docfactory.engine.real_sets.field_map import FieldMap, load_field_map
from docfactory.engine.real_sets.formats import DEFAULT_MAPS, READERS, RealPage, RealSetError, read_source
from docfactory.engine.real_sets.rows import page_row
from docfactory.engine.shards import write_shard

PAGES_PER_SHARD = 32
WORD_SOURCES = ("dataset", "rapidocr", "tesseract")
DEFAULT_WORD_SOURCE = "rapidocr"  # chosen by measurement on the SROIE receipts (README: real documents)


@dataclass
class ImportRequest:
    src: Path
    fmt: str
    field_map: str | None = None  # a built-in name or a YAML file; default: the format's
    kind: str | None = None  # with no map: labels already use this kind's field names
    dataset: str | None = None  # overrides the map's dataset name
    word_source: str = DEFAULT_WORD_SOURCE
    workers: int = 1


@dataclass
class ImportResult:
    out: Path
    pages: int
    shards: int
    skipped_shards: int
    dataset: str
    kind: str
    seconds: float
    ocr_seconds: float


def shard_path(index: int) -> str:
    return f"shards/documents/it000/part-{index:05d}.parquet"


def field_map_for(request: ImportRequest) -> FieldMap:
    if request.fmt == "pubtabnet" and request.field_map is None:
        fmap = FieldMap(dataset="pubtabnet", kind="table", locale="en_US", currency="", fields={}, source="pubtabnet")
    else:
        fmap = load_field_map(request.field_map, DEFAULT_MAPS.get(request.fmt), request.kind)
    if request.dataset:
        fmap = FieldMap(request.dataset, fmap.kind, fmap.locale, fmap.currency, fmap.fields, fmap.ignore, fmap.unmapped,
                        fmap.source, fmap.types)
    return fmap


@locks_run(create=True)
def import_set(out: Path | str, request: ImportRequest, on_page: Callable[[int, int], None] | None = None) -> ImportResult:
    started = time.perf_counter()
    out = Path(out)
    if request.word_source not in WORD_SOURCES:
        raise RealSetError(f"unknown word source {request.word_source!r} (known: {', '.join(WORD_SOURCES)})")
    if request.fmt not in READERS:
        raise RealSetError(f"unknown format {request.fmt!r} (known: {', '.join(READERS)})")
    fmap = field_map_for(request)
    pages = read_source(request.src, request.fmt)
    _check(pages, fmap, request.word_source)
    images = {p.doc_id: _read_image(p) for p in pages}
    settings = _ocr_settings(request.word_source)
    config = {"src": str(Path(request.src).resolve()), "format": request.fmt, "field_map": fmap.source,
              "dataset": fmap.dataset, "kind": fmap.kind, "word_source": request.word_source,
              "ocr": settings.tag() if settings else None, "pages": len(pages)}
    with open_catalog(out) as catalog:
        catalog.claim_step("import", config)
        listed = set(catalog.listed("documents"))
    chunks = [pages[i:i + PAGES_PER_SHARD] for i in range(0, len(pages), PAGES_PER_SHARD)]
    with _word_cache(out, settings) as cache:
        done, skipped, ocr_seconds = _write_chunks(out, chunks, listed, fmap, images, settings, cache, request.workers,
                                                  on_page, len(pages))
    return ImportResult(out, len(pages), len(chunks), skipped, fmap.dataset, fmap.kind,
                        time.perf_counter() - started, ocr_seconds)


def _write_chunks(out: Path, chunks, listed: set, fmap: FieldMap, images: dict, settings, cache, workers: int,
                  on_page, total: int) -> tuple[int, int, float]:
    """Each unlisted shard of pages: words, rows, written and listed. (pages done, shards skipped, OCR seconds)"""
    done = skipped = 0
    ocr_seconds = 0.0
    for index, chunk in enumerate(chunks):
        path = shard_path(index)
        if path in listed:
            skipped += 1
            done += len(chunk)
            if on_page:
                on_page(done, total)
            continue
        t0 = time.perf_counter()
        words = _words(chunk, images, settings, cache, workers)
        ocr_seconds += time.perf_counter() - t0
        rows = [page_row(p, fmap, images[p.doc_id][0], images[p.doc_id][1], w) for p, w in zip(chunk, words)]
        info = write_shard(out, path, "documents", rows)
        with open_catalog(out) as catalog:
            catalog.add_shard(info)
        done += len(chunk)
        if on_page:
            on_page(done, total)
    return done, skipped, ocr_seconds


def _check(pages: list[RealPage], fmap: FieldMap, word_source: str) -> None:
    for page in pages:
        if page.labels:
            fmap.map_labels(page.labels, page.where)  # raises FieldMapError naming the file (and line)
        if word_source == "dataset" and page.words is None:
            raise RealSetError(f"{page.where}: this dataset has no OCR of its own for {page.doc_id}; "
                               "use --word-source rapidocr or tesseract")


def _read_image(page: RealPage) -> tuple[bytes, tuple[int, int]]:
    from docfactory.train.ocr import BadImage, check_image

    data = page.image.read_bytes()
    try:
        return data, check_image(data, str(page.image))
    except BadImage as exc:
        raise RealSetError(str(exc)) from None


def _ocr_settings(word_source: str):
    if word_source == "dataset":
        return None
    from docfactory.train.ocr import OcrSettings

    return OcrSettings(engine=word_source)


def _word_cache(out: Path, settings):
    """The run's OCR cache, read once for the whole import (nothing to open for the dataset's own words)."""
    from contextlib import nullcontext

    if settings is None:
        return nullcontext(None)
    from docfactory.engine.ocr_cache import ShardOcrCache

    return ShardOcrCache(out)


def _words(chunk: list[RealPage], images: dict, settings, cache, workers: int) -> list[list[dict]]:
    if settings is None:
        return [page.words or [] for page in chunk]
    from docfactory.train.ocr import ocr_images

    return ocr_images([images[p.doc_id][0] for p in chunk], settings, cache, workers)
