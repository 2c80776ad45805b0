"""The `engine` command: parses, calls docfactory, prints. No logic of its own lives here."""

from __future__ import annotations

import json
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="docfactory: synthesize perfectly labelled documents, store them as Parquet "
                       "shards in a DuckDB catalog, evaluate models and mine their failures.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
templates_app = typer.Typer(help="List, inspect, validate, preview and create document templates.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
console = Console()
err = Console(stderr=True, soft_wrap=True)  # errors carry paths: never wrap them

TemplateDirs = Annotated[Optional[list[Path]], typer.Option("--templates", help="Extra template folder (repeatable).")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="YAML config (template_dirs, seed, workers, ...).")]
ExecutorOpt = Annotated[str, typer.Option("--executor", help="Where the shard tasks run: local (a process pool) | ray "
                                          "(Ray tasks; pip install 'docfactory[ray]'). The output is the same.")]
RayAddressOpt = Annotated[Optional[str], typer.Option("--ray-address", help="With --executor ray: auto (a running "
                                                      "cluster) or ray://host:port; default: a local Ray with --workers CPUs.")]


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _config(config: Optional[Path]):
    from docfactory.engine.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as exc:
        fail(str(exc))


def _executor(ctx: typer.Context, kind: str, address: Optional[str], workers: int):
    """The executor for this command, closed (a Ray it started stopped) when the command ends."""
    from docfactory.engine.executor import ExecutorError, ExecutorOptions, make_executor

    if address and kind != "ray":
        fail(f"--ray-address needs --executor ray (got --executor {kind})")
    try:
        executor = make_executor(ExecutorOptions(kind=kind, address=address), workers)
    except ExecutorError as exc:
        fail(str(exc))
    ctx.call_on_close(executor.close)
    return executor


def _failed_shards(failed: list[str], step: str, run: Path) -> None:
    """Tasks that failed were recorded (rejections, doc_id NULL) and not listed: a rerun makes them."""
    for line in failed:
        err.print(f"[bold red]{step} task failed:[/] {line}", highlight=False)
    if failed:
        err.print(f"{len(failed)} shard(s) not written; run the same command again to make them (see: engine query "
                  f"{run} \"SELECT shard, reason FROM rejections WHERE doc_id IS NULL\")", highlight=False)


def _lock_run(run, create: bool = False) -> None:
    """Hold RUN/.lock until this command ends (engine.lock): a second writer refuses at once,
    naming the holder, instead of interleaving its writes with this one's."""
    from typer._click.globals import get_current_context  # typer vendors click: its context, not click's

    from docfactory.engine.lock import RunLocked, run_lock

    held = run_lock(run, create=create)
    try:
        held.__enter__()
    except RunLocked as exc:
        fail(str(exc))
    get_current_context().call_on_close(lambda: held.__exit__(None, None, None))


def _verify(run, kinds: tuple[str, ...]) -> None:
    """Refuse to read a corrupt listed shard (engine.shards.verify)."""
    from docfactory.engine.shards import CorruptShardError, verify_listed

    try:
        verify_listed(run, kinds)
    except CorruptShardError as exc:
        fail(str(exc))
    except FileNotFoundError:
        pass  # no catalog: the command says so itself


def _root(run: str) -> str:
    from docfactory.engine import storage

    return storage.run_root(run)


def _has_catalog(run: str) -> bool:
    from docfactory.engine import storage
    from docfactory.engine.catalog import CATALOG_FILE

    try:
        fs, path = storage.filesystem(storage.location(_root(run), CATALOG_FILE))
    except ValueError as exc:
        fail(str(exc))
    return fs.exists(path)


@contextmanager
def _local_run(run: str):
    """The run as a local folder: itself, or a private copy of a run at a URL (removed after), for
    the commands that read a run folder's files directly (mine, report)."""
    from docfactory.engine import storage

    root = _root(run)
    if not storage.is_url(root):
        yield Path(root)
        return
    if not _has_catalog(run):
        fail(f"{run}: no catalog here (is it a docfactory run?)")
    with storage.private_dir("docfactory-run-") as folder:
        yield storage.download(root, folder / root.rsplit("/", 1)[-1])


def _template_dirs(cfg, dirs: Optional[list[Path]]) -> list[str]:
    return list(cfg.template_dirs) + [str(d.resolve()) for d in dirs or []]


