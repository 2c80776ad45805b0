"""Pages -> Tesseract words (cached by image hash) -> rule-assembled fields and tables."""

from __future__ import annotations

from typing import Iterable, Iterator

from docfactory.train.base import PageInput, chunked
from docfactory.train.layout.assemble import unflatten
from docfactory.train.layout.words import page_words
from docfactory.train.ocr import OcrSettings
from docfactory.train.tesseract_baseline.rules import detect_kind, detect_language, find_fields, find_tables

CHUNK = 16


class TesseractPredictor:
    name = "tesseract"

    def __init__(self, word_source: str = "ocr", ocr_cache=None, lang: str = "eng+deu+fra", psm: int = 3,
                 workers: int = 2):
        self.word_source, self.ocr_cache, self.workers = word_source, ocr_cache, workers
        self.settings = OcrSettings(lang=lang, psm=psm)

    def predict(self, pages: Iterable[PageInput]) -> Iterator[dict]:
        for chunk in chunked(pages, CHUNK):
            yield from self._chunk(chunk)

    def _chunk(self, pages: list[PageInput]) -> Iterator[dict]:
        # The baseline reads the image: the text layer is used only when asked (--word-source pdf/auto).
        source = "ocr" if self.word_source == "auto" else self.word_source
        for page, words in zip(pages, page_words(pages, source, self.settings, self.ocr_cache, self.workers)):
            row = {"doc_id": page.doc_id, "page": page.page}
            if page.copy is not None:
                row["copy"] = page.copy
            row.update(answer(words))
            yield row


def answer(words: list[dict]) -> dict:
    if not words:
        return {"fields": {}, "tables": [], "text": ""}
    lang = detect_language(words)
    kind = detect_kind(words, lang)
    flat = find_fields(words, lang, kind)
    tables, items = find_tables(words, lang)
    fields = unflatten(flat)
    if items and kind != "table":
        fields["items"] = items
    lines: dict[int, list[str]] = {}
    for w in words:
        lines.setdefault(w["vline"], []).append(w["text"])
    return {"fields": fields, "tables": tables, "text": "\n".join(" ".join(ws) for _, ws in sorted(lines.items()))}
