"""Tags -> the predictions JSONL answer: fields (Donut `gt_parse` nesting, printed strings), table
HTML (PubTabNet style, so TEDS-S measures the predicted structure) and per-field confidences.

Fields: a B tag opens a value, an I tag continues the latest value of its pattern (an address's
second line may come after other words in reading order). List items are counted, not tagged: a
pattern already filled in the current item starts the next one (`items.*.amount` twice -> item 1).
A value's confidence is the lowest probability the tagger gave its words' tags.

Tables: H0-H2 place header cells in header rows; R starts a body row, C another cell; IH/ID continue
the latest cell of the same column. Columns come from the col head; a cell tagged as spanning
columns reaches the next cell's column, one spanning rows reaches down until a row has a cell in
its column. Slots nobody fills are empty cells.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from docfactory.train.layout.align import separator_key
from docfactory.evaluate.number_parse import parse_number
from docfactory.train.layout.tags import SPAN_TAGS, TagSet, table_role
from docfactory.train.layout.value_rules import (TYPED, WHOLE_LINE, LINE_SUPPORT, Span, next_to,
                                                 absorb_islands, amount_like, pattern_share, total_not_below_subtotal, is_date, same_run, address_ends_before_contact, complete_lines, date_part, fill_gaps,
                                                 required_spans, typed_cleanup)


def assemble(words: list[dict], probs: dict[str, np.ndarray], tagset: TagSet, separators: dict,
             types: dict[str, str] | None = None, required: list[str] = ()) -> dict:
    """{"fields", "tables", "confidence"} for one page from its words' tag probabilities."""
    fields, confidence = assemble_fields(words, probs["field"], tagset, separators, types, required)
    tables = assemble_tables(words, probs["table"], probs["col"], probs["span"]) if len(words) else []
    return {"fields": fields, "tables": tables, "confidence": confidence}


# -- fields ------------------------------------------------------------------------------------

def assemble_fields(words: list[dict], field_probs: np.ndarray, tagset: TagSet, separators: dict,
                    types: dict[str, str] | None = None, required: list[str] = ()) -> tuple[dict, dict]:
    """`required`: single-valued patterns every page of this kind prints (see trainer.kind_required);
    one that no word's best tag chose is read from its likeliest word (`required_spans`)."""
    spans: list[Span] = []
    latest: dict[str, Span] = {}
    tags = field_probs.argmax(axis=1) if len(words) else []
    whole_line = {p for p in tagset.patterns if (types or {}).get(p) in WHOLE_LINE and "*" not in p}
    tags = absorb_islands(tags, words, field_probs, tagset, whole_line) if len(words) else tags
    for i, tag in enumerate(tags):
        found = tagset.field_of(int(tag))
        if found is None:
            continue
        pattern, begins = found
        conf = float(field_probs[i, tag])
        # A continuation lines away from the value it would continue starts a value of its own (the
        # shop's name under a handwritten note the tagger took for its start).
        # A name or address begins once a line: a second begin right after its word on the same line
        # continues it ("TEO HENG [STATIONERY] & BOOKS").
        if begins and pattern in whole_line and pattern in latest and same_run(words[latest[pattern].words[-1]], words[i]):
            begins = False
        if begins or pattern not in latest or not next_to(words[latest[pattern].words[-1]], words[i]):
            latest[pattern] = Span(pattern, [i], [conf])
            spans.append(latest[pattern])
        else:
            latest[pattern].words.append(i)
            latest[pattern].confs.append(conf)
    # A number, amount, date or time holds a digit: a typed value without one is a mis-tag ("Vege"
    # as a date), dropped so that a required field is read from its likeliest plausible word instead.
    spans = [s for s in spans if (types or {}).get(s.pattern) not in TYPED
             or any(ch.isdigit() for i in s.words for ch in words[i]["text"])]
    # An amount reads as one: a barcode, a document number or a date tagged as the total is dropped too.
    spans = [s for s in spans if (types or {}).get(s.pattern) != "money"
             or amount_like(" ".join(words[i]["text"] for i in s.words))]
    found = {s.pattern for s in spans}
    spans += required_spans([p for p in required if p not in found], words, field_probs, tagset, tags, types)
    for span in spans:
        span.words = fill_gaps(span.words, words, tags)
        kind = (types or {}).get(span.pattern)
        if kind in WHOLE_LINE and "*" not in span.pattern:  # a list item's line holds its code, number, ...
            # An address line is all address; a name's line may hold a label the tagger is sure of.
            share = pattern_share(field_probs, tagset, span.pattern)
            span.words = complete_lines(span.words, words, tags, stop_at_labels=kind != "address",
                                        accept=None if kind == "address" else lambda j: share[j] >= LINE_SUPPORT)
            if kind == "address":
                span.words = address_ends_before_contact(span.words, words) or span.words
        elif kind == "date":
            span.words = complete_lines(span.words, words, tags, stop_at_labels=True,
                                        accept=lambda j: date_part(words[j]["text"]))
            if not is_date(" ".join(words[i]["text"] for i in span.words)):  # its month or year went elsewhere
                span.words = complete_lines(span.words, words, tags, stop_at_labels=True, through_tagged=True,
                                            accept=lambda j: date_part(words[j]["text"]))
    # A date reads as one once completed: a document number tagged as the date gives way to the
    # likeliest whole date on the page.
    undated = [s for s in spans if (types or {}).get(s.pattern) == "date"
               and not is_date(" ".join(words[i]["text"] for i in s.words))]
    if undated:
        spans = [s for s in spans if s not in undated]
        found = {s.pattern for s in spans}
        scalars = {s.pattern for s in undated if "*" not in s.pattern} - found
        spans += required_spans(sorted(scalars), words, field_probs, tagset, tags, types)
    # A total is never below the subtotal it sums: a total read smaller (a tax, an item) is read again.
    amount = lambda span: parse_number(typed_cleanup(join_words([words[i] for i in span.words], span.pattern,
                                                                 separators), "money"))
    spans = total_not_below_subtotal(spans, words, field_probs, tagset, amount)
    flat: dict[str, tuple[str, float, float]] = {}
    counter = _ItemCounter()
    for span in spans:
        name = counter.name(span.pattern)
        value = typed_cleanup(join_words([words[i] for i in span.words], span.pattern, separators),
                              (types or {}).get(span.pattern))
        weight = sum(span.confs)
        # A scalar field found twice: keep the span the tagger was surer of as a whole (a 3-line
        # address over a stray "No.:" that one confident tag made a value of its own).
        if name not in flat or flat[name][2] < weight:
            flat[name] = (value, min(span.confs), weight)
    tree = unflatten({name: value for name, (value, _, _) in flat.items()})
    return tree, {name: round(conf, 4) for name, (_, conf, _) in flat.items()}


