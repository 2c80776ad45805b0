"""Generate a run's documents: specs by doc index, shards by fixed index ranges, run by an
executor (engine.executor: a local process pool or Ray). Because shard k always holds docs
[k*S, (k+1)*S), the bytes of every shard are the same whatever the executor or worker count, and a
resumed run skips the shards the catalog already lists.

Every task runs under a time limit (`task_timeout`), so a template whose loops never end cannot hang
a run: the template checks are tasks too (a template whose sample never finishes is a template
error), and a shard whose task runs past the limit is made again one document per task, so only a
document that alone runs past it is rejected (stage `timeout`, naming its template and the limit).
The driver writes that shard from the documents' rows: the same bytes a single task would write.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from docfactory.engine.lock import locks_run
from docfactory.engine import storage
from docfactory.engine.catalog import open_catalog
from docfactory.engine.executor import Executor, TaskError, TaskTimedOut, describe, executor_for
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
    task_timeout: float | None = 120.0  # seconds a task (a template check, a shard) may run; None: no limit


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
    return _sort_out(registry, names, lambda wanted: [(name, check_one(registry, name)) for name in wanted])


def checked_templates(executor: Executor, registry: TemplateRegistry,
                      cfg: GenerateConfig) -> tuple[list[str], list[str]]:
    """usable_templates with each check a task under cfg.task_timeout: a template whose sample
    render never ends is an error naming it, not a hang."""
    return _sort_out(registry, cfg.templates, lambda wanted: executor.map(
        check_in_worker, wanted, tuple(cfg.template_dirs), timeout=cfg.task_timeout))


def _sort_out(registry: TemplateRegistry, names: list[str], check) -> tuple[list[str], list[str]]:
    errors = [str(e) for n, e in sorted(registry.errors.items()) if not names or n in names]
    wanted = [name for name in names or registry.names() if name not in registry.errors]
    outcomes = dict(check(wanted))
    for name in wanted:  # in the asked order, whatever order the checks finished in
        outcome, template = outcomes[name], registry.templates.get(name)
        if isinstance(outcome, TaskTimedOut):
            errors.append(f"{template.html_path if template else name}: rendering a sample document ran past the "
                          f"{outcome.seconds:g} s time limit (a loop that never ends?); its worker was killed")
        elif isinstance(outcome, TaskError):
            errors.append(f"{template.folder if template else name}: the template check failed: {outcome.reason}")
        elif outcome is not None:
            errors.append(outcome)
    return [name for name in wanted if outcomes[name] is None], errors


def check_one(registry: TemplateRegistry, name: str) -> str | None:
    """The template's check error, or None when it can produce a verified document."""
    from docfactory.generators.template_check import check_template

    try:
        check_template(registry.get(name))
    except (TemplateError, KeyError) as exc:
        return str(exc)
    return None


def check_in_worker(template_dirs: tuple[str, ...], name: str) -> str | None:
    return check_one(_registry(template_dirs), name)


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
        doc_rows, rejected = _document(cfg, registry, templates, i)
        rows.extend(doc_rows)
        rejections.extend(rejected)
    info = write_shard(run_dir, task.rel_path, "documents", rows)
    return info, rejections, task.stop - task.start


def make_document(cfg: GenerateConfig, names: list[str], index: int) -> tuple[list[dict], list[Rejection]]:
    """Worker: one document's rows and rejections (a shard that ran past the time limit, again)."""
    registry = _registry(tuple(cfg.template_dirs))
    return _document(cfg, registry, [registry.get(n) for n in names], index)


def _document(cfg: GenerateConfig, registry: TemplateRegistry, templates,
              index: int) -> tuple[list[dict], list[Rejection]]:
    spec = sample_spec(cfg.seed, index, templates, prefix=cfg.prefix, weights=cfg.weights, dpi=cfg.dpi)
    try:
        records, rejected = generate_pages([spec], registry)
    except Exception as exc:  # noqa: BLE001 - one document that raises is an error row; the shard goes on
        records, rejected = [], [Rejection(spec.doc_id, spec.template, "error", describe(exc))]
    return [r.to_row() for r in records], rejected


