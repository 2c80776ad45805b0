"""The ``slices`` table: one row per scored page image, with the columns an analyst slices by.

One row per clean page (``copy`` NULL, preset 'none', severity 0) and, when the run has an
``augmented`` view, one per augmented copy with its preset and severity. Error tables join it on
(doc_id, page, copy); ``copy`` is NULL for a clean page, so join with ``IS NOT DISTINCT FROM``:

    SELECT s.template, s.preset, count(*) FROM field_errors e JOIN slices s
      ON s.doc_id = e.doc_id AND s.page = e.page AND s."copy" IS NOT DISTINCT FROM e."copy" ...

``choices`` is the document's layout alternatives as JSON ({name: option}; '{}' for a page without
them): ``s.choices->>'total_label'`` slices by one, mining by every one (``choice.NAME``).

It is a native table in catalog.duckdb (so plain ``duckdb RUN/catalog.duckdb`` answers from any
folder), rebuilt by every ``engine evaluate``; a step that adds augmented shards calls
:func:`refresh_slices_view` to pick them up before then.
"""

from __future__ import annotations

from docfactory.engine.catalog import Catalog
from docfactory.engine.evaluation.gold import has_view

AUGMENTED_COLUMNS = ("doc_id", "page", "copy", "preset", "severity")

_PAGES = """
SELECT doc_id, page, template, kind, split, n_pages, knobs.locale AS locale, knobs.currency AS currency,
       knobs.font AS font, knobs.n_items AS n_items, dpi, len(tables) AS n_tables,
       coalesce(list_bool_or([t.has_spans FOR t IN tables]), false) AS has_spans/*SOURCE*//*CHOICES*/
FROM documents
"""
# `source` and `dataset` (engine import) are slice columns; runs written before they existed have neither.
_SOURCE = ", coalesce(source, 'synthetic') AS source, dataset"
_NO_SOURCE = ", 'synthetic' AS source, CAST(NULL AS VARCHAR) AS dataset"
# Runs written before choices were recorded have no `choices` column.
_CHOICES = ", coalesce(choices, '{}') AS choices"
_NO_CHOICES = ", '{}' AS choices"

_CLEAN = """SELECT doc_id, page, CAST(NULL AS INTEGER) AS "copy", * EXCLUDE (doc_id, page),
       'none' AS preset, CAST(0 AS DOUBLE) AS severity FROM pages"""

_AUGMENTED = """SELECT p.doc_id, p.page, CAST(a."copy" AS INTEGER) AS "copy", p.* EXCLUDE (doc_id, page),
       CAST(a.preset AS VARCHAR) AS preset, CAST(a.severity AS DOUBLE) AS severity
FROM pages p JOIN augmented a ON a.doc_id = p.doc_id AND a.page = p.page"""


def refresh_slices_view(catalog: Catalog) -> bool:
    """(Re)create the view; False when the run has no documents yet."""
    if not has_view(catalog, "documents"):
        return False
    body = _CLEAN
    if has_view(catalog, "augmented", AUGMENTED_COLUMNS):
        body += "\nUNION ALL\n" + _AUGMENTED
    pages = _PAGES.replace("/*SOURCE*/", _SOURCE if has_view(catalog, "documents", ("source", "dataset")) else _NO_SOURCE)
    pages = pages.replace("/*CHOICES*/", _CHOICES if has_view(catalog, "documents", ("choices",)) else _NO_CHOICES)
    select = f"WITH pages AS ({pages})\n{body}"
    if catalog.read_only:
        catalog.sql(f"CREATE OR REPLACE TEMP VIEW slices AS {select}")
    else:  # a table of small columns: it answers without the documents shards (any folder, a moved run)
        catalog.replace_object("slices", select, table=True)
    return True
