"""Storage and orchestration: shards, the DuckDB catalog, and the steps that write them.

    from docfactory.engine import open_catalog, run_generate, GenerateConfig
    with open_catalog("runs/r1", read_only=True) as catalog:
        catalog.frame("SELECT template, count(*) FROM documents GROUP BY 1")
"""

from importlib import import_module

# Imported on first use (PEP 562): the generator pulls in WeasyPrint and PyMuPDF (~1 s), which
# the catalog, the query command and every spawned worker that only reads shards do not need.
_LAZY = {
    "Catalog": "docfactory.engine.catalog", "open_catalog": "docfactory.engine.catalog",
    "GenerateConfig": "docfactory.engine.generate", "GenerateSummary": "docfactory.engine.generate",
    "run_generate": "docfactory.engine.generate",
    "ShardInfo": "docfactory.engine.shards", "write_shard": "docfactory.engine.shards",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LAZY[name]), name)
