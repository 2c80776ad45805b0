"""Augment a run's clean pages: for each listed `documents` shard and each copy, one `augmented`
shard (the scan-like copies with their moved boxes) and one `lines` shard (line and word crops),
named after the documents shard, the configuration's tag and the copy:

    shards/documents/it000/part-00003.parquet
    shards/augmented/it000/part-00003-strong-c1.parquet
    shards/lines/it000/part-00003-strong-c1.parquet

Every sample's randomness comes from (document seed, page, copy), so shard bytes do not depend on
the worker count; a resumed run skips shard pairs the catalog lists, and asking for more copies
later only makes the new ones. Pages the legibility gate flags are written with legible=false;
in reject mode they are left out and listed in the `rejections` table (stage 'augment').
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


from docfactory.engine.lock import locks_run
from docfactory.engine import storage
from docfactory.engine.catalog import open_catalog
from docfactory.engine.executor import Executor, TaskError, describe, executor_for
from docfactory.engine.shards import ShardInfo, verify_all, write_shard
from docfactory.generators.augment import MIX, AugmentSettings, GateOptions, augment_page, presets

SOURCE_COLUMNS = ["doc_id", "template", "seed", "knobs", "page", "width", "height", "dpi", "image", "words",
                  "lines", "fields", "tables", "ground_truth", "split"]


@dataclass
class AugmentConfig:
    preset: str = "medium"  # a preset name or "mix"
    copies: int = 1
    seed: int = 0  # salt: another seed draws other copies of the same pages
    workers: int = 1
    overrides: dict = field(default_factory=dict)  # {kind: {param: value or [lo, hi]}}
    weights: dict = field(default_factory=dict)  # augment_preset / augment_p / augment_strength
    gate: dict = field(default_factory=dict)  # GateOptions fields
    levels: tuple[str, ...] = ("line", "word")
    iteration: int | None = None  # only this iteration's documents shards; None: all

    def settings(self) -> AugmentSettings:
        return AugmentSettings(preset=self.preset, overrides=self.overrides, weights=self.weights, salt=self.seed,
                               gate=GateOptions(**self.gate), levels=tuple(self.levels))


@dataclass
class AugmentSummary:
    tag: str = ""
    pages: int = 0  # augmented copies made (legible + flagged + rejected)
    legible: int = 0
    flagged: int = 0  # written with legible=false
    rejected: int = 0  # left out (gate mode reject)
    crops: int = 0
    skipped_crops: int = 0  # line/word boxes the border cut: no crop
    skipped_shards: int = 0
    presets: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    failed_shards: list[str] = field(default_factory=list)  # "path: reason" of tasks that failed (not listed)


@dataclass(frozen=True)
class _Task:
    source: str  # the documents shard, relative to the run folder
    copy: int
    iteration: int
    augmented: str
    lines: str


@dataclass(frozen=True)
class _Rejection:  # the shape Catalog.add_shard lists in `rejections`
    doc_id: str
    template: str
    stage: str
    reason: str


def output_path(source: str, kind: str, tag: str, copy: int) -> str:
    parts = source.split("/")
    stem = parts[-1].removesuffix(".parquet")
    return "/".join(["shards", kind, *parts[2:-1], f"{stem}-{tag}-c{copy}.parquet"])


def _iteration(source: str) -> int:
    match = re.search(r"/it(\d+)/", source)
    return int(match.group(1)) if match else 0


def make_augment_shards(run_dir: str, settings: AugmentSettings, task: _Task):
    """Worker: augment one documents shard's pages (one copy each) and write both shards."""
    rows = storage.read_table(run_dir, task.source, columns=SOURCE_COLUMNS).to_pylist()
    augmented, crops, rejections = [], [], []
    stats: dict[str, Any] = {"presets": Counter(), "reasons": Counter(), "legible": 0, "flagged": 0, "skipped_crops": 0}
    for row in rows:
        try:
            result = augment_page(row, task.copy, settings)
        except Exception as exc:  # noqa: BLE001 - one page that raises is an error row; the shard goes on
            reason = f"page {row['page']} copy {task.copy}: {describe(exc)}"
            rejections.append(_Rejection(row["doc_id"], row["template"], "error", reason))
            continue
        stats["presets"][result.preset] += 1
        stats["reasons"].update(r.split(":")[0] for r in result.legibility.reasons)
        stats["skipped_crops"] += result.skipped_crops
        if result.legibility.legible:
            stats["legible"] += 1
        elif result.row is not None:
            stats["flagged"] += 1
        if result.row is None:
            reason = f"page {row['page']} copy {task.copy}: " + "; ".join(result.legibility.reasons)
            rejections.append(_Rejection(row["doc_id"], row["template"], "augment", reason))
            continue
        augmented.append(result.row)
        crops.extend(result.crops)
    root = run_dir
    return (write_shard(root, task.augmented, "augmented", augmented), write_shard(root, task.lines, "lines", crops),
            rejections, stats)


