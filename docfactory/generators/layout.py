"""Lay out HTML with WeasyPrint and read label boxes from its box tree (the real layout), never by
searching the page for the value's text.

Boxes here are in CSS px (1/96 in) of the page; the caller scales them to image pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import weasyprint
from weasyprint.formatting_structure import boxes as wp
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from docfactory.field_types import normalize_text
from docfactory.records import Box, TableCell


@dataclass
class PageLayout:
    width: float
    height: float
    fields: dict[str, list[Box]] = field(default_factory=dict)  # one box per line fragment
    tables: dict[str, list[TableCell]] = field(default_factory=dict)  # boxes in CSS px here


class UnverifiableStyle(ValueError):
    """CSS on a labelled value that changes the glyphs drawn but not the text layer (small caps, case
    features, letter spacing): the image would show what neither the PDF text nor the label says, so
    verification could not catch it. Refused."""

    def __init__(self, field: str, prop: str, value: object):
        self.field = field
        super().__init__(f"data-field=\"{field}\" has {prop}: {value}: it changes the glyphs drawn but not the "
                         "text (the image would disagree with the label); print the value as it should read "
                         "(e.g. capitals in the content) instead")


# Case-changing OpenType features: the text layer keeps the letters, the glyphs change case.
_CASE_FEATURES = {"smcp", "c2sc", "pcap", "c2pc", "unic", "titl", "case"}


def check_label_style(field: str, style) -> None:
    """Raise UnverifiableStyle for glyph-changing CSS on a labelled value's text."""
    if style["font_variant_caps"] != "normal":
        raise UnverifiableStyle(field, "font-variant-caps", style["font_variant_caps"])
    features = style["font_feature_settings"]
    if features != "normal" and any(tag in _CASE_FEATURES and value for tag, value in features):
        raise UnverifiableStyle(field, "font-feature-settings", ", ".join(f"{t} {v}" for t, v in features))
    spacing = style["letter_spacing"]
    if spacing != "normal" and abs(float(spacing)) > 0.5:  # pixels: a spread word reads as letters ("T A X")
        raise UnverifiableStyle(field, "letter-spacing", f"{spacing}px")


class ExternalResource(ValueError):
    """The HTML or CSS asked for a file or URL. A template is self-contained (fonts by family name,
    no images, imports or links): WeasyPrint would otherwise read any local file or fetch any URL."""

    def __init__(self, url: str):
        self.url = url
        super().__init__(f"templates cannot load files or URLs (asked for {url[:200]!r}): a template is "
                         "self-contained, with fonts named by family")


