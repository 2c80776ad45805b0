"""The layout predictor: pages -> words (text layer or OCR) -> tag probabilities -> fields, tables
and per-field confidences, one prediction dict per page."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import functools

import numpy as np
import torch

from docfactory.train.base import PageInput, chunked
from docfactory.train.layout import lora
from docfactory.train.layout.assemble import assemble
from docfactory.train.layout.config import cpu_threads, load_config
from docfactory.train.layout.features import PageExample, batches, collate, page_windows, word_probabilities
from docfactory.train.layout.model import WEIGHTS, load_model
from docfactory.train.layout.trainer import ocr_settings
from docfactory.train.layout.words import page_words

CHUNK = 16  # pages per OCR + forward round (bounded memory, steady progress)


def load_checkpoint(checkpoint: Path, iteration: int | None = None):
    """A models folder (it000/, it001/, ...: the iteration asked, else the latest) or one model folder."""
    checkpoint = Path(checkpoint)
    if (checkpoint / WEIGHTS).exists():
        return load_model(checkpoint)
    return lora.load_iteration(checkpoint, iteration)


class LayoutPredictor:
    name = "layout"

    def __init__(self, checkpoint: Path | str, iteration: int | None = None, word_source: str = "auto",
                 ocr_cache=None, profile: str = "default", threads: int | None = None, model=None):
        config = load_config(profile)
        self.settings, self.workers = ocr_settings(config), config.ocr.workers
        self.word_source, self.ocr_cache = word_source, ocr_cache
        self.max_len, self.overlap = config.model.max_len, config.model.window_overlap
        self.batch_tokens = config.train.batch_tokens
        torch.set_num_threads(cpu_threads(threads or config.train.threads))
        self.model, self.tokenizer, self.meta = model if model is not None else load_checkpoint(Path(checkpoint), iteration)
        self.model.eval()

    def predict(self, pages: Iterable[PageInput]) -> Iterator[dict]:
        for chunk in chunked(pages, CHUNK):
            yield from self._chunk(chunk)

    def _chunk(self, pages: list[PageInput]) -> Iterator[dict]:
        words = page_words(pages, self.word_source, self.settings, self.ocr_cache, self.workers)
        for page, page_word_list, answer in zip(pages, words, self.answers(pages, words)):
            row = {"doc_id": page.doc_id, "page": page.page}
            if page.copy is not None:
                row["copy"] = page.copy
            row.update(answer)
            row["text"] = "\n".join(" ".join(w["text"] for w in line) for line in _lines(page_word_list))
            yield row

    def answers(self, pages: list[PageInput], words: list[list[dict]]) -> list[dict]:
        """{"fields", "tables", "confidence"} per page, for words already read."""
        model, tagset = self.model, self.model.tagset
        examples = [PageExample(ws, p.width, p.height) for p, ws in zip(pages, words)]
        windows = [w for i, e in enumerate(examples) for w in page_windows(i, e, self.tokenizer, self.max_len, self.overlap)]
        logits: list[dict | None] = [None] * len(windows)
        with torch.no_grad():
            for group in batches(windows, self.batch_tokens):
                out = model(**collate([windows[i] for i in group]))
                for row, i in enumerate(group):
                    logits[i] = {h: t[row] for h, t in out.items()}
        results = []
        for index, example in enumerate(examples):
            mine = [(w, l) for w, l in zip(windows, logits) if w.page == index]
            probs = word_probabilities([w for w, _ in mine], [l for _, l in mine], len(example.words))
            probs["field"] = self.within_kind(probs["field"], pages[index].kind)
            required = (self.meta.get("kind_required") or {}).get(pages[index].kind, [])
            results.append(assemble(example.words, probs, tagset, self.meta.get("separators", {}),
                                    self.meta.get("field_types"), required))
        return results

    def within_kind(self, field_probs: np.ndarray, kind: str | None) -> np.ndarray:
        """A page whose kind is known (a run's page, an imported real page) is tagged with that
        kind's fields only: the other patterns' tags get probability 0 before decoding."""
        mask = self._kind_mask(kind) if kind else None
        return field_probs if mask is None or not len(field_probs) else field_probs * mask

    @functools.lru_cache(maxsize=16)
    def _kind_mask(self, kind: str) -> np.ndarray | None:
        allowed = (self.meta.get("kind_patterns") or {}).get(kind)
        if not allowed:
            return None
        tagset, keep = self.model.tagset, set(allowed)
        return np.array([tag == 0 or tagset.field_of(tag)[0] in keep for tag in range(tagset.sizes()["field"])])


def _lines(words: list[dict]) -> list[list[dict]]:
    lines: dict[int, list[dict]] = {}
    for w in words:
        lines.setdefault(w.get("vline", 0), []).append(w)
    return [lines[k] for k in sorted(lines)]
