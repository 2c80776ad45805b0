"""Read a predictions JSONL file: one object per page, checked line by line against the gold pages.

    {"doc_id": "doc-0000003", "page": 0, "fields": {...}, "tables": ["<table>…"], "text": "…"}

``fields``, ``tables`` and ``text`` are optional (a model answers the tasks it has); ``copy`` names
the augmented copy the model saw (absent or null: the clean page). Every problem becomes a
:class:`PredictionIssue` with its line number and reason, and reading goes on; with ``strict`` the
first one raises :class:`PredictionsError` instead. A line with a problem that leaves it
meaningless (bad JSON, unknown page, a duplicate) is not scored; an unparsable table or an unknown
key is reported and the line is still scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from docfactory.evaluate.teds import _find_table  # the metric's own parse: what it cannot find scores 0

# confidence: per-field, from the predictor; error: the predictor's own failure on this page (e.g.
# an answer that did not parse) — recorded as a `predictor_error` row, the rest is still scored.
KNOWN_KEYS = ("doc_id", "page", "copy", "fields", "tables", "text", "confidence", "error")
TASKS = ("fields", "tables", "text")
MAX_DEPTH = 100  # JSON nesting a line may have: deeper would only exhaust the recursion of the metrics

PageKey = tuple[str, int, int | None]  # (doc_id, page, copy)


@dataclass
class Prediction:
    """One scored page. A task key the line did not carry is None (scored as an empty answer when
    other lines of the file answer that task)."""

    line: int | None  # None: a synthetic empty prediction for a gold page nobody predicted
    doc_id: str
    page: int
    copy: int | None
    fields: dict | None = None
    tables: list[str] | None = None
    text: str | None = None
    bad_tables: set[int] = field(default_factory=set)  # indexes of tables with no <table> to score

    @property
    def key(self) -> PageKey:
        return (self.doc_id, self.page, self.copy)


@dataclass(frozen=True)
class PredictionIssue:
    line: int | None
    doc_id: str | None
    page: int | None
    copy: int | None
    error: str  # bad_json | not_object | bad_value | unknown_key | predictor_error | unknown_doc_id | unknown_page |
    #             unknown_copy | duplicate | unparsable_html | missing_prediction
    reason: str
    scored: bool  # whether the page was still scored


class PredictionsError(ValueError):
    """A malformed predictions file under ``strict``: names the file and line."""


@dataclass
class PredictionSet:
    predictions: list[Prediction]  # valid lines, then synthetic empty ones for missing pages
    issues: list[PredictionIssue]
    tasks: set[str]  # the task keys any valid line carried
    lines: int  # non-blank lines read


def read_predictions(path: Path, pages: set[tuple[str, int]], copies: set[PageKey], strict: bool = False) -> PredictionSet:
    """Parse and check ``path`` against the gold ``pages`` (doc_id, page) and augmented ``copies``."""
    reader = _Reader(Path(path), pages, copies, strict)
    for number, text in _lines(reader.path):
        reader.line(number, text)
    reader.missing()
    return PredictionSet(reader.predictions, reader.issues, reader.tasks, reader.count)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8-sig", errors="replace") as handle:  # -sig: tolerate a BOM
        for number, text in enumerate(handle, 1):
            if text.strip():
                yield number, text


class _Reader:
    def __init__(self, path: Path, pages: set[tuple[str, int]], copies: set[PageKey], strict: bool) -> None:
        self.path, self.pages, self.copies, self.strict = path, pages, copies, strict
        self.doc_ids = {doc_id for doc_id, _ in pages}
        self.predictions: list[Prediction] = []
        self.issues: list[PredictionIssue] = []
        self.seen: dict[PageKey, int] = {}
        self.tasks: set[str] = set()
        self.count = 0

    def issue(self, line: int | None, error: str, reason: str, key: tuple = (None, None, None), scored: bool = False) -> None:
        if self.strict:
            where = f"{self.path}:{line}" if line is not None else str(self.path)
            raise PredictionsError(f"{where}: {error}: {reason}")
        self.issues.append(PredictionIssue(line, *key, error=error, reason=reason, scored=scored))

    def line(self, number: int, text: str) -> None:
        self.count += 1
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            self.issue(number, "bad_json", f"not valid JSON ({exc.msg} at column {exc.colno})")
            return
        except (ValueError, RecursionError) as exc:  # a 5000-digit number, or arrays nested 1000 deep
            self.issue(number, "bad_json", f"not valid JSON ({str(exc).split(';')[0]})")
            return
        if "\\u" in text and _has_surrogate(obj):
            # A lone UTF-16 surrogate ("\ud800") is not text: no Parquet row or UTF-8 file can hold it.
            self.issue(number, "bad_json", "not valid JSON text: a \\u escape encodes a lone UTF-16 surrogate")
            return
        if text.count("[") + text.count("{") > MAX_DEPTH and _depth(obj) > MAX_DEPTH:
            self.issue(number, "bad_json", f"nested deeper than {MAX_DEPTH} levels")
            return
        if not isinstance(obj, dict):
            self.issue(number, "not_object", f"expected a JSON object, got {type(obj).__name__}")
            return
        prediction = self.parse(number, obj)
        if prediction is None or not self.known(number, prediction):
            return
        first = self.seen.get(prediction.key)
        if first is not None:
            self.issue(number, "duplicate", f"same (doc_id, page, copy) as line {first}; the first one is scored",
                       prediction.key)
            return
        self.seen[prediction.key] = number
        if obj.get("error"):
            self.issue(number, "predictor_error", str(obj["error"])[:500], prediction.key, scored=True)
        for key in obj.keys() - set(KNOWN_KEYS):
            self.issue(number, "unknown_key", f"unknown key {key!r} ignored (known: {', '.join(KNOWN_KEYS)})",
                       prediction.key, scored=True)
        for index, html in enumerate(prediction.tables or []):
            if _find_table(html) is None:
                prediction.bad_tables.add(index)
                self.issue(number, "unparsable_html", f"tables[{index}] has no <table> element: {html[:60]!r}",
                           prediction.key, scored=True)
        self.tasks.update(task for task in TASKS if task in obj)
        self.predictions.append(prediction)

    def parse(self, number: int, obj: dict) -> Prediction | None:
        doc_id, page, copy = obj.get("doc_id"), obj.get("page"), obj.get("copy")
        key = (doc_id if isinstance(doc_id, str) else None, page if _is_int(page) else None, copy if _is_int(copy) else None)
        problems = []
        if not isinstance(doc_id, str):
            problems.append(f"doc_id must be a string, got {_shown(doc_id)}")
        if not _is_int(page) or page < 0:
            problems.append(f"page must be an integer >= 0 (0 is the first page), got {_shown(page)}")
        if copy is not None and (not _is_int(copy) or copy < 0):
            problems.append(f"copy must be null (the clean page) or an integer >= 0, got {_shown(copy)}")
        if obj.get("fields") is not None and not isinstance(obj["fields"], dict):
            problems.append(f"fields must be an object, got {type(obj['fields']).__name__}")
        tables = obj.get("tables")
        if tables is not None and not (isinstance(tables, list) and all(isinstance(t, str) for t in tables)):
            problems.append("tables must be a list of HTML strings")
        if obj.get("text") is not None and not isinstance(obj["text"], str):
            problems.append(f"text must be a string, got {type(obj['text']).__name__}")
        if problems:
            self.issue(number, "bad_value", "; ".join(problems), key)
            return None
        return Prediction(number, doc_id, page, copy, _without_null_items(obj.get("fields")), tables, obj.get("text"))

    def known(self, number: int, p: Prediction) -> bool:
        if p.doc_id not in self.doc_ids:
            self.issue(number, "unknown_doc_id", f"no document {p.doc_id!r} in the run", p.key)
        elif (p.doc_id, p.page) not in self.pages:
            self.issue(number, "unknown_page", f"{p.doc_id} has no page {p.page} (pages count from 0)", p.key)
        elif p.copy is not None and p.key not in self.copies:
            self.issue(number, "unknown_copy", f"{p.doc_id} page {p.page} has no augmented copy {p.copy}", p.key)
        else:
            return True
        return False

    def missing(self) -> None:
        """Each copy the file answers for must cover all its gold pages; a gap is scored as empty."""
        predicted = set(self.seen)
        wanted_copies = {copy for _, _, copy in predicted} or {None}
        expected = [(d, p, None) for d, p in sorted(self.pages)] if None in wanted_copies else []
        expected += sorted((k for k in self.copies if k[2] in wanted_copies), key=lambda k: (k[0], k[1], k[2]))
        for key in expected:
            if key not in predicted:
                copy = "" if key[2] is None else f" copy {key[2]}"
                self.issue(None, "missing_prediction", f"no prediction for {key[0]} page {key[1]}{copy}; scored as empty",
                           key, scored=True)
                self.predictions.append(Prediction(None, *key))


def _has_surrogate(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: object) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {json.dumps(value)[:40]}"


def _without_null_items(value):
    """Drop null list entries: a page-2 answer may keep the document's item indexes by padding the
    list with nulls ({"items": [null, null, {...}]}); it means the same as the compact list."""
    if isinstance(value, dict):
        return {k: _without_null_items(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_null_items(v) for v in value if v is not None]
    return value
