"""Score predictions against gold pages: one ``doc_scores`` row per page, ``field_errors`` rows per
leaf value, ``table_errors`` rows per table slot.

Tables are scored in one ``teds_many`` batch (worker processes, a time limit per table): a table
that raises or runs out of time is an error row with its reason (and 0 in the means, below).
A gold table the model did not answer scores 0 (``missing_table``), an extra predicted table scores
0 (``extra_table``), a predicted string without a ``<table>`` scores 0 (``unparsable_html``), and a
table whose scoring raised or timed out scores 0 with the exception as its error: one rule, so a model
that emits broken spans never scores higher than one that emits none. Tables pair by position, as
PubTabNet pairs one table per image.

Numeric consistency is a property of a whole document (a subtotal on page 2 sums items from page 1),
so each (doc_id, copy)'s predicted pages are merged in page order (item lists concatenated) and
checked once; the verdict is repeated on each of its pages.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from docfactory.engine.evaluation.gold import GoldPage, field_paths
from docfactory.engine.evaluation.predictions import Prediction
from docfactory.evaluate import cer, compare_fields, field_f1, ted_accuracy, teds_many, wer
from docfactory.evaluate.match_rules import matches
from docfactory.evaluate.numeric import numeric_consistency


@dataclass
class ScoringOptions:
    workers: int = 1  # TEDS worker processes (0: in this process, no time limit)
    table_timeout_s: float = 30.0
    executor: Any = None  # an engine.executor.Executor: pages scored there in fixed document ranges
    pages_per_task: int = 128  # executor tasks hold whole documents (numbers are checked per document)
    match: str | None = None  # a dataset match rule (evaluate.match_rules) for field_errors.match


@dataclass
class PageResult:
    """A scored page: its rows, and what the summary needs to aggregate corpus-level metrics."""

    prediction: Prediction
    gold: GoldPage
    score: dict[str, Any]
    field_rows: list[dict] = field(default_factory=list)
    table_rows: list[dict] = field(default_factory=list)
    pred_tree: dict | None = None  # None when the fields task is not scored
    pred_text: str | None = None


def score_pages(name: str, predictions: list[Prediction], gold: dict[tuple[str, int], GoldPage], tasks: set[str],
                options: ScoringOptions, errors: dict[tuple, str] | None = None) -> list[PageResult]:
    """Score every prediction; ``errors`` maps a page key to the reason recorded on its row. With
    an executor, fixed ranges of whole documents (sorted by doc_id) are scored as its tasks, each
    with its own TEDS time limits; every page's rows are the same as when scored here."""
    errors = errors or {}
    if options.executor is None:
        return _score(name, predictions, gold, tasks, options, errors)
    from docfactory.engine.executor import TaskError

    in_task = ScoringOptions(min(options.workers, 1), options.table_timeout_s, match=options.match)  # a TEDS process per task (0: none)
    results: list[PageResult | None] = [None] * len(predictions)
    chunks = []
    for indexes in document_ranges(predictions, options.pages_per_task):
        preds = [predictions[i] for i in indexes]
        chunks.append((indexes, preds, {(p.doc_id, p.page): gold[(p.doc_id, p.page)] for p in preds},
                       {p.key: errors[p.key] for p in preds if p.key in errors}))
    for (indexes, preds, _, _), outcome in options.executor.map(_score_chunk, chunks, name, tasks, in_task):
        if isinstance(outcome, TaskError):
            raise RuntimeError(f"scoring pages of {preds[0].doc_id} .. {preds[-1].doc_id} failed: {outcome.reason}")
        for index, result in zip(indexes, outcome):
            results[index] = result
    return results


def document_ranges(predictions: list[Prediction], size: int) -> list[list[int]]:
    """Indexes of the predictions in fixed ranges of whole documents, in doc_id order."""
    by_doc: dict[str, list[int]] = defaultdict(list)
    for index, p in enumerate(predictions):
        by_doc[p.doc_id].append(index)
    ranges, current = [], []
    for doc_id in sorted(by_doc):
        current.extend(by_doc[doc_id])
        if len(current) >= size:
            ranges.append(current)
            current = []
    return ranges + ([current] if current else [])


def _score_chunk(name: str, tasks: set[str], options: ScoringOptions, chunk) -> list[PageResult]:
    _, predictions, gold, errors = chunk
    return _score(name, predictions, gold, tasks, options, errors)


def _score(name: str, predictions: list[Prediction], gold: dict[tuple[str, int], GoldPage], tasks: set[str],
           options: ScoringOptions, errors: dict[tuple, str]) -> list[PageResult]:
    results = [_score_page(name, p, gold[(p.doc_id, p.page)], tasks, errors.get(p.key), options.match) for p in predictions]
    if "tables" in tasks:
        _score_tables(name, results, options)
    if "fields" in tasks:
        _check_numbers(results)
    return results


def _base(name: str, p: Prediction) -> dict[str, Any]:
    return {"doc_id": p.doc_id, "page": p.page, "copy": p.copy, "name": name}


