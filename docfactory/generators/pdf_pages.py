"""Read rendered PDF pages with PyMuPDF: the page image, words and lines with boxes, and the text
that lies inside given boxes (what verification compares labels against).

PDF coordinates are points (1/72 in); everything returned here is in image pixels at `dpi`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pymupdf
from PIL import Image

from docfactory.records import Box, Line, Word

EDGE_SLACK_PX = 1.0
PNG_COMPRESS_LEVEL = 1  # zlib level 1: ~3x faster than the default for ~15% larger pages


@dataclass
class PageText:
    words: list[Word]
    lines: list[Line]
    chars: list[str]
    centers: np.ndarray  # (n, 2) char centers in pixels
    line_ids: np.ndarray  # (n,) which text line each char came from, to put spaces between lines


def render_png(page: pymupdf.Page, dpi: int) -> tuple[bytes, int, int]:
    pix = page.get_pixmap(dpi=dpi, alpha=False)
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue(), pix.width, pix.height


def read_text(page: pymupdf.Page, dpi: int) -> PageText:
    scale = dpi / 72.0
    words, lines, line_index = [], [], {}
    for x0, y0, x1, y1, text, block, line, _ in page.get_text("words", sort=False):
        key = (block, line)
        if key not in line_index:
            line_index[key] = len(lines)
            lines.append([text, [x0, y0, x1, y1]])
        else:
            entry = lines[line_index[key]]
            entry[0] += " " + text
            b = entry[1]
            entry[1] = [min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)]
        words.append(Word(text, Box(x0, y0, x1, y1).scaled(scale).rounded(), line_index[key]))
    chars, centers, line_ids = [], [], []
    raw = page.get_text("rawdict", flags=0)
    n_line = 0
    for block in raw["blocks"]:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                for ch in span["chars"]:
                    x0, y0, x1, y1 = ch["bbox"]
                    chars.append(ch["c"])
                    centers.append(((x0 + x1) / 2 * scale, (y0 + y1) / 2 * scale))
                    line_ids.append(n_line)
            n_line += 1
    return PageText(
        words=words,
        lines=[Line(text, Box(*b).scaled(scale).rounded()) for text, b in lines],
        chars=chars,
        centers=np.asarray(centers, dtype=np.float64).reshape(-1, 2),
        line_ids=np.asarray(line_ids, dtype=np.int64),
    )


def text_in_boxes(page_text: PageText, boxes: list[Box]) -> str:
    """The page's characters whose centers fall in any of the boxes, in reading order, with a
    space where the text line changes."""
    if not boxes or not page_text.chars:
        return ""
    cx, cy = page_text.centers[:, 0], page_text.centers[:, 1]
    mask = np.zeros(len(page_text.chars), dtype=bool)
    # A ligature's second character is zero-width at the glyph's far edge, i.e. on the box border;
    # a pixel of slack keeps it (a neighbour's centre is half a glyph away, never this close).
    e = EDGE_SLACK_PX
    for b in boxes:
        mask |= (cx >= b.x0 - e) & (cx <= b.x1 + e) & (cy >= b.y0 - e) & (cy <= b.y1 + e)
    out, last_line = [], None
    for i in np.flatnonzero(mask):
        if last_line is not None and page_text.line_ids[i] != last_line:
            out.append(" ")
        out.append(page_text.chars[i])
        last_line = page_text.line_ids[i]
    return "".join(out)
