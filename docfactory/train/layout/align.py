"""Gold tags for a page's words from the labelled boxes: a word belongs to the field (or table cell)
whose box covers at least `min_overlap` of it. The same rule serves the PDF text layer (words and
boxes agree exactly) and OCR words (boxes differ by a few pixels, words may merge or split).

Also learned here: how a field's words join into its printed value ("170,85" + "€" is
"170,85\u00a0€", an address's lines join with "\n"), counted per field pattern and context.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from docfactory.train.layout.tags import IGNORE, MAX_HEADER_ROWS, TagSet, pattern_of, span_tag, table_tag


@dataclass
class PageTags:
    field: list[int]
    table: list[int]
    col: list[int]
    span: list[int]
    unknown_patterns: set[str] = field(default_factory=set)  # gold fields the tag set lacks


def _boxes(items: list[dict]) -> np.ndarray:
    if not items:
        return np.zeros((0, 4), dtype=np.float32)
    return np.array([[b["x0"], b["y0"], b["x1"], b["y1"]] for b in items], dtype=np.float32)


def cover_share(words: list[dict], boxes: list[dict]) -> np.ndarray:
    """[n_words, n_boxes]: share of each word's area inside each box."""
    w, b = _boxes([x["box"] for x in words]), _boxes(boxes)
    if len(w) == 0 or len(b) == 0:
        return np.zeros((len(w), len(b)), dtype=np.float32)
    ix = np.clip(np.minimum(w[:, None, 2], b[None, :, 2]) - np.maximum(w[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(w[:, None, 3], b[None, :, 3]) - np.maximum(w[:, None, 1], b[None, :, 1]), 0, None)
    area = np.clip((w[:, 2] - w[:, 0]) * (w[:, 3] - w[:, 1]), 1e-6, None)
    return ix * iy / area[:, None]


def assign(words: list[dict], owners: list[int], boxes: list[dict], min_overlap: float) -> list[int]:
    """For each word, the owner (index) of the box covering most of it, or -1."""
    share = cover_share(words, boxes)
    out = [-1] * len(words)
    if share.size == 0:
        return out
    best = share.argmax(axis=1)
    for i, k in enumerate(best):
        if share[i, k] >= min_overlap:
            out[i] = owners[k]
    return out


def field_owner(words: list[dict], fields: list[dict], min_overlap: float) -> list[int]:
    owners, boxes = [], []
    for f_index, f in enumerate(fields):
        for box in f["boxes"] or []:
            owners.append(f_index)
            boxes.append(box)
    return assign(words, owners, boxes, min_overlap)


def gold_tags(words: list[dict], fields: list[dict], tables: list[dict], tagset: TagSet,
              min_overlap: float = 0.5) -> PageTags:
    """Tags for `words` (in reading order) from the page's labelled fields and table cells."""
    n = len(words)
    tags = PageTags([0] * n, [0] * n, [IGNORE] * n, [IGNORE] * n)
    known = set(tagset.patterns)
    started: set[int] = set()
    for i, f_index in enumerate(field_owner(words, fields, min_overlap)):
        if f_index < 0:
            continue
        pattern = pattern_of(fields[f_index]["name"])
        if pattern not in known:
            tags.unknown_patterns.add(pattern)
            continue
        tags.field[i] = tagset.field_tag(pattern, f_index not in started)
        started.add(f_index)
    _table_tags(words, tables, tagset, min_overlap, tags)
    return tags


def _table_tags(words: list[dict], tables: list[dict], tagset: TagSet, min_overlap: float, tags: PageTags) -> None:
    owners, boxes, cells = [], [], []
    for t_index, t in enumerate(tables):
        for cell in t["cells"] or []:
            owners.append(len(cells))
            boxes.append(cell["box"])
            cells.append((t_index, cell))
    header_index: dict[int, dict[int, int]] = {}  # table -> header row -> its index among header rows
    for t_index, t in enumerate(tables):
        rows: dict[int, list[bool]] = {}
        for cell in t["cells"] or []:
            rows.setdefault(cell["row"], []).append(bool(cell["header"]))
        headers = sorted(r for r, flags in rows.items() if all(flags))
        header_index[t_index] = {r: min(k, MAX_HEADER_ROWS - 1) for k, r in enumerate(headers)}
    seen_tables: set[int] = set()
    seen_cells: set[int] = set()
    body_row: dict[int, int] = {}
    for i, c_index in enumerate(assign(words, owners, boxes, min_overlap)):
        if c_index < 0:
            continue
        t_index, cell = cells[c_index]
        header = header_index[t_index].get(cell["row"])
        first = t_index not in seen_tables
        seen_tables.add(t_index)
        if c_index in seen_cells:
            role = "ID" if header is None else "IH"
        elif header is not None:
            role = f"H{header}"
        elif body_row.get(t_index) != cell["row"]:
            role = "R"
            body_row[t_index] = cell["row"]
        else:
            role = "C"
        seen_cells.add(c_index)
        tags.table[i] = table_tag(role, first and not role.startswith("I"))
        tags.col[i] = min(int(cell["col"]), tagset.max_cols - 1)
        tags.span[i] = span_tag(int(cell["colspan"]), int(cell["rowspan"]))


def char_class(ch: str) -> str:
    return "d" if ch.isdigit() else "a" if ch.isalpha() else "o"


def separator_key(prev: dict, nxt: dict) -> str:
    same = "s" if prev.get("vline") == nxt.get("vline") else "n"
    return f"{same}{char_class(prev['text'][-1])}{char_class(nxt['text'][0])}"


def field_members(words: list[dict], fields: list[dict], min_overlap: float = 0.5) -> dict[int, list[dict]]:
    """field index -> its words in reading order (field_owner: the box covering half of a word)."""
    members: dict[int, list[dict]] = {}
    for word, f_index in zip(words, field_owner(words, fields, min_overlap)):
        if f_index >= 0:
            members.setdefault(f_index, []).append(word)
    return members


def separator_counts(words: list[dict], fields: list[dict], min_overlap: float = 0.5) -> Counter:
    """Counter of (pattern, context, separator) seen between a field's consecutive words, where the
    words spell the value exactly (the PDF text layer)."""
    counts: Counter = Counter()
    for f_index, group in field_members(words, fields, min_overlap).items():
        value, pos, spans = fields[f_index]["value"], 0, []
        for w in group:
            start = value.find(w["text"], pos)
            if start < 0:
                break
            spans.append((start, start + len(w["text"])))
            pos = start + len(w["text"])
        else:
            pattern = pattern_of(fields[f_index]["name"])
            for k in range(1, len(group)):
                sep = value[spans[k - 1][1]:spans[k][0]]
                if sep.strip() == "" and len(sep) <= 2:
                    counts[(pattern, separator_key(group[k - 1], group[k]), sep)] += 1
    return counts


# Brackets and quotes a value's first or last word may carry that the value does not: "(HRB 105673)"
# is printed as one word with its brackets, the label holds HRB 105673.
WRAPPERS = "()[]{}<>\"'“”‘’:;,"


def wrapper_counts(words: list[dict], fields: list[dict], min_overlap: float = 0.5) -> Counter:
    """Counter of (pattern, end, char): for a field's first (end 'lead') and last (end 'trail') word,
    the wrapper character the word has there and the value does not, or '' when the word is clean."""
    counts: Counter = Counter()
    for f_index, group in field_members(words, fields, min_overlap).items():
        value, pattern = fields[f_index]["value"].strip(), pattern_of(fields[f_index]["name"])
        first, last = group[0]["text"], group[-1]["text"]
        if not value:
            continue
        lead = first[0] if first[0] in WRAPPERS and not value.startswith(first[0]) else ""
        trail = last[-1] if last[-1] in WRAPPERS and not value.endswith(last[-1]) else ""
        counts[(pattern, "lead", lead)] += 1
        counts[(pattern, "trail", trail)] += 1
    return counts
