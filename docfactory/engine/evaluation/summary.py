"""Aggregate scored pages into ``summary.json`` (overall and per slice) and the run's leaderboard.

Aggregates follow the references: TEDS and TEDS-S are means over tables (PubTabNet), ``ted_acc`` a
mean over pages (Donut), ``field_f1`` Donut's corpus micro-F1, ``field_exact_rate`` exact gold
values / gold values, CER and WER corpus rates (all edits / all gold characters or words), and
``numeric_ok_rate`` the share of checked pages whose document adds up (a page is checked when at least
one relation had all its values: ``numeric_checked_share``), ``tables_failed`` the gold tables whose
scoring raised or timed out (each 0 in the TEDS means). A metric whose task the
predictions file does not answer is null.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from statistics import fmean
from typing import Any

from docfactory.engine import storage
from docfactory.engine.evaluation.predictions import PredictionIssue
from docfactory.engine.evaluation.scoring import PageResult
from docfactory.evaluate import corpus_cer, corpus_wer, field_f1

SLICE_DIMENSIONS = ("template", "kind", "locale", "preset")
LEADERBOARD_COLUMNS = ("name", "pages", "teds", "teds_s", "ted_acc", "field_f1", "numeric_ok_rate", "cer", "errors")


def aggregate(results: list[PageResult]) -> dict[str, Any]:
    """Corpus-level scores over some scored pages."""
    tables = [row for r in results for row in r.table_rows]
    fielded = [r for r in results if r.pred_tree is not None]
    gold_values = [row for r in fielded for row in r.field_rows if row["gold"] is not None]
    texted = [r for r in results if r.pred_text is not None]
    numeric = [r.score["numeric_ok"] for r in results if r.score["numeric_ok"] is not None]
    return {
        "pages": len(results),
        "tables": len(tables),
        "teds": _mean(row["teds"] for row in tables),
        "teds_s": _mean(row["teds_s"] for row in tables),
        "ted_acc": _mean(r.score["ted_acc"] for r in results),
        "field_f1": field_f1([r.pred_tree for r in fielded], [r.gold.tree for r in fielded]) if fielded else None,
        "field_exact_rate": sum(row["exact"] for row in gold_values) / len(gold_values) if gold_values else None,
        "numeric_ok_rate": sum(numeric) / len(numeric) if numeric else None,
        "numeric_checked_share": len(numeric) / len(fielded) if fielded else None,
        "match_accuracy": _share(row["match"] for row in gold_values),
        "cer": corpus_cer([r.pred_text for r in texted], [r.gold.text for r in texted]) if texted else None,
        "wer": corpus_wer([r.pred_text for r in texted], [r.gold.text for r in texted]) if texted else None,
        "field_errors": dict(Counter(row["error_type"] for r in results for row in r.field_rows if row["error_type"])),
        "table_errors": dict(Counter(row["error"] for row in tables if row["error"])),
        "tables_failed": sum(1 for row in tables if row["error"] and row["error"] not in ("missing_table", "extra_table",
                                                                                             "unparsable_html")),
        "pages_with_errors": sum(r.score["error"] is not None for r in results),
    }


def build_summary(name: str, predictions: Path, results: list[PageResult], issues: list[PredictionIssue],
                  lines: int, tasks: set[str], presets: dict[tuple, tuple[str, float]], match: str | None = None,
                  ceiling: dict[str, Any] | None = None) -> dict[str, Any]:
    def slice_of(r: PageResult, dimension: str) -> str:
        if dimension == "preset":
            p = r.prediction
            return "none" if p.copy is None else presets[(p.doc_id, p.page, p.copy)][0]
        return getattr(r.gold, dimension)

    slices: dict[str, dict[str, Any]] = {}
    for dimension in SLICE_DIMENSIONS:
        groups: dict[str, list[PageResult]] = defaultdict(list)
        for r in results:
            groups[slice_of(r, dimension)].append(r)
        slices[dimension] = {value: aggregate(group) for value, group in sorted(groups.items())}
    return {
        "name": name,
        "predictions": str(predictions),
        "lines": lines,
        "tasks": sorted(tasks),
        "prediction_errors": {"total": len(issues), **Counter(issue.error for issue in issues)},
        "overall": aggregate(results),
        "match": match_by_field(results, match) if match else None,
        "ocr_ceiling": ceiling,
        "slices": slices,
    }


def match_by_field(results: list[PageResult], rule: str) -> dict[str, Any]:
    """Accuracy under the dataset's match rule per field pattern (gold values right / gold values),
    and their mean: SROIE's per-key accuracy and the mean of its four keys."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        for row in r.field_rows:
            if row["gold"] is not None and row.get("match") is not None:
                counts[row["field_pattern"]][0] += bool(row["match"])
                counts[row["field_pattern"]][1] += 1
    fields = {f: {"right": k, "values": n, "accuracy": k / n} for f, (k, n) in sorted(counts.items())}
    return {"rule": rule, "fields": fields,
            "mean_of_fields": fmean(v["accuracy"] for v in fields.values()) if fields else None}


def write_summary(path: Path | str, summary: dict[str, Any]) -> None:
    """Write atomically (temporary name, fsync, rename), like a shard; at a URL in one PUT."""
    if storage.is_url(path):
        storage.write_bytes(str(path), (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2, ensure_ascii=False, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def leaderboard(run_dir: Path | str) -> list[dict[str, Any]]:
    """One row per evaluated prediction name in the run (RUN/eval/<name>/summary.json), best
    field F1 first, then best TEDS."""
    rows = []
    for summary in _summaries(run_dir):
        overall = summary["overall"]
        rows.append({"name": summary["name"], "pages": overall["pages"], "teds": overall["teds"],
                     "teds_s": overall["teds_s"], "ted_acc": overall["ted_acc"], "field_f1": overall["field_f1"],
                     "numeric_ok_rate": overall["numeric_ok_rate"], "cer": overall["cer"],
                     "errors": summary["prediction_errors"]["total"]})
    return sorted(rows, key=lambda r: (-(r["field_f1"] or -1), -(r["teds"] or -1), r["name"]))


def _summaries(run_dir: Path | str) -> list[dict[str, Any]]:
    if not storage.is_url(run_dir):
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(run_dir).glob("eval/*/summary.json"))]
    fs, root = storage.filesystem(storage.run_root(run_dir))
    return [json.loads(fs.cat_file(p)) for p in sorted(fs.glob(f"{root}/eval/*/summary.json"))]


def _share(flags) -> float | None:
    kept = [bool(f) for f in flags if f is not None]
    return sum(kept) / len(kept) if kept else None


def _mean(values) -> float | None:
    kept = [v for v in values if v is not None]
    return fmean(kept) if kept else None
