"""`engine predict RUN --model NAME --split test --out preds.jsonl` (or `--images DIR`): pages in,
the predictions JSONL that `engine evaluate` reads out.

Pages come from the run (clean pages, augmented copies, a split, some doc ids) or from a folder of
image files (doc_id = file stem, page 0). The predictor is built from the registry with what its
signature names: `checkpoint` (default: the run's models/NAME folder), `iteration`, `word_source`,
`ocr_cache` (the run's `ocr` shards), `predict_cmd`, `profile`; a catch-all **options predictor
gets the `--set` options. Each row is checked (doc_id, page and copy of a requested page, the
value types `engine evaluate` accepts) before it is written; the file is written to a temporary
name and renamed, so a failed prediction never leaves a half file behind.

The pages run through an executor (engine.executor: a local process pool or Ray) in fixed tasks,
one per shard holding chosen pages (a document index range), and the file is written sorted by
(doc_id, page, copy): the same bytes whatever the executor or worker count. Each worker process
loads the model once. A page the model raises on is a row with its `error` (engine evaluate records
it as a predictor_error and scores the rest); a task that fails as a whole fails the step.
"""

from __future__ import annotations

import inspect
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from docfactory.engine.lock import locks_run
from docfactory.engine import storage
from docfactory.engine.executor import Executor, TaskError, describe, executor_for
from docfactory.engine.ocr_cache import SnapshotOcrCache, listed_shards, write_entries
from docfactory.engine.page_inputs import (PageQuery, PageSelectionError, ShardPages, image_pages, page_order,
                                           read_shard_pages, select_pages)
from docfactory.engine.train_step import _named, _params, _takes_kwargs, latest_iteration
from docfactory.train import PageInput, get_model


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
    errors: list[str] = field(default_factory=list)  # "doc page N: reason" of pages the model raised on


@locks_run(create=False)
def run_predict(run_dir: Path | str | None, request: PredictRequest, on_page: Callable[[int, int], None] | None = None,
                executor: Executor | None = None, workers: int = 1) -> PredictResult:
    """Predict the requested pages; `executor` runs the tasks (default: a local pool of `workers`
    processes; one worker runs in this process)."""
    started = time.perf_counter()
    root = storage.run_root(run_dir) if run_dir is not None else None
    try:
        entry = get_model(request.model)
    except KeyError as exc:
        raise PredictStepError(str(exc).strip("'\"")) from None
    if root is not None and request.images is None:
        from docfactory.engine.shards import verify_listed

        verify_listed(root, ("documents", "augmented"))  # a corrupt page shard is refused by name
    tasks = _tasks(root, request)
    total = sum(len(task) for task in tasks)
    if not total:
        raise PredictStepError("no pages match (check --split, --copies, --preset)")
    setup = _setup(entry, root, request)
    lines: dict[tuple, str] = {}
    errors: dict[tuple, str] = {}
    ocr = _OcrWriter(root)
    try:
        with executor_for(executor, workers) as ex:
            for task, result in ex.map(predict_task, tasks, setup):
                if isinstance(result, TaskFailure):
                    raise result.error
                if isinstance(result, TaskError):  # e.g. a worker lost more often than max_retries
                    raise PredictStepError(f"predicting {task.name} failed: {result.reason}")
                rows, new_words, hits, misses = result
                expected = task.keys()
                for row in rows:
                    key = check_row(row, expected, lines, len(lines) + 1)
                    lines[key] = json.dumps(row, ensure_ascii=False)
                    if row.get("error"):
                        errors[key] = f"{key[0]} page {key[1]}{'' if key[2] is None else f' copy {key[2]}'}: {row['error']}"
                ocr.add(new_words, hits, misses)
                if on_page:
                    on_page(len(lines), total)
    finally:
        ocr.close()
        _WORKER.clear()  # the model this process loaded (one worker: in this process) is not kept
    _write_lines(request.out, [lines[key] for key in sorted(lines, key=page_order)])
    return PredictResult(request.out, len(lines), time.perf_counter() - started, ocr.hits, ocr.misses,
                         [errors[key] for key in sorted(errors, key=page_order)])


