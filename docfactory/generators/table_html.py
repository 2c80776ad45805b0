"""Table cells -> PubTabNet-style HTML (thead/tbody, tr, td with colspan/rowspan; th becomes td)."""

from __future__ import annotations

from html import escape

from docfactory.records import TableCell


def cells_to_html(cells: list[TableCell]) -> str:
    rows: dict[int, list[TableCell]] = {}
    for c in cells:
        rows.setdefault(c.row, []).append(c)
    head, body = [], []
    for r in sorted(rows):
        row = sorted(rows[r], key=lambda c: c.col)
        tds = "".join(_td(c) for c in row)
        (head if all(c.header for c in row) and not body else body).append(f"<tr>{tds}</tr>")
    out = "<table>"
    if head:
        out += "<thead>" + "".join(head) + "</thead>"
    out += "<tbody>" + "".join(body) + "</tbody></table>"
    return out


def _td(c: TableCell) -> str:
    attrs = (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "") + (f' colspan="{c.colspan}"' if c.colspan > 1 else "")
    return f"<td{attrs}>{escape(c.text, quote=False)}</td>"
