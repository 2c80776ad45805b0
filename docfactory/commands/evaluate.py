"""engine evaluate, mine and report: score predictions, rank the weak slices, write the HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from docfactory.commands.common import (ExecutorOpt, RayAddressOpt, _executor, _local_run, _lock_run, _root, _verify,
                                        console, err, fail)


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
    match: Annotated[Optional[str], typer.Option("--match", help="A dataset's official string match beside Donut's: "
                     "sroie (whitespace-normalised exact) | exact. Fills field_errors.match and the summary's per-field accuracy.")] = None,
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
        result = evaluate_run(run, predictions, name=name, strict=strict, options=options, splits=split, match=match)
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
    if result.summary.get("match"):
        m = result.summary["match"]
        per = ", ".join(f"{f} {v['accuracy']:.3f} ({v['right']}/{v['values']})" for f, v in m["fields"].items())
        mean = "-" if m["mean_of_fields"] is None else f"{m['mean_of_fields']:.3f}"
        console.print(f"{m['rule']} match: mean of fields {mean}; {per}", highlight=False, soft_wrap=True)
    ceiling = result.summary.get("ocr_ceiling") or {}
    if ceiling.get("overall") is not None:
        per = ", ".join(f"{f} {v['share']:.2f}" for f, v in list(ceiling["fields"].items())[:8])
        console.print(f"OCR ceiling (gold values present in the pages' words): {ceiling['overall']:.3f}; {per}",
                      highlight=False, soft_wrap=True)


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
