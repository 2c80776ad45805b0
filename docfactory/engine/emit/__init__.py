"""Emission: instruction pairs, block-masked pretraining pages, splits, and exports.

    from docfactory.engine.emit import EmitConfig, run_emit, export_run
    run_emit("runs/r1", EmitConfig(workers=4))                    # pairs + pretrain shards, views
    export_run("runs/r1", "llama-factory", "out/lf")               # files a trainer reads
"""

from docfactory.engine.emit.exporters import EXPORTERS, ExportError, export_run
from docfactory.engine.emit.pairs import PairOptions
from docfactory.engine.emit.pretrain import PretrainOptions
from docfactory.engine.emit.splits import HOLDOUT, SplitConfig
from docfactory.engine.emit.step import EmitConfig, EmitError, EmitSummary, run_emit

__all__ = ["EXPORTERS", "HOLDOUT", "EmitConfig", "EmitError", "EmitSummary", "ExportError", "PairOptions",
           "PretrainOptions", "SplitConfig", "export_run", "run_emit"]
