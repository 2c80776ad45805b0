"""Plain typed records shared across packages (the only types generators, engine, evaluate share).

Coordinates are pixels of the page image at the record's dpi, origin top-left, (x0, y0, x1, y1).
A record is one page; fields and cells carry their page so a multi-page document splits cleanly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def scaled(self, factor: float) -> "Box":
        return Box(self.x0 * factor, self.y0 * factor, self.x1 * factor, self.y1 * factor)

    def rounded(self, ndigits: int = 2) -> "Box":
        return Box(*(round(v, ndigits) for v in (self.x0, self.y0, self.x1, self.y1)))


@dataclass(frozen=True)
class Knobs:
    """Every sampled choice that shapes a document besides the seed; all are slice columns."""

    locale: str
    currency: str
    n_items: int
    tax_rate: str  # Decimal as text, e.g. "0.19": exact and sortable in SQL
    discount_rate: str
    font: str
    dpi: int


@dataclass(frozen=True)
class DocSpec:
    """What the generator needs to build one document, byte for byte."""

    doc_id: str
    template: str
    seed: int
    knobs: Knobs
    # template.yaml `choices` drawn: name -> str(option). A name left out is drawn from the seed.
    choices: dict[str, str] = field(default_factory=dict)


@dataclass
class Word:
    text: str
    box: Box
    line: int  # index into the page's lines


@dataclass
class Line:
    text: str
    box: Box


@dataclass
class FieldLabel:
    name: str  # dotted path into the ground truth, e.g. "items.2.amount"
    type: str
    value: str  # the printed string
    normalized: str  # the type's normal form (e.g. "1234.50", "2026-11-21")
    boxes: list[Box] = field(default_factory=list)  # one per rendered line fragment


@dataclass
class TableCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    text: str
    header: bool
    box: Box


@dataclass
class TableLabel:
    name: str
    html: str  # PubTabNet style: <table><thead>…</thead><tbody>…</tbody></table>
    n_rows: int
    n_cols: int
    has_spans: bool
    cells: list[TableCell] = field(default_factory=list)


@dataclass
class PageRecord:
    doc_id: str
    template: str
    template_version: str
    kind: str
    seed: int
    knobs: Knobs
    content_hash: str
    page: int
    n_pages: int
    width: int
    height: int
    dpi: int
    image: bytes  # PNG of the clean page
    words: list[Word]
    lines: list[Line]
    fields: list[FieldLabel]
    tables: list[TableLabel]
    ground_truth: str  # JSON: the document's extraction target (Donut gt_parse nesting)
    split: str
    generator_version: str
    source: str = "synthetic"  # "real": imported from a labelled dataset (engine import), never trained on
    dataset: str | None = None  # the real page's dataset name
    choices: dict[str, str] = field(default_factory=dict)  # the layout alternatives drawn: name -> str(option)

    def to_row(self) -> dict[str, Any]:
        """A dict whose shape matches docfactory.engine.schema.DOCUMENTS_SCHEMA."""
        row = asdict(self)
        row["choices"] = choices_json(self.choices)
        return row


def choices_json(choices: dict[str, str]) -> str:
    """The `choices` column: one JSON object, keys sorted, so equal choices are equal bytes
    (DuckDB: `choices->>'total_label'`)."""
    return json.dumps(choices, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
