"""Gold answers per page, from the catalog's ``documents`` view (and ``augmented`` copies if any).

A page's gold tree holds the fields printed on that page, nested as the ground truth is (Donut
``gt_parse``), with printed strings as values. On a later page of a long document the line items
start at, say, ``items.5``: a model reading that page answers from its own first item, so the page's
lists are compacted, and :meth:`GoldPage.document_path` maps a compacted path back to the field's
name in the document ("items.0.amount" on page 2 -> "items.5.amount").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from docfactory.engine.catalog import Catalog
from docfactory.evaluate.numeric import pattern_of
from docfactory.generators.content import unflatten


@dataclass
class GoldTable:
    name: str
    html: str
    n_rows: int
    n_cols: int
    has_spans: bool


@dataclass
class GoldPage:
    doc_id: str
    page: int
    n_pages: int
    template: str
    kind: str
    locale: str
    tree: dict  # compacted, printed strings
    n_fields: int
    tables: list[GoldTable]
    text: str  # the page's lines, joined by newlines
    types: dict[str, str]  # field pattern -> type, over the whole document
    list_origins: dict[str, list[int]] = field(default_factory=dict)  # compacted list path -> original indexes
    list_keys: set[str] = field(default_factory=set)  # Donut key paths holding lists of items
    leaf_keys: set[str] = field(default_factory=set)  # Donut key paths of plain values

    def document_path(self, compacted: str) -> str:
        """'items.0.amount' (page-relative) -> 'items.5.amount' (the document's field name).

        An index past the gold items (an extra predicted item) continues after the last one."""
        out: list[str] = []
        prefix: list[str] = []  # compacted: list_origins is keyed by compacted list paths
        for part in compacted.split("."):
            origins = self.list_origins.get(".".join(prefix)) if part.isdigit() else None
            if origins:
                index = int(part)
                out.append(str(origins[index] if index < len(origins) else origins[-1] + 1 + index - len(origins)))
            else:
                out.append(part)
            prefix.append(part)
        return ".".join(out)


_SEGMENT = re.compile(r"^(.*?)(?:\[(\d+)\])?$")


def field_paths(page: GoldPage, donut_path: str) -> tuple[str, str]:
    """(document field name, field pattern) for a ``compare_fields`` path ("items[2].amount").

    ``compare_fields`` indexes a list only when it holds more than one item, and indexes the values
    of a plain key when there are several; the page's gold says which keys are item lists, so a
    single item still gets its ".0" and a plain key never gets one."""
    parts: list[str] = []
    donut_key: list[str] = []
    for segment in donut_path.split("."):
        key, index = _SEGMENT.match(segment).groups()
        donut_key.append(key)
        parts.append(key)
        joined = ".".join(donut_key)
        if joined in page.list_keys:
            parts.append(index or "0")
        elif index is not None and joined not in page.leaf_keys:
            parts.append(index)  # a list the gold does not have: keep the model's own index
    compacted = ".".join(parts)
    name = page.document_path(compacted)
    return name, pattern_of(name)


_GOLD_SQL = """
SELECT doc_id, page, n_pages, template, kind, knobs.locale AS locale,
       [{'name': f.name, 'type': f.type, 'value': f.value} FOR f IN fields] AS fields,
       [{'name': t.name, 'html': t.html, 'n_rows': t.n_rows, 'n_cols': t.n_cols, 'has_spans': t.has_spans}
        FOR t IN tables] AS tables,
       [l.text FOR l IN lines] AS lines
FROM documents /*WHERE*/ ORDER BY doc_id, page
"""


def has_view(catalog: Catalog, name: str, columns: tuple[str, ...] = ()) -> bool:
    """Whether a view (or table) ``name`` exists with all of ``columns``."""
    found = {c for (c,) in catalog.sql("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [name]).fetchall()}
    return bool(found) and set(columns) <= found


def load_gold(catalog: Catalog, splits: list[str] | None = None) -> dict[tuple[str, int], GoldPage]:
    """Every documents page's gold (only those of `splits`, when given), keyed by (doc_id, page)."""
    if not has_view(catalog, "documents"):
        raise FileNotFoundError(f"{catalog.run_dir}: no documents in this run (nothing to evaluate against)")
    if splits:
        rows = catalog.sql(_GOLD_SQL.replace("/*WHERE*/", "WHERE list_contains(?, split)"), [list(splits)]).fetchall()
        if not rows:
            raise ValueError(f"{catalog.run_dir}: no pages in split(s) {', '.join(splits)}")
    else:
        rows = catalog.sql(_GOLD_SQL).fetchall()
    types: dict[str, dict[str, str]] = {}
    for doc_id, _, _, _, _, _, fields, _, _ in rows:
        types.setdefault(doc_id, {}).update({pattern_of(f["name"]): f["type"] for f in fields})
    gold: dict[tuple[str, int], GoldPage] = {}
    for doc_id, page, n_pages, template, kind, locale, fields, tables, lines in rows:
        tree, origins = compact(unflatten({f["name"]: f["value"] for f in fields}))
        list_keys, leaf_keys = _donut_keys(tree)
        gold[(doc_id, page)] = GoldPage(
            doc_id, page, n_pages, template, kind, locale, tree, len(fields),
            [GoldTable(**t) for t in tables], "\n".join(lines), types[doc_id], origins, list_keys, leaf_keys)
    return gold


def load_copies(catalog: Catalog) -> dict[tuple[str, int, int], tuple[str, float]]:
    """(doc_id, page, copy) -> (preset, severity) for every augmented copy, if the run has any."""
    if not has_view(catalog, "augmented", ("doc_id", "page", "copy", "preset", "severity")):
        return {}
    rows = catalog.sql('SELECT doc_id, page, "copy", preset, CAST(severity AS DOUBLE) FROM augmented').fetchall()
    return {(d, p, c): (preset, severity) for d, p, c, preset, severity in rows}


def compact(tree: Any, path: str = "", origins: dict[str, list[int]] | None = None) -> tuple[Any, dict[str, list[int]]]:
    """Drop the holes ``unflatten`` leaves in lists (items printed on other pages); record where
    each kept item came from, keyed by its compacted list path."""
    origins = {} if origins is None else origins
    if isinstance(tree, dict):
        return {k: compact(v, f"{path}.{k}" if path else k, origins)[0] for k, v in tree.items()}, origins
    if isinstance(tree, list):
        kept = [(i, v) for i, v in enumerate(tree) if v is not None]
        origins[path] = [i for i, _ in kept]
        return [compact(v, f"{path}.{n}", origins)[0] for n, (_, v) in enumerate(kept)], origins
    return tree, origins


def _donut_keys(tree: Any, key: str = "", lists: set[str] | None = None, leaves: set[str] | None = None):
    lists = set() if lists is None else lists
    leaves = set() if leaves is None else leaves
    if isinstance(tree, dict):
        for k, v in tree.items():
            _donut_keys(v, f"{key}.{k}" if key else k, lists, leaves)
    elif isinstance(tree, list):
        lists.add(key)
        for item in tree:
            _donut_keys(item, key, lists, leaves)
    else:
        leaves.add(key)
    return lists, leaves