@dataclass(frozen=True)
class _PredictTask:
    """One shard's chosen pages of a run (`part`), or a fixed chunk of image files (`images`)."""

    name: str
    part: ShardPages | None = None
    images: tuple[PageInput, ...] = ()

    def __len__(self) -> int:
        return len(self.part) if self.part is not None else len(self.images)

    def keys(self) -> set[tuple]:
        if self.part is not None:
            return set(self.part.splits)
        return {(p.doc_id, p.page, p.copy) for p in self.images}

    def pages(self) -> list[PageInput]:
        return read_shard_pages(self.part) if self.part is not None else list(self.images)


@dataclass(frozen=True)
class _Setup:
    """What every task needs to build the predictor (sent to the workers once)."""

    model: str
    root: str | None
    checkpoint: str | None  # a local folder or a URL (downloaded by the task)
    kwargs: str  # JSON of the factory's other arguments
    ocr_shards: tuple[str, ...]


IMAGES_PER_TASK = 32
_WORKER: dict[_Setup, tuple[Any, SnapshotOcrCache]] = {}  # one predictor per worker process (local checkpoints)


@dataclass
class TaskFailure:
    """A task whose model could not be built, or failed on every page it was given: not a bad page
    but a broken model or command. The driver raises the exception itself (its type and message)."""

    error: BaseException


def predict_task(setup: _Setup, task: _PredictTask) -> tuple[list[dict], list[dict], int, int] | TaskFailure:
    """Worker: (prediction rows, OCR words read, OCR cache hits, misses) for one task's pages. The
    model loads once per process (once per task when its checkpoint is at a URL). A page the model
    raises on, while it answers the task's other pages, becomes a row with its `error`."""
    pages = task.pages()
    try:
        if setup.checkpoint is not None and storage.is_url(setup.checkpoint):
            with storage.private_dir("docfactory-model-") as folder:
                local = storage.download(setup.checkpoint, folder / "checkpoint")
                predictor, cache = _build(setup, str(local), SnapshotOcrCache(setup.root, setup.ocr_shards))
                rows = _predict_pages(predictor, pages)
        else:
            if setup not in _WORKER:
                _WORKER.clear()
                _WORKER[setup] = _build(setup, setup.checkpoint, SnapshotOcrCache(setup.root, setup.ocr_shards))
            predictor, cache = _WORKER[setup]
            rows = _predict_pages(predictor, pages)
    except Exception as exc:  # noqa: BLE001 - raised again by the driver, with its own type
        return TaskFailure(exc)
    return (rows, *cache.take_new())


def _build(setup: _Setup, checkpoint: str | None, cache: SnapshotOcrCache):
    kwargs = json.loads(setup.kwargs)
    factory = get_model(setup.model).predictor
    params = _params(factory)
    if "checkpoint" in params and checkpoint is not None:
        kwargs["checkpoint"] = Path(checkpoint)
    if "ocr_cache" in params:
        kwargs["ocr_cache"] = cache
    try:
        return factory(**kwargs), cache
    except FileNotFoundError as exc:
        raise PredictStepError(str(exc)) from None


def _predict_pages(predictor, pages: list[PageInput]) -> list[dict]:
    try:
        return list(predictor.predict(pages))
    except Exception as first:  # noqa: BLE001 - find the page(s) it fails on; the rest are answered
        if len(pages) == 1:
            raise
        rows: list[dict] = []
        for page in pages:
            try:
                rows.extend(predictor.predict([page]))
            except Exception as exc:  # noqa: BLE001 - the page's error row (engine evaluate: predictor_error)
                rows.append(_error_row(page, exc))
        if all(row.get("error") for row in rows):
            raise first
        return rows