class _ItemCounter:
    """Names list items by counting: `groups.*.rows.*.total` -> `groups.1.rows.3.total`."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}  # list path (pattern prefix) -> current item
        self.filled: dict[str, set[str]] = {}  # list path -> keys filled in its current item

    def name(self, pattern: str) -> str:
        parts = pattern.split(".")
        lists = [".".join(parts[:k]) for k, part in enumerate(parts) if part == "*"]
        if not lists:
            return pattern
        inner = lists[-1]
        rest = pattern[len(inner) + 3:]  # after "<inner>.*."
        for outer in lists[:-1]:  # outer lists first: starting one resets the lists inside it
            if outer not in self.index:
                self._next(outer)
        if inner not in self.index or rest in self.filled[inner]:
            self._next(inner)
        self.filled[inner].add(rest)
        out, k = [], 0
        for part_index, part in enumerate(parts):
            if part == "*":
                out.append(str(self.index[lists[k]]))
                k += 1
            else:
                out.append(part)
        return ".".join(out)

    def _next(self, path: str) -> None:
        self.index[path] = self.index.get(path, -1) + 1
        self.filled[path] = set()
        prefix = path + ".*."
        for inner in [p for p in self.index if p.startswith(prefix)]:
            del self.index[inner]
            self.filled.pop(inner, None)


def join_words(words: list[dict], pattern: str, separators: dict) -> str:
    """A value's words joined as training pages printed them (space, no-break space, newline)."""
    if not words:
        return ""
    out = [words[0]["text"]]
    for prev, nxt in zip(words, words[1:]):
        key = separator_key(prev, nxt)
        sep = separators.get("by_pattern", {}).get(f"{pattern}|{key}")
        if sep is None:
            sep = separators.get("by_context", {}).get(key, " " if key[0] == "s" else "\n")
        out.append(sep + nxt["text"])
    return unwrap("".join(out), separators.get("strip", {}).get(pattern, {}))


_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">", "\u201c": "\u201d", "\u2018": "\u2019", '"': '"', "'": "'"}


def unwrap(value: str, learned: dict[str, str]) -> str:
    """Drop the brackets a value's words carry beyond the value: an opening one at the start whose
    partner never follows ("(HRB" ...), a closing one at the end that was never opened, and a pair
    around the whole value when the training pages printed this field wrapped ("(HRB 105673)").
    A bracket that belongs to the value ("SELANGOR (MR DIY TESCO)") stays."""
    for _ in range(2):
        if len(value) < 2:
            return value
        first, last = value[0], value[-1]
        if first in _PAIRS and _PAIRS[first] == last and first in learned.get("lead", "") and value.count(first) == 1:
            value = value[1:-1].strip()
        elif first in _PAIRS and _PAIRS[first] != first and _PAIRS[first] not in value[1:]:
            value = value[1:].lstrip()
        elif last in _PAIRS.values() and last not in _PAIRS and not any(o in value[:-1] for o, c in _PAIRS.items() if c == last):
            value = value[:-1].rstrip()
        else:
            return value
    return value


