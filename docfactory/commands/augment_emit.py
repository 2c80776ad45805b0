"""engine augment, emit and export: from a run's documents to scan-like copies, training shards
(instruction pairs, pretraining pages) and the formats other trainers read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from docfactory.commands.common import (ConfigOpt, ExecutorOpt, HoldoutOpt, RayAddressOpt, SplitOpt, _config, _executor,
                                        _has_catalog, _lock_run, console, fail)
from docfactory.commands.summaries import _failed_shards, _print_augment, _print_emit


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
