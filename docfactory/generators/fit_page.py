"""`page_height: fit` (template.yaml): a slip's page is cut to its content, as a till cuts the roll.

WeasyPrint has no auto page height. The page is laid out as the template declares it (its @page
width, margins, and a height that only has to hold the content); the page then ends where the
content's boxes reach plus the bottom margin. Where nothing on the page depends on the page's height,
the laid-out page is cut there in place: the content's boxes are where a layout at that height would
put them, the page's own backgrounds are laid out again for the cut page, and the picture is the same
pixel for pixel (tests/generators/test_fit_page.py compares both ways). A page with something that
does depend on its height (page-margin boxes, footnotes, fixed or absolute boxes, percentage heights
on the root, viewport units, background images) is laid out again at the fitted height instead, which
costs a second layout. Both ways are pure functions of the HTML and CSS, so the same seed still gives
the same bytes.
"""

from __future__ import annotations

import math
import re
from typing import Callable

import weasyprint
from weasyprint.formatting_structure import boxes as wp
from weasyprint.layout.background import layout_backgrounds

# A slip longer than its declared page is laid out again on this long roll first (about 5.3 m).
ROLL_PX = 20000
# Cut a height-independent page in place (one layout) rather than laying it out again; tests turn it
# off to compare both ways.
CUT_IN_PLACE = True
_VIEWPORT_UNIT = re.compile(r"\d(?:vh|vmin|vmax|vb|[sld]vh)\b", re.IGNORECASE)


class SlipBreaks(ValueError):
    """A `fit` page that breaks into several pages even on the long roll: a forced page break (or a
    slip over 5 m) cannot be cut to one page."""


def fit_to_content(document: weasyprint.Document,
                   relayout: Callable[[weasyprint.CSS], weasyprint.Document], source: str = "") -> weasyprint.Document:
    """The document on one page as tall as its content. `relayout(sheet)` lays the same HTML out with
    `sheet` added last (it must win over the template's @page, hence !important); `source` is the
    HTML and CSS text (a viewport unit in it makes the page height-dependent)."""
    width = document.pages[0]._page_box.margin_width()
    if len(document.pages) > 1:  # the declared height was too short: measure on a long roll
        document = relayout(_page_size(width, ROLL_PX))
        if len(document.pages) > 1:
            raise SlipBreaks(f"page_height: fit lays a slip out on one page, but this one breaks into "
                             f"{len(document.pages)} pages even {ROLL_PX} px tall (a forced page break?)")
    height = fitted_height(document.pages[0]._page_box)
    if CUT_IN_PLACE and not _VIEWPORT_UNIT.search(source) and _height_independent(document.pages[0]._page_box):
        _cut(document.pages[0], height)
        return document
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


def _height_independent(page_box) -> bool:
    """Nothing on the page is placed or sized from the page's height: only the document's root under
    the page box (no margin boxes, footnote area), no fixed or absolute box, no percentage height on
    the root or body, no background fixed to the page, and no image fetched by URL (the cut lays the
    backgrounds out again without fetching; gradients need no fetch)."""
    if len(page_box.children) != 1 or isinstance(page_box.children[0], (wp.MarginBox, wp.FootnoteAreaBox)):
        return False
    root = page_box.children[0]
    body = next((c for c in getattr(root, "children", ()) if _tag(c) == "body"), None)
    for box in (root, body):
        if box is not None and any(_is_percent(box.style[p]) for p in ("height", "min_height", "max_height")):
            return False
    for box in (page_box, root, *_descendants(root)):
        style = box.style
        if style["position"] in ("fixed", "absolute") or "fixed" in style["background_attachment"]:
            return False
        images = (*style["background_image"], style["border_image_source"], style["mask_border_source"])
        if any(kind == "url" for kind, _ in images):
            return False
    return True


def _cut(page, height: float) -> None:
    """End the page `height` CSS px down: the page box's content height shrinks by what lies below,
    and its canvas background is laid out again for the shorter page."""
    box = page._page_box
    box.height -= box.margin_height() - height
    page.height = box.margin_height()
    layout_backgrounds(box, _no_images)


def _no_images(**_):
    raise AssertionError("a page with an image by URL is laid out again, never cut")  # see _height_independent


def _tag(box) -> str | None:
    element = getattr(box, "element", None)
    return element.tag.rsplit("}", 1)[-1] if element is not None and isinstance(element.tag, str) else None


def _is_percent(value) -> bool:
    return getattr(value, "unit", None) == "%"


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
