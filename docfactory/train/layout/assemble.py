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
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from docfactory.train.layout.align import separator_key
from docfactory.train.layout.tags import SPAN_TAGS, TagSet, table_role


@dataclass
class Span:
    pattern: str
    words: list[int]
    confs: list[float]


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
    for i, tag in enumerate(tags):
        found = tagset.field_of(int(tag))
        if found is None:
            continue
        pattern, begins = found
        conf = float(field_probs[i, tag])
        # A continuation lines away from the value it would continue starts a value of its own (the
        # shop's name under a handwritten note the tagger took for its start).
        if begins or pattern not in latest or not _next_to(words[latest[pattern].words[-1]], words[i]):
            latest[pattern] = Span(pattern, [i], [conf])
            spans.append(latest[pattern])
        else:
            latest[pattern].words.append(i)
            latest[pattern].confs.append(conf)
    # A number, amount, date or time holds a digit: a typed value without one is a mis-tag ("Vege"
    # as a date), dropped so that a required field is read from its likeliest plausible word instead.
    spans = [s for s in spans if (types or {}).get(s.pattern) not in _TYPED
             or any(ch.isdigit() for i in s.words for ch in words[i]["text"])]
    found = {s.pattern for s in spans}
    spans += required_spans([p for p in required if p not in found], words, field_probs, tagset, tags, types)
    for span in spans:
        span.words = fill_gaps(span.words, words, tags)
        kind = (types or {}).get(span.pattern)
        if kind in _WHOLE_LINE and "*" not in span.pattern:  # a list item's line holds its code, number, ...
            # An address line is all address; a name's line may hold a label the tagger is sure of.
            share = _pattern_share(field_probs, tagset, span.pattern)
            span.words = complete_lines(span.words, words, tags, stop_at_labels=kind != "address",
                                        accept=None if kind == "address" else lambda j: share[j] >= LINE_SUPPORT)
        elif kind == "date":
            span.words = complete_lines(span.words, words, tags, stop_at_labels=True,
                                        accept=lambda j: date_part(words[j]["text"]))
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


_WHOLE_LINE = {"text", "address"}


def _next_to(last: dict, word: dict) -> bool:
    """Whether `word` may continue a value whose last word is `last`: on its line or on the next
    one, i.e. starting at most about a line below it (another column's lines may sit between them
    in reading order)."""
    a, b = last.get("box"), word.get("box")
    if not a or not b:
        return True
    height = max(a["y1"] - a["y0"], 1.0)
    return b["y0"] - a["y1"] <= 0.8 * height


LINE_SUPPORT = 0.05  # the least probability of the value's tags an untagged word needs to join it


def _pattern_share(field_probs: np.ndarray, tagset: TagSet, pattern: str) -> np.ndarray:
    """Per word, the probability the tagger gave `pattern` (its begin and continue tags together)."""
    tags = [t for t in range(1, field_probs.shape[1]) if tagset.field_of(t)[0] == pattern]
    return field_probs[:, tags].sum(axis=1) if tags else np.zeros(len(field_probs))


def complete_lines(members: list[int], words: list[dict], tags, stop_at_labels: bool,
                   accept: Callable[[int], bool] | None = None) -> list[int]:
    """A name or an address fills its lines: the untagged words before and after a value's words on
    each of its lines join it ("[LIGHTROOM GALLERY] SDN BHD", "[NO.23] BATU 10, TAMAN ..." where an
    unseen word was left untagged). Words tagged as another field stop it, and so does a label
    (a word ending in ":") for a text field, so "CASHIER: MANIS" stays "MANIS". `accept(index)`: only
    words it accepts join (for a name or address, those the tagger gave the value's tags some
    probability, so a label it is sure of stays out; for a date, its day and month words)."""
    if not members or words[members[0]].get("vline") is None:
        return members
    chosen = set(members)
    for line in sorted({words[i]["vline"] for i in members}):
        on_line = [i for i in members if words[i]["vline"] == line]
        for step, start in ((-1, min(on_line)), (1, max(on_line))):
            j, last = start + step, start
            while 0 <= j < len(words) and words[j].get("vline") == line and int(tags[j]) == 0:
                if (stop_at_labels and words[j]["text"].endswith(":")) or (accept and not accept(j)):
                    break
                if not _adjacent(words[last], words[j]):
                    break  # another column's words on the same line
                chosen.add(j)
                last, j = j, j + step
    return sorted(chosen)