@locks_run(create=False)
def run_augment(run_dir: Path | str, cfg: AugmentConfig,
                on_shard: Callable[[ShardInfo, int], None] | None = None,
                executor: Executor | None = None) -> AugmentSummary:
    """Augmented copies of every listed clean page; `on_shard(info, pages)` reports progress.
    `executor` runs the shard tasks (default: a local pool of cfg.workers processes)."""
    started = time.perf_counter()
    run_dir = storage.run_root(run_dir)  # a local folder or an fsspec URL
    from docfactory.engine.real_sets import refuse_real
    from docfactory.generators.augment.presets import AugmentError

    refuse_real(run_dir, "augment", AugmentError)
    settings = cfg.settings()  # validates the preset, overrides and gate before any work
    tag = settings.tag()
    summary = AugmentSummary(tag=tag)
    with open_catalog(run_dir) as catalog:
        names = list(presets()) if cfg.preset == MIX else [cfg.preset]
        catalog.claim_step(f"augment/{tag}", {
            "presets": {n: settings.resolved(n).describe() for n in names}, "weights": settings.knob_weights(),
            "salt": settings.salt, "gate": settings.gate.model_dump(), "levels": list(settings.levels)})
        sources = sorted(catalog.listed("documents"))
        if cfg.iteration is not None:
            sources = [s for s in sources if _iteration(s) == cfg.iteration]
        tasks = [_Task(s, k, _iteration(s), output_path(s, "augmented", tag, k), output_path(s, "lines", tag, k))
                 for s in sources for k in range(cfg.copies)]
        listed = set(catalog.listed("augmented")) | set(catalog.listed("lines"))
        todo = [t for t in tasks if t.augmented not in listed or t.lines not in listed]
        summary.skipped_shards = len(tasks) - len(todo)
        documents = catalog.listed("documents")
        verify_all(run_dir, {documents[t.source] for t in todo})  # a corrupt source is refused, by name

        def record(task: _Task, result) -> None:
            info_aug, info_lines, rejections, stats = result
            catalog.add_shard(info_aug, task.iteration, rejections)
            catalog.add_shard(info_lines, task.iteration)
            summary.pages += sum(stats["presets"].values())
            summary.legible += stats["legible"]
            summary.flagged += stats["flagged"]
            summary.rejected += len(rejections)
            summary.crops += info_lines.rows
            summary.skipped_crops += stats["skipped_crops"]
            summary.presets.update(stats["presets"])
            summary.reasons.update(stats["reasons"])
            if on_shard:
                on_shard(info_aug, sum(stats["presets"].values()))

        with executor_for(executor, cfg.workers) as ex, catalog.deferred_views():
            for task, result in ex.map(make_augment_shards, todo, str(run_dir), settings):
                if isinstance(result, TaskError):
                    catalog.add_failure(task.augmented, "augment", result.reason)
                    summary.failed_shards.append(f"{task.augmented}: {result.reason}")
                else:
                    record(task, result)
        if todo:
            # Evaluations made before these copies existed would not slice by preset otherwise.
            from docfactory.engine.evaluation import refresh_slices_view

            refresh_slices_view(catalog)
    summary.seconds = time.perf_counter() - started
    return summary
