"""engine generate and engine rerender: make documents, and rebuild one from its record."""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from docfactory.commands.common import (ConfigOpt, ExecutorOpt, RayAddressOpt, TemplateDirs, _config, _executor,
                                        _lock_run, _root, _template_dirs, console, err, fail)
from docfactory.commands.summaries import _failed_shards, _print_augment, _print_emit


def generate(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", help="Number of documents.", min=1)],
    out: Annotated[str, typer.Option("--out", help="Run folder or fsspec URL, e.g. s3://bucket/runs/r1 (created; resumed if it exists).")],
    template: Annotated[Optional[list[str]], typer.Option("--template", help="Template name (repeatable); default: all.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Run seed: the same seed gives the same bytes.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Processes (default: the core count).", min=1)] = None,
    templates: TemplateDirs = None,
    config: ConfigOpt = None,
    emit_after: Annotated[bool, typer.Option("--emit", help="Then write pairs and pretraining shards (engine emit, defaults).")] = False,
    augment_preset: Annotated[Optional[str], typer.Option("--augment", help="Then make one augmented copy of each page with this preset (none|mild|medium|strong|mix; engine augment).")] = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    task_timeout: Annotated[Optional[float], typer.Option(
        "--task-timeout", metavar="SECONDS", min=0,
        help="Seconds a task (a template's check, a shard of documents) may run before its worker is killed "
             "(default: the config's task_timeout, 120). A shard past it is made again one document per task; a "
             "document that alone runs past it is rejected (stage timeout) naming its template, and a template "
             "whose check runs past it is a template error. 0: no limit.")] = None,
) -> None:
    """Generate N verified documents into RUN as Parquet shards listed in RUN/catalog.duckdb."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from docfactory.engine.catalog import StepConfigMismatch
    from docfactory.engine.generate import GenerateConfig, run_generate

    cfg = _config(config)
    gen = GenerateConfig(n=n, seed=cfg.seed if seed is None else seed, templates=template or cfg.templates,
                         template_dirs=_template_dirs(cfg, templates), workers=workers or cfg.workers or os.cpu_count() or 1,
                         shard_docs=cfg.shard_docs, dpi=tuple(cfg.dpi), augment=augment_preset,
                         task_timeout=(cfg.task_timeout if task_timeout is None else task_timeout) or None)
    runner = _executor(ctx, executor, ray_address, gen.workers)  # a bad --executor must not create the run folder
    _lock_run(out, create=True)
    columns = [TextColumn("generate"), BarColumn(), MofNCompleteColumn(), TextColumn("docs"),
               TextColumn("{task.fields[rate]} pages/s"), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("generate", total=n, rate="-")
        pages = [0]

        def on_shard(info, n_docs, n_pages):
            pages[0] += n_pages
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(task, advance=n_docs, rate=f"{pages[0] / elapsed:.1f}")

        try:
            summary = run_generate(out, gen, on_shard=on_shard, executor=runner)
        except (StepConfigMismatch, ValueError) as exc:  # ValueError: AugmentError, a bad --augment preset
            progress.stop()
            fail(str(exc))
    for message in summary.template_errors:
        err.print(f"[bold red]template error:[/] {message}", highlight=False)
    console.print(f"generated {summary.generated} / verified {summary.verified} / rejected {summary.rejected} "
                  f"documents ({summary.pages} pages, {summary.skipped_shards} shards already done) "
                  f"in {summary.seconds:.1f}s -> {_root(out)}", highlight=False)
    for reason, count in summary.reasons.most_common():
        console.print(f"  rejected {count}: {reason}", highlight=False)
    console.print(f"query it: engine query {out} \"SELECT template, count(*) FROM documents GROUP BY 1\"", highlight=False)
    if summary.augment is not None:
        _print_augment(summary.augment, out)
    _failed_shards(summary.failed_shards + (summary.augment.failed_shards if summary.augment else []), "generate", out)
    dead = _all_rejected(out)
    for template, count in dead:
        err.print(f"[bold red]error:[/] template {template}: every one of its {count} documents was rejected; "
                  f"see why: engine templates validate {template}", highlight=False)
    if summary.template_errors or summary.failed_shards or (summary.augment and summary.augment.failed_shards) or dead:
        raise typer.Exit(1)
    if emit_after:
        from docfactory.engine.emit import EmitConfig, EmitError, run_emit

        try:
            _print_emit(run_emit(out, EmitConfig(splits=cfg.splits, workers=gen.workers), executor=runner), out)
        except EmitError as exc:
            fail(str(exc))


def _all_rejected(out) -> list[tuple[str, int]]:
    """(template, rejected documents) for each template none of whose documents was verified."""
    from docfactory.engine.catalog import open_catalog

    with open_catalog(_root(out), read_only=True) as catalog:
        has_docs = catalog.sql("SELECT count(*) FROM duckdb_views() WHERE view_name = 'documents'").fetchone()[0]
        verified = {t for (t,) in catalog.sql("SELECT DISTINCT template FROM documents").fetchall()} if has_docs else set()
        rejected = catalog.sql("SELECT template, count(DISTINCT doc_id) FROM rejections WHERE template IS NOT NULL "
                               "GROUP BY 1 ORDER BY 1").fetchall()
    return [(t, n) for t, n in rejected if t not in verified]


def rerender(
    run: Annotated[str, typer.Argument(help="Run folder or fsspec URL.")],
    doc_id: Annotated[str, typer.Argument(help="Document id, e.g. doc-0000003.")],
    templates: TemplateDirs = None,
) -> None:
    """Re-render a stored document from its record and report any difference (exit 1 if any)."""
    from docfactory.engine.rerender import rerender as do_rerender

    try:
        report = do_rerender(run, doc_id, [str(d) for d in templates or []])
    except (KeyError, FileNotFoundError, ValueError) as exc:  # ValueError: a URL whose filesystem is not installed
        fail(str(exc).strip("'\""))
    if report.rejection:
        fail(f"{doc_id}: re-render was rejected: {report.rejection}")
    if report.identical:
        console.print(f"{doc_id}: {report.pages} page(s) re-rendered byte-identical (image, words, fields, tables, ground truth)")
        return
    for line in report.differences:
        console.print(f"[red]{doc_id}: {line}[/]")
    raise typer.Exit(1)
