"""``engine evaluate``: predictions in, error tables, catalog views and a summary out.

Steps: read the gold (catalog, read-only) -> read and check the predictions (``strict``: the first
problem raises before anything is written) -> score -> write the four shards -> list them (the
catalog's views then show the new rows) -> rebuild the ``slices`` view -> write summary.json.
Shards for a name live at fixed paths, so evaluating a name again replaces its rows: each shard is
written under a temporary name and renamed over the old one, then relisted.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from docfactory.engine import storage
from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation.ceiling import ocr_ceiling
from docfactory.engine.evaluation.gold import load_copies, load_gold
from docfactory.engine.evaluation.predictions import PredictionsError, read_predictions
from docfactory.engine.evaluation.scoring import ScoringOptions, score_pages
from docfactory.engine.evaluation.slices import refresh_slices_view
from docfactory.engine.evaluation.summary import build_summary, write_summary
from docfactory.engine.lock import run_lock
from docfactory.engine.shards import ShardInfo, verify_listed, write_shard
from docfactory.evaluate.match_rules import check_rule

EVAL_KINDS = ("doc_scores", "field_errors", "table_errors", "prediction_errors")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass
class EvaluationResult:
    name: str
    summary: dict[str, Any]
    summary_path: Path | str  # a URL when the run is at one
    shards: list[ShardInfo] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def pages(self) -> int:
        return self.summary["overall"]["pages"]


def shard_path(kind: str, name: str) -> str:
    return f"shards/{kind}/{name}/part-00000.parquet"


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"bad evaluation name {name!r}: use letters, digits, '_', '-' or '.', starting with a "
                         "letter or digit (it names a folder and a catalog entry)")
    return name


def evaluate_run(run_dir: Path | str, predictions: Path | str, name: str | None = None, strict: bool = False,
                 options: ScoringOptions | None = None, splits: list[str] | None = None,
                 match: str | None = None) -> EvaluationResult:
    """Score ``predictions`` (JSONL) against the run's documents under ``name`` (default: the
    file's stem); with ``splits``, only those splits' pages are gold (the rest need no prediction);
    with ``match`` (a rule of evaluate.match_rules, e.g. "sroie"), field_errors.match and the
    summary's per-field accuracy follow the dataset's official string match too.
    Raises PredictionsError (strict), FileNotFoundError, ValueError (bad name, split or rule)."""
    started = time.perf_counter()
    run_dir, predictions = storage.run_root(run_dir), Path(predictions)  # the run: a folder or an fsspec URL
    name = check_name(name or predictions.stem)
    options = options or ScoringOptions()
    if match:
        options = replace(options, match=check_rule(match))
    if not predictions.is_file():
        raise FileNotFoundError(f"{predictions}: no such predictions file")
    with run_lock(run_dir, create=False):  # one writer per run, whoever calls (engine.lock; re-entrant)
        return _evaluate(run_dir, predictions, name, strict, options, splits, started)


def _evaluate(run_dir, predictions: Path, name: str, strict: bool, options: ScoringOptions, splits, started: float):
    verify_listed(run_dir, ("documents", "augmented"))  # a corrupt gold shard is refused by name
    with open_catalog(run_dir, read_only=True) as catalog:
        gold = load_gold(catalog, splits)
        copies = {k: v for k, v in load_copies(catalog).items() if (k[0], k[1]) in gold}
        ceiling = ocr_ceiling(catalog, set(gold))
    read = read_predictions(predictions, set(gold), set(copies), strict=strict)
    missing = {(i.doc_id, i.page, i.copy): i.error for i in read.issues if i.error == "missing_prediction"}
    results = score_pages(name, read.predictions, gold, read.tasks, options, missing)

    issue_rows = [{"name": name, **asdict(issue)} for issue in read.issues]
    rows = {
        "doc_scores": [r.score for r in results],
        "field_errors": [row for r in results for row in r.field_rows],
        "table_errors": [row for r in results for row in r.table_rows],
        "prediction_errors": issue_rows,
    }
    shards = [write_shard(run_dir, shard_path(kind, name), kind, rows[kind]) for kind in EVAL_KINDS]
    with open_catalog(run_dir) as catalog:
        for info in shards:
            catalog.add_shard(info)
        refresh_slices_view(catalog)
    summary = build_summary(name, predictions, results, read.issues, read.lines, read.tasks, copies, options.match, ceiling)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary_path = storage.location(run_dir, f"eval/{name}/summary.json")
    summary_path = summary_path if storage.is_url(summary_path) else Path(summary_path)
    write_summary(summary_path, summary)
    return EvaluationResult(name, summary, summary_path, shards, time.perf_counter() - started)


__all__ = ["EVAL_KINDS", "EvaluationResult", "PredictionsError", "check_name", "evaluate_run", "shard_path"]