def unflatten(flat: dict[str, str]) -> dict:
    """{"items.0.amount": "1"} -> {"items": [{"amount": "1"}]}; list indexes are 0..n-1."""
    root: dict = {}
    for name in sorted(flat, key=_natural):
        parts = name.split(".")
        node = root
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            nxt_is_index = not last and parts[k + 1].isdigit()
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append({})
                if last:
                    node[index] = flat[name]
                else:
                    node = node[index]
                continue
            if last:
                node[part] = flat[name]
            else:
                node = node.setdefault(part, [] if nxt_is_index else {})
    return root


def _natural(name: str) -> list:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split(".")]


# -- tables ------------------------------------------------------------------------------------

@dataclass
class Cell:
    col: int
    words: list[int]
    span: str  # none | col | row | both
    colspan: int = 1
    rowspan: int = 1


@dataclass
class Table:
    header: dict[int, list[Cell]] = field(default_factory=dict)  # header row index -> cells
    body: list[list[Cell]] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)  # in reading order

    def empty(self) -> bool:
        return not self.cells


def assemble_tables(words: list[dict], table_probs: np.ndarray, col_probs: np.ndarray, span_probs: np.ndarray) -> list[str]:
    tables: list[Table] = []
    cols = col_probs.argmax(axis=1)
    spans = span_probs.argmax(axis=1)
    for i, tag in enumerate(table_probs.argmax(axis=1)):
        role, starts = table_role(int(tag))
        if role == "O":
            continue
        if starts or not tables:
            tables.append(Table())
        table = tables[-1]
        col = int(cols[i])
        if role in ("IH", "ID"):
            same = [c for c in table.cells if c.col == col]
            if same or table.cells:
                (same or table.cells)[-1].words.append(i)
                continue
            role = "C" if role == "ID" else "H0"
        cell = Cell(col, [i], SPAN_TAGS[int(spans[i])])
        table.cells.append(cell)
        if role.startswith("H"):
            table.header.setdefault(int(role[1]), []).append(cell)
        elif role == "R" or not table.body:
            table.body.append([cell])
        else:
            table.body[-1].append(cell)
    # A table is at least two rows of cells: a stray word tagged as a table's start is noise.
    return [table_html(t, words) for t in tables if len(t.header) + len(t.body) >= 2 and len(t.cells) >= 2]


def table_html(table: Table, words: list[dict]) -> str:
    rows = [table.header[k] for k in sorted(table.header)] + table.body
    rows = [_merge_same_col(r) for r in rows]
    n_header = len(table.header)
    n_cols = max((c.col for r in rows for c in r), default=0) + 1
    covered: set[tuple[int, int]] = set()
    out_rows: list[str] = []
    for r, row in enumerate(rows):
        starts = {c.col: c for c in row}
        cells_html: list[str] = []
        for k, cell in enumerate(row):
            if (r, cell.col) in covered:
                continue
            colspan = 1
            if cell.span in ("col", "both"):
                nxt = row[k + 1].col if k + 1 < len(row) else n_cols
                colspan = max(1, nxt - cell.col)
                while colspan > 1 and any((r, c) in covered for c in range(cell.col + 1, cell.col + colspan)):
                    colspan -= 1
            rowspan = 1
            if cell.span in ("row", "both"):
                section_end = n_header if r < n_header else len(rows)
                for r2 in range(r + 1, section_end):
                    if any(c2.col in range(cell.col, cell.col + colspan) for c2 in rows[r2]):
                        break
                    rowspan += 1
            for dr in range(rowspan):
                for dc in range(colspan):
                    if dr or dc:
                        covered.add((r + dr, cell.col + dc))
            cell.colspan, cell.rowspan = colspan, rowspan
        for c in range(n_cols):
            cell = starts.get(c)
            if cell is not None and (r, c) not in covered:
                attrs = (f' colspan="{cell.colspan}"' if cell.colspan > 1 else "") + \
                        (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "")
                text = " ".join(words[i]["text"] for i in cell.words).replace("\u00a0", " ")  # cells print plain spaces
                cells_html.append(f"<td{attrs}>{html.escape(text, quote=False)}</td>")
            elif (r, c) not in covered:
                cells_html.append("<td></td>")
        out_rows.append("<tr>" + "".join(cells_html) + "</tr>")
    head = "".join(out_rows[:n_header])
    body = "".join(out_rows[n_header:])
    return "<table>" + (f"<thead>{head}</thead>" if head else "") + f"<tbody>{body}</tbody></table>"


def _merge_same_col(row: list[Cell]) -> list[Cell]:
    merged: dict[int, Cell] = {}
    for cell in row:
        if cell.col in merged:
            merged[cell.col].words.extend(cell.words)
        else:
            merged[cell.col] = Cell(cell.col, list(cell.words), cell.span)
    return [merged[c] for c in sorted(merged)]
