"""A page's text as OCR lines and as markdown, in reading order; tables as OTSL.

Reading order: the page's lines are grouped into units (a table, a field group with its captions,
or a lone line), the units are ordered by a recursive XY-cut, and each unit is read row by row.
An XY-cut alone reads a key/value column pair ("Subtotal" above "Tax" beside "1,000.00" above
"190.00") column by column; reading labelled groups as units, and refusing a column cut between
sides whose rows line up, keeps such rows together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from docfactory.engine.emit.blocks import Block, Box, same_row, box_of, center, contains, line_height, page_blocks, union


@dataclass
class Unit:
    box: Box
    rows: list[list[int]]  # line indices, row by row, left to right
    table: dict | None = None


def _gaps(spans: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    out, end = [], None
    for s, e in sorted(spans):
        if end is not None and s - end >= min_gap:
            out.append((end, s))
        end = e if end is None else max(end, e)
    return out


def _aligned(a: list[Box], b: list[Box], h: float) -> bool:
    """Do the two sides share rows (a key/value layout) rather than run as independent columns?"""
    hits = sum(any(abs(center(x)[1] - center(y)[1]) < 0.3 * h for y in b) for x in a)
    return hits >= 0.5 * min(len(a), len(b)) and min(len(a), len(b)) > 0


def xy_cut(boxes: Sequence[Box], h: float) -> list[int]:
    def cut(idx: list[int]) -> list[int]:
        if len(idx) <= 1:
            return idx
        ygaps = _gaps([(boxes[i][1], boxes[i][3]) for i in idx], 0.01)
        xgaps = _gaps([(boxes[i][0], boxes[i][2]) for i in idx], 1.5 * h)
        best_y = max(ygaps, key=lambda g: g[1] - g[0], default=None)
        best_x = max(xgaps, key=lambda g: g[1] - g[0], default=None)
        if best_x is not None:
            left = [i for i in idx if boxes[i][2] <= best_x[0]]
            right = [i for i in idx if boxes[i][0] >= best_x[1]]
            aligned = _aligned([boxes[i] for i in left], [boxes[i] for i in right], h)
            if best_y is None or (not aligned and best_x[1] - best_x[0] > best_y[1] - best_y[0]):
                return cut(left) + cut(right)
        if best_y is not None:
            top = [i for i in idx if boxes[i][3] <= best_y[0]]
            return cut(top) + cut([i for i in idx if boxes[i][3] > best_y[0]])
        return sorted(idx, key=lambda i: (boxes[i][1], boxes[i][0]))

    return cut(list(range(len(boxes))))


def _rows(indices: list[int], boxes: Sequence[Box]) -> list[list[int]]:
    """Lines whose vertical extents overlap by half the smaller height share a row."""
    rows: list[list[int]] = []
    for i in sorted(indices, key=lambda i: (center(boxes[i])[1], boxes[i][0])):
        if rows and any(same_row(boxes[i], boxes[j]) for j in rows[-1]):
            rows[-1].append(i)
        else:
            rows.append([i])
    return [sorted(r, key=lambda i: boxes[i][0]) for r in rows]


def units(lines: Sequence[dict], fields: Sequence[dict], tables: Sequence[dict],
          blocks: list[Block] | None = None) -> list[Unit]:
    """The page's lines as reading units, in reading order."""
    boxes = [box_of(ln["box"]) for ln in lines]
    h = line_height(lines)
    blocks = page_blocks(fields, tables, lines) if blocks is None else blocks
    by_name = {t["name"]: t for t in tables}
    holders = [b for b in blocks if b.source == "table"] + sorted(
        (b for b in blocks if b.source == "field_group"), key=lambda b: (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]))
    # A line holding a field's value belongs to that field's group (or table); other lines to the
    # first holder around them.
    group_of = {name: k for k, blk in enumerate(holders) if blk.source == "field_group" for name in blk.fields}
    value_centers = [(center(box_of(b)), group_of[f["name"]]) for f in fields if f["name"] in group_of for b in f["boxes"]]
    members: dict[int, list[int]] = {}
    for i, b in enumerate(boxes):
        owner = next((k for k, blk in enumerate(holders) if blk.source == "table" and contains(blk.box, center(b))), None)
        if owner is None:
            owner = next((k for c, k in value_centers if contains(b, c)), None)
        if owner is None:
            owner = next((k for k, blk in enumerate(holders) if contains(blk.box, center(b))), None)
        members.setdefault(-1 - i if owner is None else owner, []).append(i)
    groups = [(by_name.get(holders[key].name) if key >= 0 and holders[key].source == "table" else None, idx)
              for key, idx in members.items()]
    # A unit lying inside another (a coupon row inside the totals section) is read as part of it:
    # overlapping units have no gap for the XY-cut to order them by.
    groups.sort(key=lambda g: -_area(union(boxes[i] for i in g[1])))
    merged: list[tuple[dict | None, list[int]]] = []
    for table, idx in groups:
        c = center(union(boxes[i] for i in idx))
        host = next((m for m in merged if m[0] is None and table is None and contains(union(boxes[i] for i in m[1]), c)), None)
        if host is None:
            merged.append((table, list(idx)))
        else:
            host[1].extend(idx)
    out = [Unit(union(boxes[i] for i in idx), _rows(idx, boxes), table) for table, idx in merged]
    order = xy_cut([u.box for u in out], h)
    return [out[k] for k in order]


