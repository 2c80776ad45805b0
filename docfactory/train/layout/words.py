"""Word sources and reading order.

- `pdf`: the page's PDF text layer (`PageInput.words`): exact, free, born-digital pages only.
- `ocr`: the page image through the OCR engine the settings name (docfactory.train.ocr), cached by
  image hash.
- `tesseract`, `rapidocr`: OCR with that engine, whatever the settings name (comparisons, baselines).
- `auto`: the text layer where the page has one, the settings' OCR engine otherwise (augmented
  copies, scans).

Whatever the source, words are put in one reading order: visual lines (words whose vertical
extents overlap), top to bottom, each left to right. The tagger sees the same order in training
and prediction, and a table row comes out as one run of words.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable

from docfactory.train.base import PageInput
from docfactory.train.ocr import ENGINES, OcrCache, OcrSettings, check_image, ocr_images

SOURCES = ("auto", "pdf", "ocr", *ENGINES)  # an engine's name forces that engine


class WordSourceError(ValueError):
    pass


def page_words(pages: list[PageInput], source: str, settings: OcrSettings, cache: OcrCache | None = None,
               workers: int = 1, on_page=None) -> list[list[dict]]:
    """Each page's words in reading order: [{"text", "box", "conf", "vline"}]."""
    if source not in SOURCES:
        raise WordSourceError(f"unknown word source {source!r} (known: {', '.join(SOURCES)})")
    if source in ENGINES:
        settings = replace(settings, engine=source)
    out: list[list[dict] | None] = [None] * len(pages)
    to_ocr: list[int] = []
    for i, page in enumerate(pages):
        if source == "pdf" or (source == "auto" and page.words is not None):
            if page.words is None:
                raise WordSourceError(f"{_where(page)}: no PDF text layer (an augmented copy or an image file); "
                                      "use an OCR word source (ocr, tesseract, rapidocr) or auto")
            out[i] = [{"text": w["text"], "box": dict(w["box"]), "conf": 1.0} for w in page.words]
        else:
            to_ocr.append(i)
    for i in to_ocr:
        check_image(pages[i].image, _where(pages[i]))
    if to_ocr:
        read = ocr_images([pages[i].image for i in to_ocr], settings, cache, workers,
                          on_page=(lambda j, s: on_page(to_ocr[j], s)) if on_page else None)
        for i, words in zip(to_ocr, read):
            out[i] = [{"text": w["text"], "box": dict(w["box"]), "conf": w.get("conf", 1.0)} for w in words]
    return [reading_order(words) for words in out]


def reading_order(words: Iterable[dict]) -> list[dict]:
    """Group words into visual lines and sort; adds `vline` (the line's index) to each word."""
    items = [w for w in words if w["text"].strip() and _height(w) > 0]
    items.sort(key=lambda w: (_mid(w), w["box"]["x0"]))
    lines: list[list[dict]] = []
    bands: list[tuple[float, float]] = []  # (y0, y1) of each open line
    for w in items:
        b = w["box"]
        placed = False
        # A word joins the last lines it overlaps by half its height (lines are few per band).
        for k in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
            y0, y1 = bands[k]
            overlap = min(y1, b["y1"]) - max(y0, b["y0"])
            if overlap >= 0.5 * min(_height(w), y1 - y0):
                lines[k].append(w)
                bands[k] = (min(y0, b["y0"]) if overlap > 0.8 * _height(w) else y0, y1)
                placed = True
                break
        if not placed:
            lines.append([w])
            bands.append((b["y0"], b["y1"]))
    order = sorted(range(len(lines)), key=lambda k: (bands[k][0] + bands[k][1]) / 2)
    out: list[dict] = []
    for n, k in enumerate(order):
        for w in merge_digit_groups(sorted(lines[k], key=lambda w: w["box"]["x0"])):
            out.append({**w, "vline": n})
    return out


_GROUP_HEAD = re.compile(r"[-+(]?[$£€¥]?\d{1,3}(\u00a0\d{3})*")
_GROUP_TAIL = re.compile(r"\d{3}([.,]\d+)?\W{0,2}")


def merge_digit_groups(line: list[dict]) -> list[dict]:
    """'227' + '077,76' -> '227\u00a0077,76': a number whose thousands are set off by a (no-break)
    space is one word, as it is one value; a column gap is wider than half a word's height."""
    out: list[dict] = []
    for w in line:
        prev = out[-1] if out else None
        if prev is not None and _GROUP_HEAD.fullmatch(prev["text"]) and _GROUP_TAIL.fullmatch(w["text"]) \
                and w["box"]["x0"] - prev["box"]["x1"] < 0.5 * max(_height(w), _height(prev)):
            b, c = prev["box"], w["box"]
            out[-1] = {**prev, "text": prev["text"] + "\u00a0" + w["text"], "conf": min(prev.get("conf", 1.0), w.get("conf", 1.0)),
                       "box": {"x0": min(b["x0"], c["x0"]), "y0": min(b["y0"], c["y0"]), "x1": max(b["x1"], c["x1"]),
                               "y1": max(b["y1"], c["y1"])}}
        else:
            out.append(w)
    return out


def _mid(w: dict) -> float:
    return (w["box"]["y0"] + w["box"]["y1"]) / 2


def _height(w: dict) -> float:
    return w["box"]["y1"] - w["box"]["y0"]


def _where(page: PageInput) -> str:
    copy = "" if page.copy is None else f" copy {page.copy}"
    return f"{page.doc_id} page {page.page}{copy}"