@app.command()
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
) -> None:
    """Generate N verified documents into RUN as Parquet shards listed in RUN/catalog.duckdb."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from docfactory.engine.catalog import StepConfigMismatch
    from docfactory.engine.generate import GenerateConfig, run_generate

    cfg = _config(config)
    gen = GenerateConfig(n=n, seed=cfg.seed if seed is None else seed, templates=template or cfg.templates,
                         template_dirs=_template_dirs(cfg, templates), workers=workers or cfg.workers or os.cpu_count() or 1,
                         shard_docs=cfg.shard_docs, dpi=tuple(cfg.dpi), augment=augment_preset)
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
    if summary.template_errors or summary.failed_shards or (summary.augment and summary.augment.failed_shards):
        raise typer.Exit(1)
    if emit_after:
        from docfactory.engine.emit import EmitConfig, EmitError, run_emit

        try:
            _print_emit(run_emit(out, EmitConfig(splits=cfg.splits, workers=gen.workers), executor=runner), out)
        except EmitError as exc:
            fail(str(exc))


@app.command()
def query(
    run: Annotated[str, typer.Argument(help="Run folder or fsspec URL.")],
    sql: Annotated[str, typer.Argument(help="SQL over the run's views (documents, shards, rejections, ...).")],
    format: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
    limit: Annotated[int, typer.Option(help="Rows printed in table format.")] = 50,
) -> None:
    """Run SQL against RUN/catalog.duckdb (from any directory, after moves too)."""
    import duckdb

    from docfactory.engine.catalog import open_catalog

    if format not in ("table", "csv", "json"):
        fail(f"unknown format {format!r} (known: table, csv, json)")
    try:
        with open_catalog(run, read_only=True) as catalog:
            result = catalog.sql(sql)
            if result is None or result.description is None:  # empty SQL, or no result set
                return
            columns, rows = [d[0] for d in result.description], result.fetchall()
    except (duckdb.Error, FileNotFoundError, ValueError) as exc:  # ValueError: a URL whose filesystem is not installed
        fail(str(exc))
    if format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([[_cell(v) for v in r] for r in rows])
    elif format == "json":
        print(json.dumps([{c: _jsonable(v) for c, v in zip(columns, r)} for r in rows], ensure_ascii=False, default=str))
    else:
        table = Table(*columns)
        for r in rows[:limit]:
            table.add_row(*[_cell(v, 60) for v in r])
        console.print(table)
        if len(rows) > limit:
            console.print(f"({len(rows)} rows, {limit} shown)")


def _cell(value, width: int | None = None) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def _jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@app.command()
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


def _splits(cfg, holdout_templates: Optional[list[str]], split: Optional[str]):
    """The config's splits, with --split / --holdout-templates (comma-separated or repeated) over them."""
    from pydantic import ValidationError

    from docfactory.engine.emit.splits import SplitConfig, parse_ratios

    data = cfg.splits.model_dump()
    try:
        if split:
            data["ratios"] = parse_ratios(split)
        if holdout_templates:
            data["holdout_templates"] = [t.strip() for item in holdout_templates for t in item.split(",") if t.strip()]
        return SplitConfig.model_validate(data)
    except (ValueError, ValidationError) as exc:
        fail(f"splits: {exc.errors()[0]['msg'] if isinstance(exc, ValidationError) else exc}")


def _print_augment(summary, run: Path) -> None:
    presets = ", ".join(f"{p} {n}" for p, n in sorted(summary.presets.items())) or "-"
    console.print(f"augmented {summary.pages} page copies ({presets}): {summary.legible} legible / {summary.flagged} flagged / "
                  f"{summary.rejected} rejected; {summary.crops} line and word crops ({summary.skipped_crops} boxes cut by "
                  f"the border, not cropped); {summary.skipped_shards} shards already done; {summary.seconds:.1f}s",
                  highlight=False, soft_wrap=True)
    for reason, count in summary.reasons.most_common():
        console.print(f"  illegible {count}: {reason}", highlight=False)
    console.print(f"query it: engine query {run} \"SELECT preset, count(*), avg(severity), count(*) FILTER (NOT legible) "
                  f"FROM augmented GROUP BY 1\"", highlight=False, soft_wrap=True)


