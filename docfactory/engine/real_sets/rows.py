"""A real page -> a `documents` row: the image as it came, its words, the gold fields under the
kind's names, and `source = 'real'` with the dataset's name (slice columns).

Real pages have no boxes from a layout: a field's `boxes` hold the dataset's own boxes where it has
them (FUNSD answers) and are empty otherwise; tables carry their HTML and no cells. Consumers that
need boxes (augment, emit, train) refuse an imported set instead of reading empty lists as truth.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from decimal import Decimal

from docfactory import __version__
from docfactory.engine.real_sets.field_map import FieldMap
from docfactory.engine.real_sets.formats import RealPage
from docfactory.evaluate.number_parse import parse_number
from docfactory.generators.content import unflatten

SOURCE_REAL = "real"
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%d-%m-%y", "%Y-%m-%d", "%Y/%m/%d", "%d %b %Y",
                 "%d %B %Y", "%b %d, %Y")


def page_row(page: RealPage, fmap: FieldMap, image: bytes, size: tuple[int, int], words: list[dict]) -> dict:
    """The documents row of one imported page (`words`: [{"text", "box", "line"}], any order)."""
    values = fmap.map_labels(page.labels, page.where) if page.labels else {}
    fields = []
    for name in sorted(values, key=_natural):
        value = str(values[name])
        kind = fmap.type_of(name)
        source_key = next((k for k, v in page.labels.items() if fmap.target(k) == name), None)
        fields.append({"name": name, "type": kind, "value": value, "normalized": normalize(value, kind),
                       "boxes": [dict(b) for b in page.boxes.get(source_key, [])] if source_key else []})
    words, lines = _words_and_lines(words)
    tables = [_table(html, i) for i, html in enumerate(page.tables)]
    n_items = len({f["name"].split(".")[1] for f in fields if f["name"].startswith("items.")})
    return {
        "doc_id": f"{fmap.dataset}-{page.doc_id}", "template": fmap.dataset, "template_version": "real",
        "kind": fmap.kind, "seed": 0,
        "knobs": {"locale": fmap.locale, "currency": fmap.currency or None, "n_items": n_items, "tax_rate": None,
                  "discount_rate": None, "font": None, "dpi": None},
        "content_hash": hashlib.sha256(image).hexdigest(), "page": 0, "n_pages": 1,
        "width": size[0], "height": size[1], "dpi": None, "image": image, "words": words, "lines": lines,
        "fields": fields, "tables": tables,
        "ground_truth": json.dumps(unflatten({f["name"]: f["value"] for f in fields}), ensure_ascii=False, sort_keys=True),
        "split": "test", "generator_version": __version__, "source": SOURCE_REAL, "dataset": fmap.dataset,
    }


def normalize(value: str, kind: str) -> str:
    """The field type's normal form where it can be read off the printed value; else the value
    with whitespace collapsed (a real label is what was printed, not what a generator meant)."""
    text = " ".join(value.split())
    if kind in ("money", "number", "integer"):
        number = parse_number(text)
        if number is not None:
            return str(number.quantize(Decimal("0.01"))) if kind == "money" else str(number.normalize())
    if kind == "date":
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
    return text


def _words_and_lines(raw: list[dict]) -> tuple[list[dict], list[dict]]:
    """Words with `line` = index into lines (lines in the order their ids first appear)."""
    order: dict = {}
    for w in raw:
        order.setdefault(w.get("line", 0), len(order))
    words = [{"text": w["text"], "box": _box(w["box"]), "line": order[w.get("line", 0)]} for w in raw]
    lines = []
    for index in range(len(order)):
        mine = [w for w in words if w["line"] == index]
        boxes = [w["box"] for w in mine]
        lines.append({"text": " ".join(w["text"] for w in mine),
                      "box": {"x0": min(b["x0"] for b in boxes), "y0": min(b["y0"] for b in boxes),
                              "x1": max(b["x1"] for b in boxes), "y1": max(b["y1"] for b in boxes)}})
    return words, lines


def _box(box: dict) -> dict:
    return {k: float(box[k]) for k in ("x0", "y0", "x1", "y1")}


def _table(html: str, index: int) -> dict:
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    cols = max((sum(int(m or 1) for m in re.findall(r'<td(?:[^>]*colspan="(\d+)")?[^>]*>', row)) for row in rows), default=0)
    return {"name": f"table{index}", "html": html, "n_rows": len(rows), "n_cols": cols,
            "has_spans": "span=" in html, "cells": []}


def _natural(name: str) -> list:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split(".")]