def _adjacent(a: dict, b: dict) -> bool:
    """Two words of one line with no more than a word space or two between them (about a line's height)."""
    box_a, box_b = a.get("box"), b.get("box")
    if not box_a or not box_b:
        return True
    gap = max(box_b["x0"] - box_a["x1"], box_a["x0"] - box_b["x1"])
    return gap <= max(box_a["y1"] - box_a["y0"], box_b["y1"] - box_b["y0"])


REQUIRED_FLOOR = 0.05  # below this the likeliest word is a guess: the field stays missing
REQUIRED_CONTINUE = 0.2  # a next word on the same line whose continue-probability reaches this joins


def required_spans(missing: list[str], words: list[dict], field_probs: np.ndarray, tagset: TagSet, tags,
                   types: dict[str, str] | None = None) -> list[Span]:
    """For each required pattern no word's best tag chose: the word likeliest to begin it (at least
    REQUIRED_FLOOR), continued along its line by the words likely to continue it. A real receipt
    prints its total among competing total-like lines, and the tagger often rates the right one
    highest for `total` while another tag still wins its argmax."""
    out: list[Span] = []
    if not len(words):
        return out
    index = {tagset.field_of(t): t for t in range(1, field_probs.shape[1])}
    for pattern in missing:
        begin, inner = index.get((pattern, True)), index.get((pattern, False))
        if begin is None:
            continue
        scores = field_probs[:, begin].copy()
        kind = (types or {}).get(pattern)
        scores[[k for k, w in enumerate(words) if not plausible(w["text"], kind)]] = 0.0
        i = int(scores.argmax())
        conf = float(scores[i])
        if conf < REQUIRED_FLOOR:
            continue
        span = Span(pattern, [i], [conf])
        j = i + 1
        while (inner is not None and j < len(words) and words[j].get("vline") == words[i].get("vline")
               and int(tags[j]) == 0 and field_probs[j, inner] >= REQUIRED_CONTINUE):
            span.words.append(j)
            span.confs.append(float(field_probs[j, inner]))
            j += 1
        out.append(span)
    return out


_TYPED = {"date", "time", "money", "number", "integer", "percent"}
_STRAY = ":;,=|"
# A label OCR glued onto a number or date ("Date:17/01/2018", "TOTAL:9.00"): letters up to a colon.
_GLUED_LABEL = re.compile(r"^[^\W\d_][^:\d]{0,20}:\s*(?=\S*\d)")
_DATE = re.compile(r"(?<!\d)(\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}"
                   r"|\d{1,2} ?[A-Za-z]{3,9}\.?,? ?(?:\d{4}|\d{2}))")
_MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}


def typed_cleanup(value: str, kind: str | None) -> str:
    """A number or date never starts or ends with a label's colon or a separator, nor with the label
    itself: OCR glues them on (":12/28/2017", "80.90:", "Date:17/01/2018"). Text values keep theirs."""
    if kind not in _TYPED:
        return value
    cleaned = _GLUED_LABEL.sub("", value.strip())
    cleaned = cleaned.lstrip(_STRAY).rstrip(_STRAY).strip()
    if kind == "date":
        # OCR runs a date into the time beside it ("19-03-201818:08:38") or a stray word: the value is
        # the date the words hold.
        found = _DATE.search(cleaned)
        if found and found.group(0) != cleaned:
            return found.group(0)
    return cleaned or value


def plausible(text: str, kind: str | None) -> bool:
    """Whether a word could be (part of) a value of `kind`: a date, time, amount or number holds a
    digit. Used where no tag chose the word, so the pick is the likeliest word that could be the
    value, not "TOKEN" or "for"."""
    if kind in _TYPED:
        return any(ch.isdigit() for ch in text)
    return True


def date_part(text: str) -> bool:
    """A word that can belong to a date printed in pieces ("05 MAR 2018")."""
    bare = text.strip(".,:;")
    return bool(bare) and ((bare.isdigit() and len(bare) in (1, 2, 4)) or bare.lower()[:3] in _MONTHS)


def fill_gaps(members: list[int], words: list[dict], tags) -> list[int]:
    """A value is contiguous within a visual line: untagged words between two of its words on the
    same line belong to it ("BOOK [TA .K (TAMAN DAYA)] SDN BHD" on a scan whose middle words the
    tagger was unsure of). Words tagged as another field are never taken."""
    out: list[int] = []
    for a, b in zip(members, members[1:] + [None]):
        out.append(a)
        if b is None or b <= a + 1 or words[a].get("vline") is None or words[a].get("vline") != words[b].get("vline"):
            continue
        between = range(a + 1, b)
        if all(int(tags[j]) == 0 for j in between):
            out.extend(between)
    return out


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
