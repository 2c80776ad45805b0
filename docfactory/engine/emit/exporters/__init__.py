"""Exporters: one module per format, each a function `export(ctx)` writing into ctx.out.

    export_run("runs/r1", "donut", "out/donut")   # ExportError for an unknown format lists the known ones
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from docfactory.engine import storage
from docfactory.engine.catalog import open_catalog
from docfactory.engine.emit.exporters import coco, donut, funsd, hf, llama_factory, sharegpt
from docfactory.engine.emit.exporters.common import ExportContext, ExportError, ExportSummary, prepare_out
from docfactory.engine.emit.splits import SplitConfig

EXPORTERS: dict[str, Callable[[ExportContext], None]] = {
    "sharegpt": sharegpt.export,
    "llama-factory": llama_factory.export,
    "donut": donut.export,
    "hf": hf.export,
    "coco": coco.export,
    "funsd": funsd.export,
}


def export_run(run: Path | str, fmt: str, out: Path | str, *, overwrite: bool = False,
               splits: SplitConfig | None = None) -> ExportSummary:
    """Write RUN in format `fmt` to `out`. Splits: as given, else as the run was emitted with, else
    the default by-document split."""
    from docfactory.engine.emit.step import recorded_splits

    if fmt not in EXPORTERS:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(EXPORTERS)})")
    run, out = storage.run_root(run), Path(out).resolve()  # the run: a local folder or an fsspec URL
    from docfactory.engine.real_sets import refuse_real

    refuse_real(run, "export", ExportError)
    with open_catalog(run, read_only=True) as catalog:
        splits = splits or recorded_splits(catalog) or SplitConfig()
        prepare_out(out, run, overwrite, fmt)
        summary = ExportSummary(fmt, out)
        EXPORTERS[fmt](ExportContext(catalog, out, splits, summary))
    return summary


__all__ = ["EXPORTERS", "ExportError", "ExportSummary", "export_run"]