class _RefusingFetcher(URLFetcher):
    """Serves data: URLs only; remembers what it refused (WeasyPrint logs a refusal and goes on)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",))
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        if not url.lower().startswith("data:"):  # inline data reads nothing
            self.refused.append(url)
            raise ExternalResource(url)
        return super().fetch(url, headers)


@lru_cache(maxsize=64)
def stylesheet(css: str) -> weasyprint.CSS:
    # Parsing CSS is a noticeable share of a small page's layout: parse each distinct sheet once.
    # An @import is fetched here, so a sheet that asks for one raises (and is never cached).
    fetcher = _RefusingFetcher()
    sheet = weasyprint.CSS(string=css, base_url=".", url_fetcher=fetcher)  # base: as the HTML's
    if fetcher.refused:
        raise ExternalResource(fetcher.refused[0])
    return sheet


@lru_cache(maxsize=1)
def _font_config() -> FontConfiguration:
    # One Pango font map per process: building it per document cost ~10-20 ms a page.
    return FontConfiguration()


def layout(html: str, css: list[str | weasyprint.CSS]) -> weasyprint.Document:
    """Lay out the page; raises ExternalResource if the HTML or CSS asks for a file or URL. A sheet
    given parsed is used as is (one made for this document only, which the cache would churn on)."""
    fetcher = _RefusingFetcher()
    sheets = [c if isinstance(c, weasyprint.CSS) else stylesheet(c) for c in css]
    document = weasyprint.HTML(string=html, base_url=".", url_fetcher=fetcher).render(
        stylesheets=sheets, font_config=_font_config())
    if fetcher.refused:
        raise ExternalResource(fetcher.refused[0])
    return document


def read_labels(document: weasyprint.Document) -> list[PageLayout]:
    """Field fragments and table cells of every page, from the laid-out boxes."""
    pages = []
    for page in document.pages:
        box = page._page_box
        out = PageLayout(width=box.margin_width(), height=box.margin_height())
        _walk(box, None, None, out, {})
        pages.append(out)
    return pages


def _element_attr(box, name: str) -> str | None:
    element = getattr(box, "element", None)
    return element.get(name) if element is not None else None


def _walk(box, field_name: str | None, line_key, out: PageLayout, grids: dict, table: str | None = None) -> None:
    # A box inherits the field of its nearest ancestor element carrying data-field.
    own = _element_attr(box, "data-field")
    if own is not None and not getattr(box, "is_anonymous", False):
        field_name = own
    if isinstance(box, wp.LineBox):
        line_key = id(box)
    if isinstance(box, wp.TableBox):
        name = _element_attr(box, "data-table")
        if name:
            _read_table(box, name, out, grids)
            table = name
    if isinstance(box, wp.TextBox) and table and box.text.strip():
        check_label_style(f"table {table}", box.style)  # a labelled cell's text is a label too
    if isinstance(box, wp.TextBox) and field_name and box.text.strip():
        check_label_style(field_name, box.style)
        _add_fragment(out.fields.setdefault(field_name, []), grids.setdefault("lines", {}), field_name, line_key, box)
    for child in getattr(box, "children", ()):
        _walk(child, field_name, line_key, out, grids, table)


def _add_fragment(fragments: list[Box], last_line: dict, name: str, line_key, box) -> None:
    """Merge text boxes on the same line box into one fragment box per line."""
    rect = Box(box.position_x, box.position_y, box.position_x + box.width, box.position_y + box.height)
    if fragments and last_line.get(name) == line_key:
        last = fragments[-1]
        fragments[-1] = Box(min(last.x0, rect.x0), min(last.y0, rect.y0), max(last.x1, rect.x1), max(last.y1, rect.y1))
    else:
        fragments.append(rect)
    last_line[name] = line_key


def _grid(table_element) -> dict[int, tuple[int, int, bool]]:
    """Map each cell element (by id) to (row, col, header) with the HTML table algorithm, so rows and
    columns are those of the whole table even when a page holds only part of it."""
    occupied: set[tuple[int, int]] = set()
    cells: dict[int, tuple[int, int, bool]] = {}
    row = 0
    for group in table_element:
        tag = _local(group.tag)
        rows = [group] if tag == "tr" else [r for r in group if _local(r.tag) == "tr"] if tag in ("thead", "tbody", "tfoot") else []
        for tr in rows:
            col = 0
            for cell in tr:
                if _local(cell.tag) not in ("td", "th"):
                    continue
                while (row, col) in occupied:
                    col += 1
                rowspan, colspan = _span(cell, "rowspan"), _span(cell, "colspan")
                for dr in range(rowspan):
                    for dc in range(colspan):
                        occupied.add((row + dr, col + dc))
                cells[id(cell)] = (row, col, tag == "thead" or _local(cell.tag) == "th")
                col += colspan
            row += 1
    return cells


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _span(element, name: str) -> int:
    try:
        return max(1, int(element.get(name, 1)))
    except (TypeError, ValueError):
        return 1


def _read_table(table_box, name: str, out: PageLayout, grids: dict) -> None:
    element = table_box.element
    grid = grids.setdefault(id(element), _grid(element))
    cells = out.tables.setdefault(name, [])
    for group in table_box.children:
        for row in getattr(group, "children", ()):
            for cell in getattr(row, "children", ()):
                if not isinstance(cell, wp.TableCellBox) or id(cell.element) not in grid:
                    continue
                r, c, header = grid[id(cell.element)]
                x, y = cell.border_box_x(), cell.border_box_y()
                cells.append(TableCell(
                    row=r, col=c, rowspan=_span(cell.element, "rowspan"), colspan=_span(cell.element, "colspan"),
                    text=normalize_text("".join(cell.element.itertext())), header=header,
                    box=Box(x, y, x + cell.border_width(), y + cell.border_height()),
                ))
