"""Training data for the tagger: the tag set, tagged page examples and value separators, from
PageInputs whose `meta` holds the gold fields and table cells (boxes of the image shown)."""

from __future__ import annotations

from collections import Counter

from docfactory.train.base import PageInput
from docfactory.train.layout.align import gold_tags, separator_counts, wrapper_counts
from docfactory.train.layout.features import PageExample
from docfactory.train.layout.tags import TagSet, pattern_of


class TrainingDataError(ValueError):
    pass


def gold_of(page: PageInput) -> tuple[list[dict], list[dict]]:
    fields, tables = page.meta.get("fields"), page.meta.get("tables")
    if fields is None or tables is None:
        raise TrainingDataError(f"{page.doc_id} page {page.page}: no gold fields/tables in meta (training pages come "
                                "from a run: engine train RUN)")
    return fields, tables


def build_tagset(pages: list[PageInput], max_cols: int) -> TagSet:
    patterns = sorted({pattern_of(f["name"]) for p in pages for f in gold_of(p)[0]})
    if not patterns:
        raise TrainingDataError("no labelled fields in the training pages")
    return TagSet(tuple(patterns), max_cols)


def tagged_examples(pages: list[PageInput], words: list[list[dict]], tagset: TagSet,
                    min_overlap: float) -> tuple[list[PageExample], Counter]:
    """(examples, count of gold field patterns the tag set lacks)."""
    out, unknown = [], Counter()
    for page, page_words in zip(pages, words):
        fields, tables = gold_of(page)
        tags = gold_tags(page_words, fields, tables, tagset, min_overlap)
        unknown.update(tags.unknown_patterns)
        labels = {"field": tags.field, "table": tags.table, "col": tags.col, "span": tags.span}
        out.append(PageExample(page_words, page.width, page.height, labels))
    return out, unknown


def learn_separators(pages: list[PageInput], words: list[list[dict]], min_overlap: float) -> dict:
    """The most common separator per (pattern, context) and per context, from text-layer words; and
    per pattern the wrapper characters (brackets, quotes) its first or last word usually carries
    beyond the value, which the assembler strips ("(HRB 105673)" -> "HRB 105673")."""
    counts: Counter = Counter()
    wrappers: Counter = Counter()
    for page, page_words in zip(pages, words):
        counts.update(separator_counts(page_words, gold_of(page)[0], min_overlap))
        wrappers.update(wrapper_counts(page_words, gold_of(page)[0], min_overlap))
    by_pattern: dict[str, Counter] = {}
    by_context: dict[str, Counter] = {}
    for (pattern, key, sep), n in counts.items():
        by_pattern.setdefault(f"{pattern}|{key}", Counter())[sep] += n
        by_context.setdefault(key, Counter())[sep] += n
    by_end: dict[tuple[str, str], Counter] = {}
    for (pattern, end, char), n in wrappers.items():
        by_end.setdefault((pattern, end), Counter())[char] += n
    strip: dict[str, dict[str, str]] = {}
    for (pattern, end), c in sorted(by_end.items()):
        chars = "".join(sorted(ch for ch, n in c.items() if ch))  # some training pages print it wrapped
        if chars:
            strip.setdefault(pattern, {})[end] = chars
    return {"by_pattern": {k: c.most_common(1)[0][0] for k, c in sorted(by_pattern.items())},
            "by_context": {k: c.most_common(1)[0][0] for k, c in sorted(by_context.items())},
            "strip": strip}
