"""Rebuild a stored document from its record (template, seed, knobs, choices) and compare it with what the
run holds, column by column: the proof that a record carries all it needs to be re-rendered."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from docfactory.engine.catalog import open_catalog
from docfactory.generators import generate_pages
from docfactory.records import DocSpec, Knobs
from docfactory.templates import TemplateRegistry

_COMPARED = ("template_version", "content_hash", "width", "height", "image", "words", "lines", "fields",
             "tables", "ground_truth", "split", "choices")


@dataclass
class RerenderReport:
    doc_id: str
    pages: int
    differences: list[str]
    rejection: str | None = None

    @property
    def identical(self) -> bool:
        return not self.differences and self.rejection is None


def rerender(run_dir: Path | str, doc_id: str, template_dirs: list[str] = ()) -> RerenderReport:
    with open_catalog(run_dir, read_only=True) as catalog:
        stored = catalog.frame("SELECT * FROM documents WHERE doc_id = ? ORDER BY page", [doc_id]).to_dicts()
    if not stored:
        raise KeyError(f"{doc_id}: no such document in {run_dir}")
    first = stored[0]
    if first.get("source") == "real":
        raise ValueError(f"{doc_id}: a real page imported from {first.get('dataset')} (engine import): there is no "
                         "template and seed to rebuild it from")
    # A run written before choices were recorded has no column (or NULL): its choices are drawn from the seed.
    choices = json.loads(first.get("choices") or "{}")
    spec = DocSpec(doc_id=doc_id, template=first["template"], seed=first["seed"], knobs=Knobs(**first["knobs"]),
                   choices=choices)
    records, rejections = generate_pages([spec], TemplateRegistry(template_dirs))
    if rejections:
        return RerenderReport(doc_id, len(stored), [], rejections[0].reason)
    fresh = [_comparable(r.to_row()) for r in records]
    differences = []
    if len(fresh) != len(stored):
        differences.append(f"page count: stored {len(stored)}, re-rendered {len(fresh)}")
    for page, (old, new) in enumerate(zip(stored, fresh)):
        for col in _COMPARED:
            if col in old and _comparable_value(old[col]) != new[col]:
                differences.append(f"page {page}: {col} differs")
    return RerenderReport(doc_id, len(stored), differences)


def _comparable(row: dict) -> dict:
    return {k: _comparable_value(v) for k, v in row.items()}


def _comparable_value(value):
    # Stored boxes are float32: compare at that precision so a round trip is not a "difference".
    import numpy as np

    if isinstance(value, float):
        return float(np.float32(value))
    if isinstance(value, dict):
        return {k: _comparable_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_comparable_value(v) for v in value]
    return value
