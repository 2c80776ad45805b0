"""`page_height: fit` (template.yaml): a slip's page is cut to its content, as a till cuts the roll.

WeasyPrint has no auto page height, so the page is laid out twice: once as the template declares it
(its @page width, margins, and a height that only has to hold the content), then at the height the
content's boxes reach plus the bottom margin. Both layouts are pure functions of the HTML and CSS,
so the same seed still gives the same bytes, and the labels are read from the second layout's boxes.
"""

from __future__ import annotations

import math
from typing import Callable

import weasyprint
from weasyprint.formatting_structure import boxes as wp

# A slip longer than its declared page is laid out again on this long roll first (about 5.3 m).
ROLL_PX = 20000


class SlipBreaks(ValueError):
    """A `fit` page that breaks into several pages even on the long roll: a forced page break (or a
    slip over 5 m) cannot be cut to one page."""


def fit_to_content(document: weasyprint.Document,
                   relayout: Callable[[weasyprint.CSS], weasyprint.Document]) -> weasyprint.Document:
    """The document laid out again on one page as tall as its content; `relayout(sheet)` lays the
    same HTML out with `sheet` added last (it must win over the template's @page, hence !important)."""
    width = document.pages[0]._page_box.margin_width()
    if len(document.pages) > 1:  # the declared height was too short: measure on a long roll
        document = relayout(_page_size(width, ROLL_PX))
        if len(document.pages) > 1:
            raise SlipBreaks(f"page_height: fit lays a slip out on one page, but this one breaks into "
                             f"{len(document.pages)} pages even {ROLL_PX} px tall (a forced page break?)")
    height = fitted_height(document.pages[0]._page_box)
    fitted = relayout(_page_size(width, height))
    if len(fitted.pages) > 1:  # cannot happen for content that fit above at this width; say so if it does
        raise SlipBreaks(f"page_height: fit: the content measured {height} px tall but did not fit on one page of it")
    return fitted


def fitted_height(page_box) -> int:
    """The page height that holds the content: the lowest box's bottom edge, then the page's bottom
    margin, padding and border; rounded up to a whole CSS pixel (the slip never clips a descender)."""
    # The page's margin boxes (@bottom-center page numbers) and footnote area sit at the declared
    # page's bottom whatever the content: only the document's own boxes are measured.
    content = [c for c in page_box.children if not isinstance(c, (wp.MarginBox, wp.FootnoteAreaBox))]
    bottom = max((_bottom(box) for top in content for box in (top, *_descendants(top))),
                 default=page_box.content_box_y())
    return math.ceil(bottom + page_box.padding_bottom + page_box.border_bottom_width + page_box.margin_bottom)


def _page_size(width: float, height: float) -> weasyprint.CSS:
    # Parsed here, not through layout's cache: each slip has its own height. It names no URL.
    return weasyprint.CSS(string=f"@page {{ size: {width!r}px {height!r}px !important; }}")


def _descendants(box):
    for child in getattr(box, "children", ()):
        yield child
        yield from _descendants(child)


def _bottom(box) -> float:
    # The border box's bottom: what is drawn. A margin below the last element is the template's
    # spacing inside its parent, which the parent's own border box already counts.
    try:
        return box.border_box_y() + box.border_height()
    except (TypeError, AttributeError):  # a box not laid out (no position): nothing drawn
        return 0.0
