"""The emit step: for every listed documents shard, a `pairs` shard and a `pretrain` shard with the
same part name (shards/documents/it000/part-00003.parquet -> shards/pairs/it000/part-00003.parquet).

Shards are written atomically and listed in the catalog last, so a resumed emit skips what is
listed. Every output depends only on its documents shard and the emit settings, so the bytes are
the same whatever the worker count. The settings (seed, splits, image copy, options) are recorded
per kind as the catalog's `emit/pairs` and `emit/pretrain` steps: emitting again with other
settings is refused unless `redo` drops the old shards, so one run never mixes two split assignments.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal


from docfactory.engine.lock import locks_run
from docfactory.engine import storage
from docfactory.engine.catalog import Catalog, StepConfigMismatch, open_catalog
from docfactory.engine.emit.blocks import page_blocks
from docfactory.engine.emit.pairs import ImageRef, PairOptions, page_pairs
from docfactory.engine.emit.pretrain import PretrainOptions, pretrain_row
from docfactory.engine.emit.splits import SplitConfig
from docfactory.engine.executor import ErrorRow, Executor, TaskError, describe, executor_for
from docfactory.engine.shards import ShardInfo, verify_all, write_shard

KINDS = ("pairs", "pretrain")
AUGMENTED = "augmented"


class EmitError(RuntimeError):
    pass


@dataclass
class EmitConfig:
    pairs: bool = True
    pretrain: bool = True
    seed: int = 0
    splits: SplitConfig = field(default_factory=SplitConfig)
    image: Literal["clean", "augmented"] = "clean"
    pair_options: PairOptions = field(default_factory=PairOptions)
    pretrain_options: PretrainOptions = field(default_factory=PretrainOptions)
    workers: int = 1
    redo: bool = False  # drop this run's pairs/pretrain shards first (to emit with new settings)

    def kinds(self) -> list[str]:
        return [k for k in KINDS if getattr(self, k)]

    def settings(self, kind: str) -> dict:
        common = {"seed": self.seed, "splits": self.splits.model_dump(mode="json")}
        if kind == "pairs":
            return common | {"image": self.image, "options": self.pair_options.model_dump(mode="json")}
        return common | {"options": self.pretrain_options.model_dump(mode="json")}


@dataclass
class EmitSummary:
    pairs: int = 0
    pretrain_pages: int = 0
    shards: int = 0
    skipped_shards: int = 0
    tasks: Counter = field(default_factory=Counter)
    splits: Counter = field(default_factory=Counter)  # pages per split
    clean_fallback: int = 0  # pages asked for an augmented image that had none
    seconds: float = 0.0
    rejected: int = 0  # pages whose pairs or pretraining row raised (rejections rows, stage 'error')
    failed_shards: list[str] = field(default_factory=list)  # "path: reason" of tasks that failed (not listed)


@dataclass(frozen=True)
class _Task:
    source: str  # documents shard, relative to the run
    targets: tuple[tuple[str, str], ...]  # (kind, relative path) still to write
    iteration: int


def target_path(documents_path: str, kind: str) -> str:
    prefix = "shards/documents/"
    rest = documents_path[len(prefix):] if documents_path.startswith(prefix) else Path(documents_path).name
    return f"shards/{kind}/{rest}"


def _step(kind: str) -> str:
    return f"emit/{kind}"


def recorded_settings(catalog: Catalog) -> dict[str, dict]:
    """{kind: settings} of the emit steps this run has claimed (see Catalog.claim_step)."""
    exists = catalog.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'step_configs'").fetchone()[0]
    if not exists:
        return {}
    rows = catalog.sql("SELECT step, config FROM step_configs WHERE step IN (?, ?)", [_step(k) for k in KINDS]).fetchall()
    return {step.split("/", 1)[1]: json.loads(config) for step, config in rows}


def recorded_splits(catalog: Catalog) -> SplitConfig | None:
    """The split settings this run was emitted with, or None before any emit."""
    settings = recorded_settings(catalog)
    for kind in KINDS:
        if kind in settings:
            return SplitConfig.model_validate(settings[kind]["splits"])
    return None


def _claim(catalog: Catalog, cfg: EmitConfig) -> None:
    """Claim the emit steps with cfg's settings (after --redo dropped the old shards and claims).
    Pairs and pretraining pages of one run must share one split assignment."""
    recorded = recorded_settings(catalog)
    for kind in set(KINDS) - set(cfg.kinds()):
        if kind in recorded and catalog.listed(kind) and \
                SplitConfig.model_validate(recorded[kind]["splits"]) != cfg.splits:
            raise EmitError(f"{catalog.run_dir}: {kind} shards were emitted with other splits "
                            f"({json.dumps(recorded[kind]['splits'])}); emit with those, or --redo both kinds")
    for kind in cfg.kinds() if cfg.redo else ():
        catalog.sql("DELETE FROM shards WHERE kind = ?", [kind])
        catalog.sql("DELETE FROM step_configs WHERE step = ?", [_step(kind)])
        catalog.refresh_view(kind)
    for kind in cfg.kinds():
        try:
            catalog.claim_step(_step(kind), cfg.settings(kind))
        except StepConfigMismatch as exc:
            raise EmitError(f"{exc}; or pass --redo to drop this run's {kind} shards and emit them again") from None


def _augmented_index(catalog: Catalog) -> dict[tuple[str, int], tuple[str, int, int]]:
    """(doc_id, page) -> (augmented shard, row, copy): each page's lowest legible copy."""
    paths = sorted(catalog.listed(AUGMENTED))
    if not paths:
        raise EmitError(f"--image augmented: {catalog.run_dir} has no {AUGMENTED} shards (listed kinds: "
                        f"{', '.join(sorted({i.kind for i in catalog.listed().values()}))}); run `engine augment` first")
    verify_all(catalog.root, catalog.listed(AUGMENTED).values())  # a corrupt one is refused, by name
    index: dict[tuple[str, int], tuple[str, int, int]] = {}
    for path in paths:
        names = set(storage.read_schema(catalog.root, path).names)
        missing = {"doc_id", "page", "copy", "image", "width", "height", "lines", "fields", "tables"} - names
        if missing:
            raise EmitError(f"{path}: an augmented shard needs columns {sorted(missing)} for pairs")
        columns = ["doc_id", "page", "copy"] + (["legible"] if "legible" in names else [])
        for row, rec in enumerate(storage.read_table(catalog.root, path, columns=columns).to_pylist()):
            key = (rec["doc_id"], rec["page"])
            if rec.get("legible", True) is not False and (key not in index or (rec["copy"], path) < (index[key][2], index[key][0])):
                index[key] = (path, row, rec["copy"])
    return index


