"""Storage and orchestration: shards, the DuckDB catalog, and the steps that write them.

    from docfactory.engine import open_catalog, run_generate, GenerateConfig
    with open_catalog("runs/r1", read_only=True) as catalog:
        catalog.frame("SELECT template, count(*) FROM documents GROUP BY 1")
"""

from docfactory.engine.catalog import Catalog, open_catalog
from docfactory.engine.generate import GenerateConfig, GenerateSummary, run_generate
from docfactory.engine.shards import ShardInfo, write_shard

__all__ = ["Catalog", "GenerateConfig", "GenerateSummary", "ShardInfo", "open_catalog", "run_generate", "write_shard"]