def _one_by_one(ex: Executor, run_dir: str, cfg: GenerateConfig, names: list[str], registry: TemplateRegistry,
                shards: list[tuple[_ShardTask, TaskTimedOut]]) -> Iterator[tuple[_ShardTask, object]]:
    """Shards whose task ran past the time limit: their documents again, one task each, so only a
    document that alone runs past the limit is rejected. Yields (shard, make_shard's result or a
    TaskError) as each shard's documents are all in; the driver writes the shard from their rows."""
    owner = {i: task for task, _ in shards for i in range(task.start, task.stop)}
    # A one-document shard past the limit is its document past it: no need to run it again.
    outcomes: dict[int, object] = {task.start: timed_out for task, timed_out in shards if task.stop - task.start == 1}

    def complete(task: _ShardTask) -> bool:
        return all(i in outcomes for i in range(task.start, task.stop))

    again = [i for i in owner if i not in outcomes]
    for task in [task for task, _ in shards if complete(task)]:
        yield task, _assemble(run_dir, cfg, registry, names, task, outcomes)  # takes its outcomes out
    for i, outcome in ex.map(make_document, again, cfg, names, timeout=cfg.task_timeout):
        outcomes[i] = outcome
        if complete(owner[i]):
            yield owner[i], _assemble(run_dir, cfg, registry, names, owner[i], outcomes)


def _assemble(run_dir: str, cfg: GenerateConfig, registry: TemplateRegistry, names: list[str], task: _ShardTask,
              outcomes: dict[int, object]):
    """Write a shard from its documents' outcomes (taken out of `outcomes`), in document order."""
    rows: list[dict] = []
    rejections: list[Rejection] = []
    templates = [registry.get(n) for n in names]
    for i in range(task.start, task.stop):
        outcome = outcomes.pop(i)
        if isinstance(outcome, TaskTimedOut):
            spec = sample_spec(cfg.seed, i, templates, prefix=cfg.prefix, weights=cfg.weights, dpi=cfg.dpi)
            rejections.append(Rejection(spec.doc_id, spec.template, "timeout", f"template {spec.template} ran past "
                                        f"the {outcome.seconds:g} s time limit; its worker was killed"))
        elif isinstance(outcome, TaskError):
            return outcome  # a worker lost past max_retries: the shard fails as a whole
        else:
            rows.extend(outcome[0])
            rejections.extend(outcome[1])
    try:
        info = write_shard(run_dir, task.rel_path, "documents", rows)
    except Exception as exc:  # noqa: BLE001 - as a write in a worker: the shard's error row
        return TaskError(describe(exc))
    return info, rejections, task.stop - task.start


@locks_run(create=True)
def run_generate(run_dir: Path | str, cfg: GenerateConfig,
                 on_shard: Callable[[ShardInfo, int, int], None] | None = None,
                 executor: Executor | None = None) -> GenerateSummary:
    """Generate cfg.n documents into run_dir; `on_shard(info, docs, pages)` reports progress.
    `executor` runs the template checks and shard tasks (default: a local pool of cfg.workers
    processes), each under cfg.task_timeout."""
    started = time.perf_counter()
    run_dir = storage.run_root(run_dir)  # a local folder or an fsspec URL
    summary = GenerateSummary()
    augment = _augment_config(cfg)  # an unknown preset fails here, before any rendering
    registry = _registry(tuple(cfg.template_dirs))
    with executor_for(executor, cfg.workers) as ex:
        names, summary.template_errors = checked_templates(ex, registry, cfg)
        if names:
            _make_shards(ex, run_dir, cfg, names, registry, summary, on_shard)
    if augment is not None and names:
        from docfactory.engine.augment import run_augment

        summary.augment = run_augment(run_dir, augment, executor=executor)
    summary.seconds = time.perf_counter() - started
    return summary


def _make_shards(ex: Executor, run_dir, cfg: GenerateConfig, names: list[str], registry: TemplateRegistry,
                 summary: GenerateSummary, on_shard) -> None:
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

        def record(task: _ShardTask, result) -> None:
            if isinstance(result, TaskError):
                catalog.add_failure(task.rel_path, "generate", result.reason)
                summary.failed_shards.append(f"{task.rel_path}: {result.reason}")
                return
            info, rejections, n_docs = result
            catalog.add_shard(info, cfg.iteration, rejections)
            summary.generated += n_docs
            summary.rejected += len(rejections)
            summary.verified += n_docs - len(rejections)
            summary.pages += info.rows
            summary.reasons.update(f"{r.stage}: {r.reason.split(':')[0]}" for r in rejections)
            if on_shard:
                on_shard(info, n_docs, info.rows)

        timed_out: list[tuple[_ShardTask, TaskTimedOut]] = []
        with catalog.deferred_views():
            for task, result in ex.map(make_shard, todo, str(run_dir), cfg, names, timeout=cfg.task_timeout):
                if isinstance(result, TaskTimedOut):
                    timed_out.append((task, result))
                else:
                    record(task, result)
            for task, result in _one_by_one(ex, str(run_dir), cfg, names, registry, timed_out):
                record(task, result)


def _augment_config(cfg: GenerateConfig):
    if not cfg.augment:
        return None
    from docfactory.engine.augment import AugmentConfig

    augment = AugmentConfig(preset=cfg.augment, workers=cfg.workers, weights=cfg.weights, iteration=cfg.iteration)
    augment.settings()  # validates
    return augment