def emit_shard(run_dir: str, cfg: EmitConfig, task: _Task, augmented: dict | None = None):
    """Worker: read one documents shard, write its pairs and pretrain shards. Returns
    (infos, task counts, split counts, clean fallbacks, error rows)."""
    run = run_dir  # a local folder or an fsspec URL
    kinds = {kind for kind, _ in task.targets}
    columns = None if "pretrain" in kinds else [n for n in storage.read_schema(run, task.source).names if n != "image"]
    docs = storage.read_table(run, task.source, columns=columns).to_pylist()
    aug_rows = _read_augmented(run, docs, augmented) if augmented is not None else {}
    pairs, pretrain, tasks, splits, fallback, errors = [], [], Counter(), Counter(), 0, []
    for i, doc in enumerate(docs):
        try:
            split, page_pairs_, page_pretrain, page_fallback = _emit_page(cfg, task.source, kinds, i, doc, aug_rows,
                                                                           augmented is not None)
        except Exception as exc:  # noqa: BLE001 - one page that raises is an error row; the shard goes on
            errors.append(ErrorRow(doc["doc_id"], doc["template"], "error", f"page {doc['page']}: {describe(exc)}"))
            continue
        splits[split] += 1
        tasks.update(p["task"] for p in page_pairs_)
        pairs.extend(page_pairs_)
        pretrain.extend(page_pretrain)
        fallback += page_fallback
    infos = []
    for kind, path in task.targets:
        infos.append(write_shard(run, path, kind, pairs if kind == "pairs" else pretrain))
    return infos, tasks, splits, fallback, errors