def _score_page(name: str, p: Prediction, g: GoldPage, tasks: set[str], error: str | None,
                rule: str | None = None) -> PageResult:
    score = {**_base(name, p), "line": p.line, "teds": None, "teds_s": None, "ted_acc": None, "field_f1": None,
             "field_exact_rate": None, "numeric_ok": None, "numeric_violations": [], "cer": None, "wer": None,
             "n_fields": g.n_fields, "n_tables": len(g.tables), "error": error}
    result = PageResult(p, g, score)
    if "fields" in tasks:
        pred = p.fields or {}
        try:
            score["ted_acc"] = ted_accuracy(pred, g.tree)
            score["field_f1"] = field_f1([pred], [g.tree])
            comparisons = compare_fields(pred, g.tree)
        except Exception as exc:  # noqa: BLE001 - a prediction shaped oddly enough to break a metric is a row
            score["error"] = _join(score["error"], f"fields: {type(exc).__name__}: {exc}")
        else:
            result.pred_tree = pred
            result.field_rows = [_field_row(name, p, g, c, rule) for c in comparisons]
            gold_rows = [c for c in comparisons if c.gold is not None]
            score["field_exact_rate"] = sum(c.exact for c in gold_rows) / len(gold_rows) if gold_rows else None
    if "text" in tasks:
        result.pred_text = p.text or ""
        score["cer"], score["wer"] = cer(result.pred_text, g.text), wer(result.pred_text, g.text)
    return result


def _field_row(name: str, p: Prediction, g: GoldPage, c, rule: str | None) -> dict[str, Any]:
    path, pattern = field_paths(g, c.path)
    return {**_base(name, p), "field": path, "field_pattern": pattern, "gold": c.gold, "pred": c.pred,
            "exact": c.exact, "ned": c.ned, "numeric_match": c.numeric_match, "error_type": c.error_type,
            "match": matches(rule, c.pred, c.gold) if rule else None}


def _score_tables(name: str, results: list[PageResult], options: ScoringOptions) -> None:
    jobs: list[tuple[str, str]] = []
    slots: list[dict] = []  # rows waiting for a job's score
    for r in results:
        preds, golds = r.prediction.tables or [], r.gold.tables
        for index in range(max(len(preds), len(golds))):
            g = golds[index] if index < len(golds) else None
            row = {**_base(name, r.prediction), "table_index": index, "teds": 0.0, "teds_s": 0.0,
                   "rows": g.n_rows if g else None, "cols": g.n_cols if g else None,
                   "has_spans": g.has_spans if g else None, "error": None}
            if g is None:
                row["error"] = "extra_table"
            elif index >= len(preds):
                row["error"] = "missing_table"
            elif index in r.prediction.bad_tables:
                row["error"] = "unparsable_html"
            else:
                row["_job"] = len(jobs)
                jobs.append((preds[index], g.html))
            r.table_rows.append(row)
    full, structure = _teds_all(jobs, options)
    for r in results:
        for row in r.table_rows:
            job = row.pop("_job", None)
            if job is not None:
                row["teds"], row["teds_s"] = full[job].teds, structure[job].teds
                row["error"] = full[job].error or structure[job].error
                if row["teds"] is None or row["teds_s"] is None:
                    # Scoring raised (e.g. colspan="x") or timed out: the gold table was not answered
                    # in a form that scores, so it counts 0 in every mean; the error stays on the row.
                    row["teds"], row["teds_s"], row["_failed"] = row["teds"] or 0.0, row["teds_s"] or 0.0, True
        for metric in ("teds", "teds_s"):
            values = [row[metric] for row in r.table_rows if row[metric] is not None]
            r.score[metric] = fmean(values) if values else None
        failed = [f"table {row['table_index']}: {row['error']}" for row in r.table_rows if row.pop("_failed", False)]
        if failed:
            r.score["error"] = _join(r.score["error"], "; ".join(failed))


def _teds_all(jobs: list[tuple[str, str]], options: ScoringOptions) -> tuple[list, list]:
    """(TEDS, TEDS-S) results for every job, in the TEDS pool (a time limit per table)."""
    if not jobs:
        return [], []
    return (teds_many(jobs, workers=options.workers, timeout_s=options.table_timeout_s),
            teds_many(jobs, workers=options.workers, structure_only=True, timeout_s=options.table_timeout_s))


def merge_pages(trees: list[dict]) -> dict:
    """One document's page trees in page order: item lists concatenated, dicts merged."""
    merged: dict = {}
    for tree in trees:
        _merge_into(merged, copy.deepcopy(tree))  # merging must not change the pages' own trees
    return merged


def _merge_into(into: dict, tree: dict) -> None:
    for key, value in tree.items():
        have = into.get(key)
        if isinstance(have, list) and isinstance(value, list):
            into[key] = have + value
        elif isinstance(have, dict) and isinstance(value, dict):
            _merge_into(have, value)
        elif key not in into or have in (None, "", [], {}):
            into[key] = value


def _check_numbers(results: list[PageResult]) -> None:
    documents: dict[tuple, list[PageResult]] = defaultdict(list)
    for r in results:
        if r.pred_tree is not None:
            documents[(r.prediction.doc_id, r.prediction.copy)].append(r)
    for pages in documents.values():
        pages.sort(key=lambda r: r.prediction.page)
        gold = pages[0].gold
        check = numeric_consistency(gold.kind, merge_pages([r.pred_tree for r in pages]), gold.types, gold.locale)
        violations = check.violations + [f"{path}: not a number" for path in check.unreadable]
        for r in pages:
            r.score["numeric_ok"], r.score["numeric_violations"] = check.ok, violations


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second
