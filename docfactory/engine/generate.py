"""Generate a run's documents: specs by doc index, shards by fixed index ranges, run by an
executor (engine.executor: a local process pool or Ray). Because shard k always holds docs
[k*S, (k+1)*S), the bytes of every shard are the same whatever the executor or worker count, and a
resumed run skips the shards the catalog already lists.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from docfactory.engine.lock import locks_run
from docfactory.engine import storage
from docfactory.engine.catalog import open_catalog
from docfactory.engine.executor import Executor, TaskError, describe, executor_for
from docfactory.engine.shards import ShardInfo, write_shard
from docfactory.generators import Rejection, generate_pages, sample_spec
from docfactory.templates import TemplateError, TemplateRegistry


@dataclass
class GenerateConfig:
    n: int
    seed: int = 0
    templates: list[str] = field(default_factory=list)  # empty: every registered template
    template_dirs: list[str] = field(default_factory=list)
    workers: int = 1
    shard_docs: int = 16  # documents per shard
    dpi: tuple[int, ...] = (120,)
    prefix: str = "doc"
    iteration: int = 0
    weights: dict = field(default_factory=dict)
    augment: str | None = None  # then make one augmented copy of each page with this preset (engine augment)


@dataclass
class GenerateSummary:
    generated: int = 0
    verified: int = 0
    rejected: int = 0
    pages: int = 0
    skipped_shards: int = 0
    reasons: Counter = field(default_factory=Counter)
    template_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    augment: object | None = None  # the AugmentSummary when cfg.augment is set
    failed_shards: list[str] = field(default_factory=list)  # "path: reason" of tasks that failed (not listed)


@dataclass(frozen=True)
class _ShardTask:
    index: int
    start: int
    stop: int
    rel_path: str


def shard_path(iteration: int, index: int, kind: str = "documents") -> str:
    return f"shards/{kind}/it{iteration:03d}/part-{index:05d}.parquet"


def usable_templates(registry: TemplateRegistry, names: list[str]) -> tuple[list[str], list[str]]:
    """(templates to use, errors): broken templates are reported and left out, never silently."""
    from docfactory.generators.template_check import check_template

    errors = [str(e) for n, e in sorted(registry.errors.items()) if not names or n in names]
    wanted = names or registry.names()
    usable = []
    for name in wanted:
        if name in registry.errors:
            continue
        try:
            check_template(registry.get(name))
            usable.append(name)
        except (TemplateError, KeyError) as exc:
            errors.append(str(exc))
    return usable, errors


_REGISTRY_CACHE: dict[tuple, TemplateRegistry] = {}


def _registry(template_dirs: tuple[str, ...]) -> TemplateRegistry:
    # One registry per worker process: loading templates parses YAML and compiles Jinja.
    if template_dirs not in _REGISTRY_CACHE:
        _REGISTRY_CACHE[template_dirs] = TemplateRegistry(template_dirs)
    return _REGISTRY_CACHE[template_dirs]


def make_shard(run_dir: str, cfg: GenerateConfig, names: list[str], task: _ShardTask):
    """Worker: build, verify and write one shard. Returns (ShardInfo, rejections, n_docs)."""
    registry = _registry(tuple(cfg.template_dirs))
    templates = [registry.get(n) for n in names]
    rows: list[dict] = []
    rejections: list[Rejection] = []
    for i in range(task.start, task.stop):
        spec = sample_spec(cfg.seed, i, templates, prefix=cfg.prefix, weights=cfg.weights, dpi=cfg.dpi)
        try:
            records, rejected = generate_pages([spec], registry)
        except Exception as exc:  # noqa: BLE001 - one document that raises is an error row; the shard goes on
            records, rejected = [], [Rejection(spec.doc_id, spec.template, "error", describe(exc))]
        rows.extend(r.to_row() for r in records)
        rejections.extend(rejected)
    info = write_shard(run_dir, task.rel_path, "documents", rows)
    return info, rejections, task.stop - task.start


@locks_run(create=True)
def run_generate(run_dir: Path | str, cfg: GenerateConfig,
                 on_shard: Callable[[ShardInfo, int, int], None] | None = None,
                 executor: Executor | None = None) -> GenerateSummary:
    """Generate cfg.n documents into run_dir; `on_shard(info, docs, pages)` reports progress.
    `executor` runs the shard tasks (default: a local pool of cfg.workers processes)."""
    started = time.perf_counter()
    run_dir = storage.run_root(run_dir)  # a local folder or an fsspec URL
    summary = GenerateSummary()
    augment = _augment_config(cfg)  # an unknown preset fails here, before any rendering
    registry = _registry(tuple(cfg.template_dirs))
    names, summary.template_errors = usable_templates(registry, cfg.templates)
    if not names:
        summary.seconds = time.perf_counter() - started
        return summary
    tasks = [
        _ShardTask(k, start, min(start + cfg.shard_docs, cfg.n), shard_path(cfg.iteration, k))
        for k, start in enumerate(range(0, cfg.n, cfg.shard_docs))
    ]
    with open_catalog(run_dir) as catalog:
        catalog.claim_step(f"generate/it{cfg.iteration:03d}", {
            "n": cfg.n, "seed": cfg.seed, "templates": names, "template_dirs": cfg.template_dirs,
            "shard_docs": cfg.shard_docs, "dpi": list(cfg.dpi), "prefix": cfg.prefix, "weights": cfg.weights})
        done = catalog.listed("documents")
        todo = [t for t in tasks if t.rel_path not in done]
        summary.skipped_shards = len(tasks) - len(todo)

        def record(result) -> None:
            info, rejections, n_docs = result
            catalog.add_shard(info, cfg.iteration, rejections)
            summary.generated += n_docs
            summary.rejected += len(rejections)
            summary.verified += n_docs - len(rejections)
            summary.pages += info.rows
            summary.reasons.update(f"{r.stage}: {r.reason.split(':')[0]}" for r in rejections)
            if on_shard:
                on_shard(info, n_docs, info.rows)

        with executor_for(executor, cfg.workers) as ex, catalog.deferred_views():
            for task, result in ex.map(make_shard, todo, str(run_dir), cfg, names):
                if isinstance(result, TaskError):
                    catalog.add_failure(task.rel_path, "generate", result.reason)
                    summary.failed_shards.append(f"{task.rel_path}: {result.reason}")
                else:
                    record(result)
    if augment is not None:
        from docfactory.engine.augment import run_augment

        summary.augment = run_augment(run_dir, augment, executor=executor)
    summary.seconds = time.perf_counter() - started
    return summary


def _augment_config(cfg: GenerateConfig):
    if not cfg.augment:
        return None
    from docfactory.engine.augment import AugmentConfig

    augment = AugmentConfig(preset=cfg.augment, workers=cfg.workers, weights=cfg.weights, iteration=cfg.iteration)
    augment.settings()  # validates
    return augment
