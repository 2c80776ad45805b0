"""engine import: a labelled real dataset -> an evaluation run (source = 'real')."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from docfactory.commands.common import _lock_run, console, err, fail


def import_cmd(
    src: Annotated[Path, typer.Argument(help="The dataset: a folder (sroie, funsd, json; donut/pubtabnet: the folder "
                                        "of the JSONL) or the JSONL file itself (donut, json, pubtabnet).")],
    fmt: Annotated[str, typer.Option("--format", help="sroie | donut | funsd | json | pubtabnet.")],
    out: Annotated[Path, typer.Option("--out", help="The run folder to write (an evaluation set; resumable).")],
    field_map: Annotated[Optional[str], typer.Option("--field-map", help="Label keys -> field names: a built-in map "
                         "(sroie, cord) or a YAML file; default: sroie for --format sroie, else the labels' own keys.")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="With no map: the kind whose field names the labels "
                                                "use (receipt | invoice | table).")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Dataset name (the `dataset` and `template` "
                                                   "slice columns); default: the map's.")] = None,
    word_source: Annotated[str, typer.Option("--word-source", help="rapidocr | tesseract | dataset (the dataset's "
                                             "own OCR: SROIE box/*.csv, FUNSD words).")] = "rapidocr",
    workers: Annotated[int, typer.Option(help="OCR threads.", min=1)] = 1,
) -> None:
    """Import labelled real pages as an evaluation run: images, words, gold fields (never trained on)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from docfactory.engine.real_sets import FieldMapError, ImportRequest, RealSetError, import_set
    from docfactory.engine.catalog import StepConfigMismatch

    from docfactory.engine.real_sets import READERS

    if fmt not in READERS:  # before the lock creates the run folder
        fail(f"unknown format {fmt!r} (known: {', '.join(READERS)})")
    _lock_run(out, create=True)
    request = ImportRequest(src=src, fmt=fmt, field_map=field_map, kind=kind, dataset=dataset,
                            word_source=word_source, workers=workers)
    try:
        with Progress(TextColumn("import"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
            task = progress.add_task("import", total=None)
            result = import_set(out, request, on_page=lambda done, total: progress.update(task, completed=done, total=total))
    except (RealSetError, FieldMapError, StepConfigMismatch) as exc:
        fail(str(exc))
    skipped = f" ({result.skipped_shards} shards already there)" if result.skipped_shards else ""
    console.print(f"imported {result.pages} {result.dataset} pages as kind {result.kind} -> {out}{skipped} in "
                  f"{result.seconds:.1f}s (words: {word_source}, {result.ocr_seconds:.1f}s)", highlight=False, soft_wrap=True)
    console.print(f"predict: engine predict {out} --split all --checkpoint MODEL --out preds.jsonl; then "
                  f"engine evaluate {out} --predictions preds.jsonl --match {result.dataset if result.dataset == 'sroie' else 'exact'}",
                  highlight=False, soft_wrap=True)
