"""Emission: instruction pairs, block-masked pretraining pages, splits, and exports.

    from docfactory.engine.emit import EmitConfig, run_emit, export_run
    run_emit("runs/r1", EmitConfig(workers=4))                    # pairs + pretrain shards, views
    export_run("runs/r1", "llama-factory", "out/lf")               # files a trainer reads

Names load on first use, so importing `docfactory.engine.emit.splits` (as the engine config does)
does not pull in the exporters, Pillow and pyarrow.
"""

from importlib import import_module

_EXPORTS = {
    "EXPORTERS": "exporters", "ExportError": "exporters", "export_run": "exporters",
    "PairOptions": "pairs", "PretrainOptions": "pretrain", "HOLDOUT": "splits", "SplitConfig": "splits",
    "EmitConfig": "step", "EmitError": "step", "EmitSummary": "step", "run_emit": "step",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"docfactory.engine.emit.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
