"""Real labelled documents as evaluation sets: `engine import` reads a dataset (SROIE, Donut/CORD,
FUNSD, PubTabNet, or a team's own images + labels.jsonl), maps its labels onto a docfactory kind's
field names and writes a run whose `documents` rows have `source = 'real'`. Such a run is scored
and mined like a synthetic one and is never trained on.

    from docfactory.engine.real_sets import ImportRequest, import_set
    import_set("runs/sroie", ImportRequest(src=Path("../shared/data/sroie"), fmt="sroie"))
"""

from docfactory.engine.real_sets.field_map import FieldMap, FieldMapError, load_field_map
from docfactory.engine.real_sets.formats import READERS, RealPage, RealSetError, read_source
from docfactory.engine.real_sets.importer import (DEFAULT_WORD_SOURCE, WORD_SOURCES, ImportRequest, ImportResult,
                                                  import_set)
from docfactory.engine.real_sets.rows import SOURCE_REAL


def is_real_run(run_dir) -> bool:
    """Whether a run was made by `engine import` (so: evaluation only). Read from the catalog's step
    record, not the shards, so a corrupt shard is still named by the step's own verification."""
    from docfactory.engine.catalog import open_catalog

    with open_catalog(run_dir, read_only=True) as catalog:
        has = catalog.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'step_configs'").fetchone()[0]
        return bool(has) and catalog.sql("SELECT count(*) FROM step_configs WHERE step = 'import'").fetchone()[0] > 0


def refuse_real(run_dir, step: str, error: type[Exception]) -> None:
    """Raise `error` when RUN is an imported real set: its pages have no layout boxes to move or
    mask, and real pages are for measuring, never for training."""
    from docfactory.engine import storage

    if storage.is_url(run_dir) or not _has_catalog(run_dir):
        return
    if is_real_run(run_dir):
        raise error(f"{run_dir}: an imported real set (documents.source = 'real'): {step} needs synthetic pages "
                    "(real pages have no layout boxes, and they are for evaluation only, never training)")


def _has_catalog(run_dir) -> bool:
    from pathlib import Path

    from docfactory.engine.catalog import CATALOG_FILE

    return (Path(run_dir) / CATALOG_FILE).exists()


__all__ = ["refuse_real", "DEFAULT_WORD_SOURCE", "FieldMap", "FieldMapError", "ImportRequest", "ImportResult", "READERS", "RealPage",
           "RealSetError", "SOURCE_REAL", "WORD_SOURCES", "import_set", "is_real_run", "load_field_map", "read_source"]