@app.command()
def augment(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run folder (or fsspec URL) with documents shards.")],
    preset: Annotated[str, typer.Option(help="none | mild | medium | strong | mix (each copy draws its preset).")] = "medium",
    copies: Annotated[int, typer.Option(help="Augmented copies of each page (more later only adds the new ones).", min=1)] = 1,
    seed: Annotated[int, typer.Option(help="Salt: another seed draws other copies of the same pages.")] = 0,
    workers: Annotated[Optional[int], typer.Option(help="Processes (default: the core count).", min=1)] = None,
    overrides: Annotated[Optional[list[str]], typer.Option("--set", help="Override a transform: kind.param=value or lo,hi (repeatable), e.g. --set gaussian_blur.p=0.5 --set defocus.radius=1,2.")] = None,
    gate: Annotated[str, typer.Option(help="flag: keep illegible copies marked legible=false | reject: leave them out.")] = "flag",
    levels: Annotated[str, typer.Option(help="Crops to cut: line,word | line | word.")] = "line,word",
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Make scan-like copies of RUN's clean pages (augmented shards) and line/word crops (lines shards)."""
    from pydantic import ValidationError

    from docfactory.engine.augment import AugmentConfig, run_augment
    from docfactory.engine.catalog import StepConfigMismatch
    from docfactory.engine.shards import CorruptShardError
    from docfactory.generators.augment import AugmentError
    from docfactory.generators.augment.presets import parse_overrides

    try:
        cfg = AugmentConfig(preset=preset, copies=copies, seed=seed, workers=workers or os.cpu_count() or 1,
                            overrides=parse_overrides(overrides or []), gate={"mode": gate},
                            levels=tuple(x.strip() for x in levels.split(",") if x.strip()))
        cfg.settings()
    except AugmentError as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(f"--gate {gate!r}: {exc.errors()[0]['msg']}")
    if not _has_catalog(run):
        fail(f"{run}: no catalog here (is it a docfactory run folder?)")
    _lock_run(run)
    try:
        summary = run_augment(run, cfg, executor=_executor(ctx, executor, ray_address, cfg.workers))
    except (StepConfigMismatch, CorruptShardError) as exc:
        fail(str(exc))
    if summary.pages == 0 and summary.skipped_shards == 0:
        fail(f"{run}: no documents shards to augment (run engine generate first)")
    _print_augment(summary, run)
    _failed_shards(summary.failed_shards, "augment", run)
    if summary.failed_shards:
        raise typer.Exit(1)


def _print_emit(summary, run: Path) -> None:
    console.print(f"emitted {summary.pairs} pairs and {summary.pretrain_pages} pretraining pages in {summary.shards} shards "
                  f"({summary.skipped_shards} already done) in {summary.seconds:.1f}s", highlight=False)
    if summary.tasks:
        console.print("  pairs by task: " + ", ".join(f"{t} {n}" for t, n in sorted(summary.tasks.items())), highlight=False)
    if summary.splits:
        console.print("  pages by split: " + ", ".join(f"{s} {n}" for s, n in sorted(summary.splits.items())), highlight=False)
    if summary.clean_fallback:
        console.print(f"  {summary.clean_fallback} pages had no legible augmented copy: their pairs use the clean image")
    console.print(f"query it: engine query {run} \"SELECT task, split, count(*) FROM pairs GROUP BY ALL ORDER BY ALL\"",
                  highlight=False, soft_wrap=True)


HoldoutOpt = Annotated[Optional[list[str]], typer.Option(
    "--holdout-templates", help="Templates whose every page goes to the 'holdout' split (comma-separated or repeated).")]
SplitOpt = Annotated[Optional[str], typer.Option("--split", help="Split shares, e.g. train=0.8,val=0.1,test=0.1.")]


@app.command()
def emit(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run folder or fsspec URL.")],
    pairs: Annotated[bool, typer.Option("--pairs/--no-pairs", help="Write instruction-pair shards.")] = True,
    pretrain: Annotated[bool, typer.Option("--pretrain/--no-pretrain", help="Write block-masked pretraining shards.")] = True,
    image: Annotated[str, typer.Option("--image", help="clean | augmented: the page copy pairs refer to.")] = "clean",
    table_format: Annotated[str, typer.Option("--table-format", help="html | otsl | both.")] = "html",
    patch_size: Annotated[int, typer.Option("--patch-size", help="Pretraining mask patch size (pixels).", min=1)] = 16,
    seed: Annotated[int, typer.Option(help="Emit seed (prompt phrasings, masks, crops).")] = 0,
    holdout_templates: HoldoutOpt = None,
    split: SplitOpt = None,
    workers: Annotated[Optional[int], typer.Option(help="Processes (default: the core count).", min=1)] = None,
    redo: Annotated[bool, typer.Option("--redo", help="Drop this run's emitted shards of the chosen kinds first.")] = False,
    config: ConfigOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Write instruction pairs and block-masked pretraining pages for every documents shard of RUN."""
    from pydantic import ValidationError

    from docfactory.engine.emit import EmitConfig, EmitError, PairOptions, PretrainOptions, run_emit
    from docfactory.engine.shards import CorruptShardError

    if image not in ("clean", "augmented"):
        fail(f"unknown image copy {image!r} (known: clean, augmented)")
    if table_format not in ("html", "otsl", "both"):
        fail(f"unknown table format {table_format!r} (known: html, otsl, both)")
    if not _has_catalog(run):
        fail(f"{run}: no catalog here (is it a docfactory run folder?)")
    _lock_run(run)
    cfg = _config(config)
    try:
        emit_cfg = EmitConfig(pairs=pairs, pretrain=pretrain, seed=seed, splits=_splits(cfg, holdout_templates, split),
                              image=image, pair_options=PairOptions(table_format=table_format),
                              pretrain_options=PretrainOptions(patch_size=patch_size),
                              workers=workers or cfg.workers or os.cpu_count() or 1, redo=redo)
        summary = run_emit(run, emit_cfg, executor=_executor(ctx, executor, ray_address, emit_cfg.workers))
    except ValidationError as exc:
        fail(f"{'.'.join(map(str, exc.errors()[0]['loc']))}: {exc.errors()[0]['msg']}")
    except (EmitError, CorruptShardError) as exc:
        fail(str(exc))
    _print_emit(summary, run)
    _failed_shards(summary.failed_shards, "emit", run)
    if summary.failed_shards:
        raise typer.Exit(1)


@app.command()
def export(
    run: Annotated[str, typer.Argument(help="Run folder or fsspec URL.")],
    format: Annotated[str, typer.Option("--format", help="sharegpt | llama-factory | donut | hf | coco | funsd")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write (must be empty unless --overwrite).")],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty --out folder.")] = False,
) -> None:
    """Export RUN in a format trainers read (splits as the run was emitted with)."""
    from docfactory.engine.emit import ExportError, export_run

    try:
        summary = export_run(run, format, out, overwrite=overwrite)
    except (ExportError, FileNotFoundError, ValueError) as exc:  # ValueError: a URL whose filesystem is not installed
        fail(str(exc))
    records = ", ".join(f"{s} {n}" for s, n in sorted(summary.records.items()))
    console.print(f"exported {format} -> {summary.out}: {records} ({summary.images} images)", highlight=False)


@app.command()
def evaluate(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run folder or fsspec URL.")],
    predictions: Annotated[Path, typer.Option("--predictions", help="JSONL, one object per page: doc_id, page, "
                                              "fields, tables, text (and copy for an augmented copy).")],
    name: Annotated[Optional[str], typer.Option("--name", help="Evaluation name (default: the file's stem); "
                                                "evaluating a name again replaces its rows.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first malformed or missing prediction; write nothing.")] = False,
    split: Annotated[Optional[list[str]], typer.Option("--split", help="Score only these splits' pages (repeatable), "
                     "e.g. the split you predicted; default: every page.")] = None,
    workers: Annotated[int, typer.Option(help="Processes scoring fixed document ranges (each with a TEDS process).", min=1)] = 1,
    table_timeout: Annotated[float, typer.Option("--table-timeout", help="Seconds per table before it becomes an error row.", min=0.1)] = 30.0,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Score predictions against RUN: doc_scores, field_errors, table_errors, prediction_errors and slices
    views, RUN/eval/NAME/summary.json, and the run's leaderboard."""
    import duckdb

    from docfactory.engine.evaluation import LEADERBOARD_COLUMNS, PredictionsError, ScoringOptions, evaluate_run, leaderboard

    _lock_run(run)
    _verify(run, ("documents", "augmented"))
    try:
        options = ScoringOptions(workers, table_timeout, executor=_executor(ctx, executor, ray_address, workers))
        result = evaluate_run(run, predictions, name=name, strict=strict, options=options, splits=split)
    except PredictionsError as exc:
        fail(f"{exc}\n(--strict: nothing was written or listed)")
    except (FileNotFoundError, ValueError, RuntimeError, duckdb.Error) as exc:  # duckdb.Error: e.g. the catalog is locked
        fail(str(exc))
    issues = {k: v for k, v in result.summary["prediction_errors"].items() if k != "total"}
    if issues:
        counts = ", ".join(f"{count} {error}" for error, count in sorted(issues.items()))
        err.print(f"[yellow]warning:[/] {predictions}: {sum(issues.values())} prediction problems ({counts}); the rest "
                  f"was scored. See them: engine query {run} \"SELECT line, doc_id, page, error, reason FROM "
                  f"prediction_errors WHERE name = '{result.name}' ORDER BY line\"", highlight=False)
    console.print(f"evaluated {result.name}: {result.pages} pages in {result.seconds:.1f}s "
                  f"({result.pages / max(result.seconds, 1e-9):.1f} pages/s) -> {result.summary_path}",
                  highlight=False, soft_wrap=True)
    from rich import box

    headers = {"teds": "TEDS", "teds_s": "TEDS-S", "ted_acc": "acc", "field_f1": "F1", "numeric_ok_rate": "num ok",
               "cer": "CER"}  # short: the table fits 80 columns
    table = Table(title=f"leaderboard: {run}", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in LEADERBOARD_COLUMNS:
        table.add_column(headers.get(column, column), overflow="fold", justify="left" if column == "name" else "right")
    for row in leaderboard(run):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else "-" if v is None else str(v) for v in row.values()])
    console.print(table)


@app.command()
def pretrain(
    run: Annotated[Path, typer.Argument(help="Run folder with pretrain shards (engine emit).")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default RUN/models/lejepa/it000, where engine train --model lejepa writes); resumed if it holds a checkpoint.")] = None,
    scale: Annotated[str, typer.Option(help="Defaults: tiny (tests, CPU) | small (ViT-S/16) | full (projector 8192).")] = "small",
    steps: Annotated[Optional[int], typer.Option(min=1)] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=2)] = None,
    lambd: Annotated[Optional[float], typer.Option("--lambda", help="SIGReg weight λ (0.02-0.05 at full batch sizes).")] = None,
    lr: Annotated[Optional[float], typer.Option()] = None,
    proj_dim: Annotated[Optional[int], typer.Option("--proj-dim", help="Projector output width.")] = None,
    split: Annotated[Optional[str], typer.Option(help="Pretrain rows to use: a split or `all`.")] = None,
    seed: Annotated[Optional[int], typer.Option()] = None,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda[:N].")] = None,
    probe: Annotated[bool, typer.Option("--probe/--no-probe", help="Linear probes: pretrained vs random-init encoder.")] = True,
    transition: Annotated[bool, typer.Option("--transition", help="Then stage A (encoder frozen) and B (differential LR) on template classification.")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore an existing checkpoint in --out.")] = False,
) -> None:
    """LeJEPA pretraining of a ViT encoder on RUN's block-masked pretrain shards."""
    from docfactory.train.lejepa import make_config
    from docfactory.train.lejepa.pipeline import pretrain_and_measure

    if out is None:
        _lock_run(run)  # it writes RUN/models/lejepa/it000
    try:
        cfg = make_config(scale, steps=steps, batch_size=batch_size, lambd=lambd, lr=lr, proj_dim=proj_dim, split=split,
                          seed=seed, device=device)
        report = pretrain_and_measure(run, out or run / "models" / "lejepa" / "it000", cfg, probe=probe, transition=transition,
                                      resume=not fresh, argv=sys.argv,
                                      on_log=lambda r: err.print(f"step {r['step']}: loss {r['loss']:.4f} prediction "
                                                                 f"{r['prediction']:.4f} sigreg {r['sigreg']:.3f} std {r['std']:.3f}",
                                                                 highlight=False))
    except (FileNotFoundError, KeyError, ValueError) as exc:
        fail(str(exc).strip('"'))
    for warning in report["warnings"]:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"pretrained {report['steps']} steps -> {report['encoder']}", highlight=False, soft_wrap=True)
    for task, row in report.get("probe", {}).items():
        console.print(f"linear probe {task}: pretrained {row['pretrained']:.3f}, random init {row['random_init']:.3f} "
                      f"({row['n_train']} train / {row['n_eval']} eval)", highlight=False, soft_wrap=True)
    for stage in report.get("transition", []):
        console.print(f"stage {stage['stage']}: loss {stage['loss_first']:.3f} -> {stage['loss_last']:.3f}, weight change "
                      f"encoder {stage['encoder_change']:.2e}, adapter {stage['adapter_change']:.2e}", highlight=False)