def _emit_page(cfg: EmitConfig, source: str, kinds: set[str], i: int, doc: dict, aug_rows: dict, use_augmented: bool):
    """One page: (split, its pairs, its pretraining rows, 1 if it fell back to the clean image)."""
    split = cfg.splits.split_of(doc["doc_id"], doc["template"])
    blocks = page_blocks(doc["fields"], doc["tables"], doc["lines"])
    pairs, pretrain, fallback = [], [], 0
    if "pairs" in kinds:
        labels, ref, page_blocks_ = doc, ImageRef(source, i), blocks
        if use_augmented:
            hit = aug_rows.get((doc["doc_id"], doc["page"]))
            if hit is None:
                fallback = 1
            else:
                (shard, row, copy), labels = hit
                ref, page_blocks_ = ImageRef(shard, row, "augmented", copy), None
        pairs = page_pairs(doc, labels, ref, split, options=cfg.pair_options, seed=cfg.seed, blocks=page_blocks_)
    if "pretrain" in kinds:
        pretrain = [pretrain_row(doc, blocks, source, i, split, options=cfg.pretrain_options, seed=cfg.seed)]
    return split, pairs, pretrain, fallback


def _emit_task(run_dir: str, cfg: EmitConfig, augmented: dict | None, task: _Task):
    return emit_shard(run_dir, cfg, task, augmented)  # the executor passes the task last


def _read_augmented(run: str, docs: list[dict], index: dict) -> dict:
    wanted: dict[str, list[tuple[tuple[str, int], int, int]]] = {}
    for doc in docs:
        key = (doc["doc_id"], doc["page"])
        if key in index:
            shard, row, copy = index[key]
            wanted.setdefault(shard, []).append((key, row, copy))
    out = {}
    for shard, items in wanted.items():
        table = storage.read_table(run, shard, columns=["width", "height", "lines", "fields", "tables"])
        for key, row, copy in items:
            out[key] = ((shard, row, copy), table.slice(row, 1).to_pylist()[0])
    return out


@locks_run(create=False)
def run_emit(run_dir: Path | str, cfg: EmitConfig,
             on_shard: Callable[[list[ShardInfo]], None] | None = None,
             executor: Executor | None = None) -> EmitSummary:
    """`executor` runs the shard tasks (default: a local pool of cfg.workers processes)."""
    started = time.perf_counter()
    run_dir = storage.run_root(run_dir)  # a local folder or an fsspec URL
    from docfactory.engine.real_sets import refuse_real

    refuse_real(run_dir, "emit", EmitError)
    summary = EmitSummary()
    if not cfg.kinds():
        return summary
    with open_catalog(run_dir) as catalog:
        augmented = _augmented_index(catalog) if cfg.pairs and cfg.image == "augmented" else None
        _claim(catalog, cfg)
        sources = catalog.sql("SELECT path, iteration FROM shards WHERE kind = 'documents' ORDER BY path").fetchall()
        listed = {kind: catalog.listed(kind) for kind in cfg.kinds()}
        tasks = []
        for path, iteration in sources:
            todo = tuple((k, target_path(path, k)) for k in cfg.kinds() if target_path(path, k) not in listed[k])
            summary.skipped_shards += len(cfg.kinds()) - len(todo)
            if todo:
                tasks.append(_Task(path, todo, iteration))
        documents = catalog.listed("documents")
        verify_all(run_dir, [documents[t.source] for t in tasks])  # a corrupt source is refused, by name

        def record(result, task: _Task) -> None:
            infos, task_counts, split_counts, fallback, errors = result
            for n, info in enumerate(infos):
                catalog.add_shard(info, task.iteration, errors if n == 0 else ())
                summary.shards += 1
                if info.kind == "pairs":
                    summary.pairs += info.rows
                else:
                    summary.pretrain_pages += info.rows
            summary.tasks.update(task_counts)
            summary.splits.update(split_counts)
            summary.clean_fallback += fallback
            summary.rejected += len(errors)
            if on_shard:
                on_shard(infos)

        with executor_for(executor, cfg.workers) as ex, catalog.deferred_views():
            for task, result in ex.map(_emit_task, tasks, str(run_dir), cfg, augmented):
                if isinstance(result, TaskError):
                    for _, path in task.targets:
                        catalog.add_failure(path, "emit", result.reason)
                    summary.failed_shards.append(f"{task.source}: {result.reason}")
                else:
                    record(result, task)
    summary.seconds = time.perf_counter() - started
    return summary
