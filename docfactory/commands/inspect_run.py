"""engine query and engine check: read a run's catalog with SQL, and verify its shards."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from docfactory.commands.common import console, fail


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