@app.command()
def mine(
    run: Annotated[str, typer.Argument(help="Run folder or fsspec URL (evaluated).")],
    name: Annotated[Optional[str], typer.Option(help="Evaluation name; default: the latest (or itNNN with --iteration).")] = None,
    iteration: Annotated[Optional[int], typer.Option(help="Mine the evaluation of this loop iteration (name itNNN).")] = None,
    min_support: Annotated[int, typer.Option(help="Fewest field comparisons a slice needs.")] = 20,
    budget: Annotated[int, typer.Option(help="Documents the plan asks for.")] = 200,
    limit: Annotated[int, typer.Option(help="Slices printed.")] = 20,
) -> None:
    """Rank the weak slices of an evaluation (Wilson-bounded failure rates), the least sure answers, and the plan they give."""
    from docfactory.engine.loop.cli import mine_command

    with _local_run(run) as folder:
        mine_command(folder, name, iteration, min_support, budget, limit, console, fail)


@app.command("run")
def run_loop_cmd(
    out: Annotated[Path, typer.Option("--out", help="Run folder (created; the same command resumes it).")],
    iterations: Annotated[int, typer.Option("--iterations", help="Loop iterations (0 = the base model).", min=1)] = 3,
    profile: Annotated[str, typer.Option(help="tiny | default | full, or a profile YAML file.")] = "default",
    strategy: Annotated[str, typer.Option(help="hard (mined plan) | uniform (the initial mix: the control arm).")] = "hard",
    budget: Annotated[Optional[int], typer.Option(help="New documents per later iteration (default: the profile's).", min=1)] = None,
    seed: Annotated[int, typer.Option(help="Run seed.")] = 0,
) -> None:
    """The closed loop: generate, augment, train, predict, evaluate; then mine, plan, resynthesize, finetune."""
    from docfactory.engine.loop.cli import run_command

    _lock_run(out, create=True)
    run_command(out, iterations, profile, strategy, budget, seed, console, err, fail)