def _area(b: Box) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def ocr_text(lines: Sequence[dict], reading: list[Unit]) -> str:
    """Plain text: one output line per row of a unit, the row's lines joined by a space."""
    return "\n".join(" ".join(lines[i]["text"] for i in row) for u in reading for row in u.rows)


_MD_SPECIAL = re.compile(r"([\\`*_])")
_MD_LEADING = re.compile(r"^(#|>|[-+] |\d+[.)] )")


def md_escape(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LEADING.sub(r"\\\1", text)


def markdown(lines: Sequence[dict], reading: list[Unit]) -> str:
    """Units as paragraphs (a tall first row becomes a heading), tables as GFM tables, or as HTML
    where cells span rows or columns (markdown tables cannot)."""
    h = line_height(lines)
    parts = []
    for u in reading:
        if u.table is not None:
            parts.append(u.table["html"] if u.table["has_spans"] else gfm_table(u.table["cells"]))
            continue
        rows = [" ".join(md_escape(lines[i]["text"]) for i in row) for row in u.rows]
        first = u.rows[0]
        if max(lines[i]["box"]["y1"] - lines[i]["box"]["y0"] for i in first) >= 1.6 * h:
            rows[0] = "# " + rows[0]
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def gfm_table(cells: Sequence[dict]) -> str:
    grid = _grid(cells)
    header_rows = 0
    while header_rows < len(grid) and all(c is not None and c["header"] for c in grid[header_rows]):
        header_rows += 1

    def row(cs):
        return "| " + " | ".join(md_escape(c["text"]).replace("|", "\\|") if c else "" for c in cs) + " |"

    head = grid[0] if header_rows else [None] * len(grid[0])
    body = grid[1:] if header_rows else grid
    return "\n".join([row(head), "|" + "---|" * len(head)] + [row(r) for r in body])


def _grid(cells: Sequence[dict]) -> list[list[dict | None]]:
    top = min(c["row"] for c in cells)
    n_rows = max(c["row"] + c["rowspan"] for c in cells) - top
    n_cols = max(c["col"] + c["colspan"] for c in cells)
    grid: list[list[dict | None]] = [[None] * n_cols for _ in range(n_rows)]
    for c in cells:
        grid[c["row"] - top][c["col"]] = c
    return grid


def otsl(cells: Sequence[dict]) -> str:
    """OTSL (Lysak et al. 2023; docling's tokens): a cell origin is <fcel> (<ched> in the header,
    <ecel> when empty) followed by its text; <lcel>/<ucel>/<xcel> fill the spanned positions to the
    left, above, and both; <nl> ends every row."""
    top = min(c["row"] for c in cells)
    n_rows = max(c["row"] + c["rowspan"] for c in cells) - top
    n_cols = max(c["col"] + c["colspan"] for c in cells)
    tokens = [["<ecel>"] * n_cols for _ in range(n_rows)]
    for c in cells:
        r0, c0 = c["row"] - top, c["col"]
        for r in range(r0, r0 + c["rowspan"]):
            for k in range(c0, c0 + c["colspan"]):
                tokens[r][k] = "<xcel>" if r > r0 and k > c0 else "<ucel>" if r > r0 else "<lcel>" if k > c0 else ""
        tag = "<ecel>" if not c["text"] else "<ched>" if c["header"] else "<fcel>"
        tokens[r0][c0] = tag + (c["text"] or "")
    return "".join("".join(row) + "<nl>" for row in tokens)
