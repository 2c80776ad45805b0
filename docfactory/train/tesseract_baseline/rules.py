"""The rule assembler: label keywords in the page's language -> the nearest value to the right (same
line) or just below; line-item tables from column alignment under a header line. Template-agnostic:
everything it knows is in keywords.yaml (labels, column headers, title words per language)."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from statistics import median

import yaml

NBSP = "\u00a0"
_TYPES = {
    "date": re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$"),
    "time": re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$"),
    "currency": re.compile(r"^[A-Z]{3}$"),
}
_MONEYISH = re.compile(r"^[-+]?[$£€¥]?[\d.,]*\d[\d.,]*[$£€¥%]?$|^[$£€¥%]$|^[A-Z]{3}$")


@lru_cache(maxsize=1)
def keywords() -> dict:
    return yaml.safe_load((Path(__file__).with_name("keywords.yaml")).read_text(encoding="utf-8"))


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip(":;").strip()


@dataclass
class Line:
    words: list[dict]

    @property
    def y0(self) -> float:
        return min(w["box"]["y0"] for w in self.words)

    @property
    def y1(self) -> float:
        return max(w["box"]["y1"] for w in self.words)


def lines_of(words: list[dict]) -> list[Line]:
    lines: dict[int, list[dict]] = {}
    for w in words:
        lines.setdefault(w["vline"], []).append(w)
    return [Line(sorted(lines[k], key=lambda w: w["box"]["x0"])) for k in sorted(lines)]


def detect_language(words: list[dict]) -> str:
    kw = keywords()
    tokens = {norm(w["text"]) for w in words}
    scores = {}
    for lang in kw["languages"]:
        phrases = [p for f in kw["fields"].values() for p in f.get(lang, [])]
        phrases += [p for c in kw["columns"].values() for p in c.get(lang, [])]
        scores[lang] = sum(1 for p in set(phrases) if all(norm(t) in tokens for t in p.split()))
    return max(scores, key=lambda lang: (scores[lang], lang == "en"))


def detect_kind(words: list[dict], lang: str) -> str:
    tokens = [norm(w["text"]) for w in words]
    titles = keywords()["languages"][lang]["title"]
    scores = {kind: sum(tokens.count(norm(t)) for t in names) for kind, names in titles.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else "receipt"


def _matches(line: Line, phrase: str, used: set[int]) -> list[tuple[int, int]]:
    """(start, end) word spans of `line` spelling `phrase` (case-insensitive, colons ignored)."""
    parts = [norm(p) for p in phrase.split()]
    out = []
    for i in range(len(line.words) - len(parts) + 1):
        span = line.words[i:i + len(parts)]
        if any(id(w) in used for w in span):
            continue
        if all(norm(w["text"]) == p for w, p in zip(span, parts)):
            out.append((i, i + len(parts)))
    return out


def find_fields(words: list[dict], lang: str, kind: str) -> dict[str, str]:
    """Flat field name -> printed value."""
    lines = lines_of(words)
    heights = [w["box"]["y1"] - w["box"]["y0"] for w in words] or [10.0]
    unit = median(heights)
    fields = {n: f for n, f in keywords()["fields"].items() if kind in f["kinds"]}
    labels = sorted(((len(p.split()), len(p), n, p) for n, f in fields.items() for p in f.get(lang, [])), reverse=True)
    used: set[int] = set()
    found: dict[str, str] = {}
    for _, _, name, phrase in labels:
        if name in found:
            continue
        for li, line in enumerate(lines):
            for start, end in _matches(line, phrase, used):
                value = _value(lines, li, start, end, fields[name]["type"], unit, used)
                if value:
                    used.update(id(w) for w in line.words[start:end])
                    used.update(id(w) for w in value)
                    found[name] = join_value(value, fields[name]["type"], lang)
                    break
            if name in found:
                break
    return found


def _value(lines: list[Line], li: int, start: int, end: int, kind: str, unit: float, used: set[int]) -> list[dict]:
    line = lines[li]
    right, last_x = [], line.words[end - 1]["box"]["x1"]
    for w in line.words[end:]:
        if w["box"]["x0"] - last_x > 60 * unit or id(w) in used:  # receipts: label left, value far right
            break
        right.append(w)
        last_x = w["box"]["x1"]
    picked = _typed(right, kind)
    if picked:
        return picked
    x0, x1 = line.words[start]["box"]["x0"] - unit, line.words[end - 1]["box"]["x1"] + 8 * unit
    for below in lines[li + 1: li + 3]:
        if below.y0 - line.y1 > 3 * unit:
            break
        under = [w for w in below.words if w["box"]["x0"] < x1 and w["box"]["x1"] > x0 and id(w) not in used]
        picked = _typed(under, kind)
        if picked:
            return picked
    return []


def _typed(words: list[dict], kind: str) -> list[dict]:
    """The words that make a value of `kind` (a prefix run for numbers, the first match for
    dates/times/currencies, everything for text and ids)."""
    if not words:
        return []
    if kind in _TYPES:
        return next(([w] for w in words if _TYPES[kind].match(w["text"])), [])
    if kind == "money":  # a rate printed before the amount ("VAT 20 % 36.18") is skipped
        kept = [w for k, w in enumerate(words) if not (w["text"].endswith("%") or
                (k + 1 < len(words) and words[k + 1]["text"] == "%"))]
        run = []
        for w in kept:
            if not _MONEYISH.match(w["text"]):
                break
            run.append(w)
        return run if any(any(c.isdigit() for c in w["text"]) for w in run) else []
    if kind == "id":  # an id has a digit: a label word next to another label is not one
        return words[:1] if any(c.isdigit() for c in words[0]["text"]) else []
    return words


def join_value(words: list[dict], kind: str, lang: str) -> str:
    """Words joined as the language prints them: a no-break space before € and % and between
    digit groups in French and German amounts."""
    out = words[0]["text"]
    for prev, nxt in zip(words, words[1:]):
        numeric = kind in ("money", "percent") and lang in ("de", "fr")
        glue = NBSP if numeric and (nxt["text"] in ("€", "%", "$", "£") or (prev["text"].isdigit() and nxt["text"][:1].isdigit())) else " "
        out += glue + nxt["text"]
    return out


# -- tables ------------------------------------------------------------------------------------

def find_tables(words: list[dict], lang: str) -> tuple[list[str], list[dict]]:
    """(table HTML per header line found, items of the first table with description + amount)."""
    kw = keywords()
    lines = lines_of(words)
    unit = median([w["box"]["y1"] - w["box"]["y0"] for w in words] or [10.0])
    headers = {role: [norm(p) for p in names.get(lang, [])] for role, names in kw["columns"].items()}
    end_words = {norm(w) for w in kw["table_end"].get(lang, [])}
    tables, items = [], []
    li = 0
    while li < len(lines):
        columns = _header_columns(lines[li], headers, unit)
        if columns is None:
            li += 1
            continue
        rows, lj = [], li + 1
        while lj < len(lines):
            line = lines[lj]
            if line.y0 - lines[lj - 1].y1 > 3 * unit or norm(line.words[0]["text"]) in end_words:
                break
            if _header_columns(line, headers, unit) is not None:
                break
            cells = _place(line.words, columns)
            filled = [k for k, c in enumerate(cells) if c]
            if rows and filled == [0] and rows[-1][0]:
                rows[-1][0] += cells[0]
            else:
                rows.append(cells)
            lj += 1
        if rows:
            tables.append(_html(columns, rows))
            roles = [c["role"] for c in columns]
            if not items and "description" in roles and "amount" in roles:
                items = [{c["role"]: join_value(cells[k], "money" if c["role"] != "description" else "text", lang)
                          for k, c in enumerate(columns) if c["role"] and cells[k]} for cells in rows]
        li = lj
    return tables, items


def _header_columns(line: Line, headers: dict[str, list[str]], unit: float) -> list[dict] | None:
    groups: list[list[dict]] = []
    for w in line.words:
        if groups and w["box"]["x0"] - groups[-1][-1]["box"]["x1"] < 1.2 * unit:
            groups[-1].append(w)
        else:
            groups.append([w])
    columns, hits = [], 0
    for g in groups:
        text = norm(" ".join(w["text"] for w in g))
        role = next((r for r, names in headers.items() if any(text == n or text.startswith(n + " ") for n in names)), None)
        hits += role is not None
        columns.append({"role": role, "words": g, "x0": g[0]["box"]["x0"], "x1": g[-1]["box"]["x1"]})
    if hits < 2:
        return None
    seen: set[str] = set()
    for c in columns:  # one column per role: the first
        if c["role"] in seen:
            c["role"] = None
        elif c["role"]:
            seen.add(c["role"])
    return columns


def _place(words: list[dict], columns: list[dict]) -> list[list[dict]]:
    cells: list[list[dict]] = [[] for _ in columns]
    for w in words:
        def distance(c):
            overlap = min(w["box"]["x1"], c["x1"]) - max(w["box"]["x0"], c["x0"])
            return -overlap if overlap > 0 else min(abs(w["box"]["x0"] - c["x1"]), abs(c["x0"] - w["box"]["x1"]))
        best = min(range(len(columns)), key=lambda k: distance(columns[k]))
        cells[best].append(w)
    return cells


def _html(columns: list[dict], rows: list[list[list[dict]]]) -> str:
    def cell(ws):
        return "<td>" + html.escape(" ".join(w["text"] for w in ws), quote=False) + "</td>"
    head = "<tr>" + "".join(cell(c["words"]) for c in columns) + "</tr>"
    body = "".join("<tr>" + "".join(cell(ws) for ws in r) + "</tr>" for r in rows)
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"
