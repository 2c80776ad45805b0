"""`engine predict RUN --model NAME --split test --out preds.jsonl` (or `--images DIR`): pages in,
the predictions JSONL that `engine evaluate` reads out.

Pages come from the run (clean pages, augmented copies, a split, some doc ids) or from a folder of
image files (doc_id = file stem, page 0). The predictor is built from the registry with what its
signature names: `checkpoint` (default: the run's models/NAME folder), `iteration`, `word_source`,
`ocr_cache` (the run's `ocr` shards), `predict_cmd`, `profile`; a catch-all **options predictor
gets the `--set` options. Each row is checked (doc_id, page and copy of a requested page, the
value types `engine evaluate` accepts) before it is written; the file is written to a temporary
name and renamed, so a failed prediction never leaves a half file behind.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from docfactory.engine.ocr_cache import ShardOcrCache
from docfactory.engine.page_inputs import PageQuery, PageSelectionError, image_pages, load_pages
from docfactory.engine.train_step import _named, _params, _takes_kwargs, latest_iteration, models_dir
from docfactory.train import get_model
from docfactory.train.ocr import MemoryCache


class PredictStepError(ValueError):
    pass


@dataclass
class PredictRequest:
    model: str = "layout"
    out: Path = Path("predictions.jsonl")
    splits: set[str] | None = None
    copies: str = "clean"  # clean | augmented | both
    presets: set[str] | None = None
    doc_ids: list[str] | None = None
    images: Path | None = None
    checkpoint: Path | None = None
    iteration: int | None = None
    word_source: str = "auto"
    predict_cmd: str | None = None
    profile: str | None = None
    holdout_templates: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None


@dataclass
class PredictResult:
    out: Path
    pages: int
    seconds: float
    ocr_hits: int = 0
    ocr_misses: int = 0


def run_predict(run_dir: Path | str | None, request: PredictRequest, on_page: Callable[[int, int], None] | None = None) -> PredictResult:
    started = time.perf_counter()
    run_dir = Path(run_dir).resolve() if run_dir is not None else None
    try:
        entry = get_model(request.model)
    except KeyError as exc:
        raise PredictStepError(str(exc).strip("'\"")) from None
    pages = _pages(run_dir, request)
    if not pages:
        raise PredictStepError("no pages match (check --split, --copies, --preset)")
    cache = ShardOcrCache(run_dir) if run_dir is not None else MemoryCache()
    try:
        predictor = _predictor(entry, run_dir, request, cache)
        expected = {(p.doc_id, p.page, p.copy) for p in pages}
        count = 0
        request.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = request.out.with_name(f".tmp-{os.getpid()}-{request.out.name}")
        seen: set[tuple] = set()
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                for row in predictor.predict(pages):
                    key = check_row(row, expected, seen, count + 1)
                    seen.add(key)
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
                    if on_page:
                        on_page(count, len(pages))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, request.out)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        if hasattr(cache, "close"):
            cache.close()
    return PredictResult(request.out, count, time.perf_counter() - started,
                         getattr(cache, "hits", 0), getattr(cache, "misses", 0))


def check_row(row: Any, expected: set[tuple], seen: set[tuple], number: int) -> tuple:
    """The row's (doc_id, page, copy), or PredictStepError saying what is wrong with row `number`."""
    where = f"prediction {number}"
    if not isinstance(row, dict):
        raise PredictStepError(f"{where}: expected a JSON object, got {type(row).__name__}")
    key = (row.get("doc_id"), row.get("page"), row.get("copy"))
    if not isinstance(key[0], str) or not isinstance(key[1], int) or isinstance(key[1], bool):
        raise PredictStepError(f"{where}: doc_id must be a string and page an integer (got {key[0]!r}, {key[1]!r})")
    if key not in expected:
        copy = "" if key[2] is None else f" copy {key[2]}"
        raise PredictStepError(f"{where}: {key[0]} page {key[1]}{copy} was not asked for")
    if key in seen:
        raise PredictStepError(f"{where}: a second prediction for {key[0]} page {key[1]}")
    for name, kind in (("fields", dict), ("tables", list), ("text", str), ("confidence", dict)):
        if row.get(name) is not None and not isinstance(row[name], kind):
            raise PredictStepError(f"{where}: {name} must be a {kind.__name__}, got {type(row[name]).__name__}")
    if row.get("tables") is not None and not all(isinstance(t, str) for t in row["tables"]):
        raise PredictStepError(f"{where}: tables must be a list of HTML strings")
    return key


def _pages(run_dir: Path | None, request: PredictRequest):
    try:
        if request.images is not None:
            return image_pages(request.images)
        if run_dir is None:
            raise PredictStepError("give a run folder, or --images DIR")
        query = PageQuery(splits=request.splits, copies=request.copies, presets=request.presets, doc_ids=request.doc_ids,
                          holdout_templates=request.holdout_templates, limit=request.limit)
        return load_pages(run_dir, query).pages
    except (PageSelectionError, FileNotFoundError) as exc:
        raise PredictStepError(str(exc)) from None
    except ValueError as exc:  # BadImage
        raise PredictStepError(str(exc)) from None


def _predictor(entry, run_dir: Path | None, request: PredictRequest, cache):
    factory = entry.predictor
    params = _params(factory)
    checkpoint = request.checkpoint
    if checkpoint is None and run_dir is not None and "checkpoint" in params:
        folder = models_dir(run_dir, request.model)
        if "iteration" in params:
            checkpoint = folder
        else:
            k = request.iteration if request.iteration is not None else latest_iteration(run_dir, request.model)
            checkpoint = folder / f"it{k:03d}" if k is not None else None
    values = {"checkpoint": checkpoint, "iteration": request.iteration, "word_source": request.word_source,
              "ocr_cache": cache, "predict_cmd": request.predict_cmd, "profile": request.profile or "default"}
    kwargs = _named(factory, {k: v for k, v in values.items() if v is not None or k == "iteration"})
    if _takes_kwargs(factory):
        kwargs.update(request.options)
    if "checkpoint" in params and checkpoint is None and params["checkpoint"].default is inspect_empty():
        raise PredictStepError(f"model {request.model!r} needs a trained checkpoint: engine train RUN --model "
                               f"{request.model}, or --checkpoint DIR")
    try:
        return factory(**kwargs)
    except FileNotFoundError as exc:
        raise PredictStepError(str(exc)) from None


def inspect_empty():
    import inspect

    return inspect.Parameter.empty