@app.command()
def report(
    run: Annotated[str, typer.Argument(help="A run folder (or fsspec URL) made by engine run.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="HTML file to write (default RUN/report.html).")] = None,
) -> None:
    """One self-contained HTML report of a loop run: metrics per iteration and slice, errors, worst pages, plans."""
    from docfactory.engine.report import write_report

    from docfactory.engine import storage

    with _local_run(run) as folder:
        try:
            path = write_report(folder, out)
        except (ValueError, FileNotFoundError) as exc:
            fail(str(exc))
        if out is None and storage.is_url(_root(run)):  # the default place is RUN/report.html
            storage.write_bytes(storage.location(_root(run), "report.html"), path.read_bytes())
            path = storage.location(_root(run), "report.html")
    console.print(f"wrote {path}", highlight=False, soft_wrap=True)


@app.command()
def check(
    run: Annotated[Path, typer.Argument(help="Run folder (its evaluation sets RUN/evalsets/* are checked too).")],
    repair: Annotated[bool, typer.Option("--repair", help="Remove leftovers and unlisted files, unlist corrupt shards "
                                         "(a rerun remakes them), rebuild views. Never deletes a complete listed shard.")] = False,
) -> None:
    """Verify every listed shard (exists, size, sha256, rows, schema) and find unlisted or temporary files; exit 1 if anything is wrong."""
    from docfactory.engine.check import CheckError, check_run
    from docfactory.engine.lock import RunLocked

    try:
        report = check_run(run, repair=repair)
    except (CheckError, RunLocked) as exc:
        fail(str(exc))
    if report.findings:
        table = Table(title=f"engine check {run}")
        for column in ("run", "path", "problem", "detail", *(["repair"] if repair else [])):
            table.add_column(column, overflow="fold")  # paths are never cut short
        for f in report.findings:
            table.add_row(_short_run(f.run, report.runs[0]), f.path, f.problem, f.detail, *([f.action] if repair else []))
        console.print(table)
    mb = report.bytes / 1e6
    console.print(f"checked {report.shards} listed shards ({mb:.1f} MB) in {len(report.runs)} catalog(s) in "
                  f"{report.seconds:.2f}s: {len(report.findings)} problem(s)"
                  + (f", {len(report.unresolved)} left unrepaired" if repair else ""), highlight=False, soft_wrap=True)
    if report.findings and not repair:
        console.print(f"repair: engine check {run} --repair", highlight=False, soft_wrap=True)
    if report.unresolved:
        raise typer.Exit(1)


def _short_run(run: str, root: str) -> str:
    return "." if run == root else os.path.relpath(run, root)


SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Model option key=value (repeatable), e.g. --set train.epochs=3 --set lora.r=16.")]


@app.command()
def train(
    run: Annotated[str, typer.Argument(help="Run folder or fsspec URL (the model is uploaded to RUN/models when done).")],
    model: Annotated[str, typer.Option(help="Registered model: layout | vlm | ... (engine train --model X).")] = "layout",
    iteration: Annotated[int, typer.Option(help="0: train in full; K > 0: LoRA on iteration K's pages + replay (layout).", min=0)] = 0,
    profile: Annotated[Optional[str], typer.Option(help="tiny | default | full (layout's profiles.yaml).")] = None,
    sets: SetOpt = None,
    holdout_templates: HoldoutOpt = None,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore a checkpoint or finished training of this iteration.")] = False,
    base: Annotated[Optional[Path], typer.Option("--base", help="vlm: the local checkpoint folder to finetune (same as --set base=PATH).")] = None,
) -> None:
    """Train a model on RUN's training split -> RUN/models/MODEL/itNNN (run.yaml, scalars, resumable checkpoints)."""
    import json as _json

    from docfactory.engine.train_step import TrainRequest, parse_sets, run_train

    _lock_run(run)
    try:
        options = parse_sets(sets or []) | ({"base": str(base.expanduser().resolve())} if base else {})
        request = TrainRequest(model=model, iteration=iteration, profile=profile, options=options,
                               holdout_templates=[t.strip() for h in holdout_templates or [] for t in h.split(",") if t.strip()],
                               restart=restart, argv=sys.argv)
        out = run_train(run, request, log=lambda m: err.print(m, highlight=False))
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        fail(str(exc).strip("'\""))
    from docfactory.engine import storage

    done = storage.location(out, "done.json")
    summary = _json.loads(storage.read_bytes(done)) if storage.exists(out, "done.json") else {}
    details = ", ".join(f"{k} {v}" for k, v in summary.items() if k in ("steps", "best_val_loss", "stopped", "train_seconds"))
    console.print(f"trained {model} iteration {iteration} -> {out}" + (f" ({details})" if details else ""),
                  highlight=False, soft_wrap=True)


@app.command()
def predict(
    ctx: typer.Context,
    run: Annotated[Optional[str], typer.Argument(help="Run folder or fsspec URL (optional with --images and --checkpoint).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Predictions JSONL to write.")] = Path("predictions.jsonl"),
    model: Annotated[str, typer.Option(help="Registered model: layout | tesseract | command | vlm ...")] = "layout",
    split: Annotated[str, typer.Option(help="Split(s) to predict, comma-separated, or all.")] = "test",
    copies: Annotated[str, typer.Option(help="clean | augmented | both: which page images.")] = "clean",
    preset: Annotated[Optional[str], typer.Option(help="Augmented copies of these presets only (comma-separated).")] = None,
    doc_id: Annotated[Optional[list[str]], typer.Option("--doc-id", help="Only these documents (repeatable).")] = None,
    images: Annotated[Optional[Path], typer.Option("--images", help="A folder of page images instead of the run's pages.")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="Trained model folder (default: RUN/models/MODEL).")] = None,
    iteration: Annotated[Optional[int], typer.Option(help="Model iteration (default: the latest).", min=0)] = None,
    word_source: Annotated[str, typer.Option("--word-source", help="auto (text layer if any, else OCR) | pdf | ocr.")] = "auto",
    predict_cmd: Annotated[Optional[str], typer.Option("--predict-cmd", help="command model: run with {manifest} and {predictions} (or both appended).")] = None,
    holdout_templates: HoldoutOpt = None,
    sets: SetOpt = None,
    limit: Annotated[Optional[int], typer.Option(help="At most this many pages.", min=1)] = None,
    workers: Annotated[int, typer.Option(help="Processes, each loading the model once (1: in this process).", min=1)] = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Predict pages of RUN (or --images DIR) with a model -> predictions JSONL for engine evaluate."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from docfactory.engine.predict_step import PredictRequest, run_predict
    from docfactory.engine.train_step import parse_sets

    if run is None and images is None:
        fail("give a run folder, or --images DIR (with --checkpoint)")
    if run is not None:
        _lock_run(run)  # the OCR cache writes shards into the run
        _verify(run, ("documents", "augmented"))
    try:
        request = PredictRequest(
            model=model, out=out, splits=None if split == "all" else {s.strip() for s in split.split(",") if s.strip()},
            copies=copies, presets={p.strip() for p in preset.split(",")} if preset else None, doc_ids=doc_id or None,
            images=images, checkpoint=checkpoint, iteration=iteration, word_source=word_source, predict_cmd=predict_cmd,
            holdout_templates=[t.strip() for h in holdout_templates or [] for t in h.split(",") if t.strip()],
            options=parse_sets(sets or []), limit=limit)
        with Progress(TextColumn("predict"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
            task = progress.add_task("predict", total=None)
            result = run_predict(run, request, on_page=lambda done, total: progress.update(task, completed=done, total=total),
                                 executor=_executor(ctx, executor, ray_address, workers), workers=workers)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        fail(str(exc).strip("'\""))
    for line in result.errors[:10]:
        err.print(f"[yellow]warning:[/] the model raised on {line}", highlight=False)
    if result.errors:
        err.print(f"{len(result.errors)} page(s) are rows with an `error` (engine evaluate scores them as predictor_error)",
                  highlight=False)
    ocr = f"; OCR {result.ocr_misses} pages read, {result.ocr_hits} from the cache" if result.ocr_hits or result.ocr_misses else ""
    console.print(f"predicted {result.pages} pages with {model} in {result.seconds:.1f}s -> {result.out}{ocr}",
                  highlight=False, soft_wrap=True)
    if run is not None:
        console.print(f"score it: engine evaluate {run} --predictions {result.out}", highlight=False, soft_wrap=True)


# -- templates ----------------------------------------------------------------------------------

def _registry(dirs: list[str]):
    from docfactory.templates import TemplateError, TemplateRegistry

    try:
        return TemplateRegistry(dirs)
    except TemplateError as exc:
        fail(str(exc))


@templates_app.command("list")
def templates_list(templates: TemplateDirs = None) -> None:
    """List the registered templates (built-in and --templates folders)."""
    registry = _registry([str(d) for d in templates or []])
    table = Table("name", "kind", "version", "fields", "tables", "folder")
    for name in registry.names():
        t = registry.get(name)
        table.add_row(name, t.kind, t.config.version, str(len(t.config.fields)), ",".join(t.config.tables), str(t.folder))
    console.print(table)
    for name, exc in registry.errors.items():
        err.print(f"[red]broken template {name}:[/] {exc}", highlight=False)


@templates_app.command("show")
def templates_show(name: str, templates: TemplateDirs = None) -> None:
    """Show a template's kind, knobs, fonts and declared fields."""
    from docfactory.templates import TemplateError, UnknownTemplate

    registry = _registry([str(d) for d in templates or []])
    try:
        t = registry.get(name)
    except (TemplateError, UnknownTemplate) as exc:
        fail(str(exc))
    c = t.config
    console.print(f"[bold]{name}[/] ({c.kind}, version {c.version}) {t.folder}\n{c.description}")
    console.print(f"fonts: {', '.join(c.fonts)}\nknobs: {', '.join(c.knobs)}\nn_items: {c.n_items[0]}-{c.n_items[1]}"
                  f"\ntables: {', '.join(c.tables) or '-'}", highlight=False)
    table = Table("field", "type", "provider")
    for field, decl in c.fields.items():
        table.add_row(field, decl.type, decl.provider or "")
    console.print(table)


@templates_app.command("validate")
def templates_validate(target: Annotated[Optional[str], typer.Argument(help="Template name or folder; default: all.")] = None,
                       templates: TemplateDirs = None) -> None:
    """Check templates: YAML schema, Jinja syntax, fonts, and a sample render with full label coverage."""
    from docfactory.engine.generate import usable_templates

    dirs = [str(d) for d in templates or []]
    names: list[str] = []
    if target and Path(target).is_dir():
        dirs.append(str(Path(target).resolve()))
        folder = Path(target).resolve()
        names = [folder.name] if (folder / "template.yaml").exists() else sorted(p.name for p in folder.iterdir() if (p / "template.yaml").exists())
    elif target:
        names = [target]
    registry = _registry(dirs)
    for name in names:
        if name not in registry.templates and name not in registry.errors:
            fail(f"unknown template {name!r} (known: {', '.join(registry.names())})")
    usable, errors = usable_templates(registry, names)
    for name in usable:
        console.print(f"[green]ok[/] {name}")
    for message in errors:
        err.print(f"[bold red]error:[/] {message}", highlight=False)
    if errors:
        raise typer.Exit(1)


@templates_app.command("preview")
def templates_preview(name: str, out: Annotated[Path, typer.Option("--out", help="PNG to write.")],
                      seed: int = 0, templates: TemplateDirs = None) -> None:
    """Render a sample page with field (red) and cell (blue) boxes drawn on it."""
    from docfactory.generators import generate_pages, sample_spec
    from docfactory.generators.preview import draw_boxes
    from docfactory.templates import TemplateError, UnknownTemplate

    registry = _registry([str(d) for d in templates or []])
    try:
        template = registry.get(name)
    except (TemplateError, UnknownTemplate) as exc:
        fail(str(exc))
    records, rejections = generate_pages([sample_spec(seed, 0, [template], prefix="preview")], registry)
    if rejections:
        fail(f"{name}: sample document rejected ({rejections[0].stage}): {rejections[0].reason}")
    out.parent.mkdir(parents=True, exist_ok=True)
    draw_boxes(records[0]).save(out)
    console.print(f"wrote {out} ({records[0].width}x{records[0].height}, {len(records[0].fields)} fields, "
                  f"{sum(len(t.cells) for t in records[0].tables)} cells; page 1 of {records[0].n_pages})")


@templates_app.command("new")
def templates_new(name: str, source: Annotated[str, typer.Option("--from", help="Template to copy.")] = "invoice_classic",
                  dest: Annotated[Path, typer.Option("--dir", help="Folder to create it in.")] = Path("templates"),
                  templates: TemplateDirs = None) -> None:
    """Start a new template as a copy of an existing one (then edit it and run validate)."""
    from docfactory.templates import TemplateError, UnknownTemplate

    registry = _registry([str(d) for d in templates or []])
    try:
        original = registry.get(source)
    except (TemplateError, UnknownTemplate) as exc:
        fail(str(exc))
    target = dest / name
    if target.exists():
        fail(f"{target} already exists")
    shutil.copytree(original.folder, target, ignore=shutil.ignore_patterns("__pycache__"))
    console.print(f"created {target} from {source}; edit it, then: engine templates validate {target}")


if __name__ == "__main__":
    app()
