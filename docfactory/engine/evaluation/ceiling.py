"""The OCR ceiling of an evaluation set: the share of gold values present in its pages' words (in
reading order), per field pattern. A tagger that picks words cannot beat it, so it separates what
the word source loses from what the model gets wrong."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from docfactory.engine.catalog import Catalog
from docfactory.evaluate.numeric import pattern_of
from docfactory.evaluate.ocr_ceiling import value_present

_SQL = """SELECT doc_id, page, words, [{'name': f.name, 'value': f.value} FOR f IN fields] AS fields
FROM documents WHERE len(fields) > 0 /*AND*/ ORDER BY doc_id, page"""


def ocr_ceiling(catalog: Catalog, pages: set[tuple[str, int]] | None = None) -> dict[str, Any]:
    """{"words": what the words are, "overall": share, "fields": {pattern: {present, values, share}}}."""
    from docfactory.train.layout.words import reading_order

    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for doc_id, page, words, fields in catalog.sql(_SQL).fetchall():
        if pages is not None and (doc_id, page) not in pages:
            continue
        texts = [w["text"] for w in reading_order({"text": w["text"], "box": w["box"]} for w in words or [])]
        for f in fields:
            counts[pattern_of(f["name"])][0] += value_present(f["value"], texts)
            counts[pattern_of(f["name"])][1] += 1
    present, values = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    return {"overall": present / values if values else None,
            "fields": {p: {"present": k, "values": n, "share": k / n} for p, (k, n) in sorted(counts.items())}}
