"""Semantic layout blocks of a page, from its labels: field groups (a seller block, the totals
section, one line item), tables and table columns, and text blocks of unlabelled lines.

Pretraining masks prefer these blocks over random rectangles, and the reading order of OCR and
markdown answers reads each block as a unit (so a bill-to address is not interleaved with the
ship-to address beside it). Boxes are (x0, y0, x1, y1) tuples in page pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Iterable, Sequence

Box = tuple[float, float, float, float]

# Top-level scalar fields that sit together on a page, by section. Anything else stands alone.
SECTIONS = {
    "totals": {"subtotal", "discount", "discount_rate", "tax", "tax_rate", "tax_base", "total", "shipping", "tip"},
    "meta": {"invoice_number", "invoice_date", "due_date", "receipt_number", "date", "time", "cashier", "currency",
             "report_date", "period", "po_number", "order_date", "delivery_date", "customer_number"},
}


@dataclass
class Block:
    source: str  # field_group | table | table_column | text_block
    name: str
    box: Box
    fields: list[str] = field(default_factory=list)  # the field names it claims (field groups)


def box_of(d: dict) -> Box:
    return (d["x0"], d["y0"], d["x1"], d["y1"])


def union(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def center(b: Box) -> tuple[float, float]:
    return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def contains(outer: Box, point: tuple[float, float]) -> bool:
    return outer[0] <= point[0] <= outer[2] and outer[1] <= point[1] <= outer[3]


def line_height(lines: Sequence[dict]) -> float:
    return median([ln["box"]["y1"] - ln["box"]["y0"] for ln in lines]) if lines else 12.0


def group_key(name: str) -> str:
    """'items.3.amount' -> 'items.3'; 'seller.address' -> 'seller'; 'subtotal' -> 'totals'."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[: i + 1])
    if len(parts) > 1:
        return parts[0]
    return next((section for section, names in SECTIONS.items() if name in names), name)


def table_blocks(tables: Sequence[dict]) -> list[Block]:
    out = []
    for t in tables:
        cells = t["cells"]
        if not cells:
            continue
        out.append(Block("table", t["name"], union(box_of(c["box"]) for c in cells)))
        for col in sorted({c["col"] for c in cells}):
            column = [box_of(c["box"]) for c in cells if c["col"] == col and c["colspan"] == 1]
            if column:
                out.append(Block("table_column", f"{t['name']}:col{col}", union(column)))
    return out


def field_groups(fields: Sequence[dict], lines: Sequence[dict], tables: Sequence[dict] = ()) -> list[Block]:
    """One block per group of fields, grown by the unlabelled lines that caption it: the nearest
    group on the line's row (a "Subtotal" left of its amount, however wide the receipt), or the
    group just below it (a "Bill to" heading). Groups inside a table take no captions: the table
    holds its own header."""
    groups: dict[str, list[dict]] = {}
    for f in fields:
        if f["boxes"]:
            groups.setdefault(group_key(f["name"]), []).append(f)
    h = line_height(lines)
    labelled = [box_of(b) for f in fields for b in f["boxes"]]
    free = [box_of(ln["box"]) for ln in lines if not any(contains(box_of(ln["box"]), center(b)) for b in labelled)]
    table_boxes = [union(box_of(c["box"]) for c in t["cells"]) for t in tables if t["cells"]]
    parts = {key: [box_of(b) for f in members for b in f["boxes"]] for key, members in groups.items()}
    boxes = {key: union(p) for key, p in parts.items()}
    captions: dict[str, list[Box]] = {key: [] for key in groups}
    for lb in free:
        if any(contains(t, center(lb)) or _above(lb, t, 2 * h) for t in table_boxes):
            continue  # a table's header or title: read with the table, not glued to a group beside it
        best = None
        for key, ps in parts.items():
            if any(contains(t, center(boxes[key])) for t in table_boxes):
                continue
            for p in ps:
                if same_row(lb, p) and max(lb[3] - lb[1], p[3] - p[1]) <= 1.6 * min(lb[3] - lb[1], p[3] - p[1]):
                    gap = max(p[0] - lb[2], lb[0] - p[2], 0.0)
                    best = min(best or (gap, key), (gap, key))
        if best is None:
            best = next(((0.0, key) for key, box in boxes.items() if _above(lb, box, 0.8 * h)), None)
        if best is not None:
            captions[best[1]].append(lb)
    return [Block("field_group", key, union([boxes[key]] + captions[key]), [f["name"] for f in members])
            for key, members in groups.items()]


def _above(line: Box, block: Box, gap: float) -> bool:
    return 0 <= block[1] - line[3] < gap and line[0] < block[2] and line[2] > block[0]


def same_row(a: Box, b: Box) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= 0.5 * min(a[3] - a[1], b[3] - b[1])


def text_blocks(lines: Sequence[dict], taken: Sequence[Box]) -> list[Block]:
    """Unlabelled lines outside every other block, joined into blocks of nearby lines."""
    h = line_height(lines)
    free = sorted((box_of(ln["box"]) for ln in lines if not any(contains(t, center(box_of(ln["box"]))) for t in taken)),
                  key=lambda b: (b[1], b[0]))
    blocks: list[list[Box]] = []
    for b in free:
        for blk in blocks:
            u = union(blk)
            if 0 <= b[1] - u[3] < 0.8 * h and b[0] < u[2] and b[2] > u[0]:
                blk.append(b)
                break
        else:
            blocks.append([b])
    return [Block("text_block", f"text{i}", union(blk)) for i, blk in enumerate(blocks)]


def page_blocks(fields: Sequence[dict], tables: Sequence[dict], lines: Sequence[dict]) -> list[Block]:
    tables_ = table_blocks(tables)
    whole = [b.box for b in tables_ if b.source == "table"]
    groups = field_groups(fields, lines, tables)
    taken = whole + [g.box for g in groups]
    return tables_ + groups + text_blocks(lines, taken)