def _error_row(page: PageInput, exc: BaseException) -> dict:
    row = {"doc_id": page.doc_id, "page": page.page}
    if page.copy is not None:
        row["copy"] = page.copy
    row["error"] = describe(exc)
    return row


class _OcrWriter:
    """The driver's side of the OCR cache: words the workers read, written as `ocr` shards every
    FLUSH_ROWS (a killed step loses at most that much OCR work) and at the end."""

    FLUSH_ROWS = 256

    def __init__(self, root: str | None):
        self.root, self.pending, self.keys = root, [], set()
        self.hits = self.misses = 0

    def add(self, rows: list[dict], hits: int, misses: int) -> None:
        self.hits, self.misses = self.hits + hits, self.misses + misses
        for row in rows:
            if row["key"] not in self.keys:  # two workers may read the same image
                self.keys.add(row["key"])
                self.pending.append(row)
        if len(self.pending) >= self.FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.root is not None and self.pending:
            write_entries(self.root, sorted(self.pending, key=lambda r: r["key"]))
        self.pending = []

    def close(self) -> None:
        self.flush()


def _write_lines(out: Path, lines: list[str]) -> None:
    """Temporary name, fsync, rename: a failed prediction never leaves a half file behind."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{os.getpid()}-{out.name}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


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


def _tasks(root: str | None, request: PredictRequest) -> list[_PredictTask]:
    """Fixed tasks, whatever the worker count: one per shard holding chosen pages (by document index
    range), or fixed chunks of the sorted image files."""
    try:
        if request.images is not None:
            pages = image_pages(request.images)
            return [_PredictTask(f"images {start}-{start + len(chunk) - 1}", images=tuple(chunk))
                    for start, chunk in ((i, pages[i:i + IMAGES_PER_TASK]) for i in range(0, len(pages), IMAGES_PER_TASK))]
        if root is None:
            raise PredictStepError("give a run folder, or --images DIR")
        query = PageQuery(splits=request.splits, copies=request.copies, presets=request.presets, doc_ids=request.doc_ids,
                          holdout_templates=request.holdout_templates, limit=request.limit)
        return [_PredictTask(part.shard["path"], part=part) for part in select_pages(root, query)]
    except (PageSelectionError, FileNotFoundError) as exc:
        raise PredictStepError(str(exc)) from None
    except ValueError as exc:  # BadImage
        raise PredictStepError(str(exc)) from None


def _setup(entry, root: str | None, request: PredictRequest) -> _Setup:
    factory = entry.predictor
    params = _params(factory)
    checkpoint = str(request.checkpoint.resolve()) if request.checkpoint is not None else None
    if checkpoint is None and root is not None and "checkpoint" in params:
        folder = storage.location(root, f"models/{request.model}")
        if "iteration" in params:
            checkpoint = folder if storage.exists(root, f"models/{request.model}") else None
        else:
            k = request.iteration if request.iteration is not None else latest_iteration(root, request.model)
            checkpoint = f"{folder}/it{k:03d}" if k is not None else None
    if "checkpoint" in params and checkpoint is None and params["checkpoint"].default is inspect.Parameter.empty:
        raise PredictStepError(f"model {request.model!r} needs a trained checkpoint: engine train RUN --model "
                               f"{request.model}, or --checkpoint DIR")
    values = {"iteration": request.iteration, "word_source": request.word_source, "predict_cmd": request.predict_cmd,
              "profile": request.profile or "default"}
    kwargs = _named(factory, {k: v for k, v in values.items() if v is not None or k == "iteration"})
    if _takes_kwargs(factory):
        kwargs.update(request.options)
    try:
        text = json.dumps(kwargs, sort_keys=True)
    except TypeError as exc:
        raise PredictStepError(f"--set options must be plain values: {exc}") from None
    shards = tuple(listed_shards(root)) if root is not None and "ocr_cache" in params else ()
    return _Setup(request.model, root, checkpoint, text, shards)
