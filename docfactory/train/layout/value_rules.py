"""How a value's words are read as printed: which words join a value (its line's neighbours, the
day and month of a date, a continuation no more than a line below), which words could hold a typed
value, how a typed value is cleaned of what OCR glued to it, and where a required field no tag chose
comes from. Used by the assembler (assemble.py) on each page's tag probabilities."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from docfactory.evaluate.number_parse import parse_number

from docfactory.train.layout.tags import TagSet


@dataclass
class Span:
    pattern: str
    words: list[int]
    confs: list[float]


WHOLE_LINE = {"text", "address"}


def next_to(last: dict, word: dict) -> bool:
    """Whether `word` may continue a value whose last word is `last`: on its line or on the next
    one, i.e. starting at most about a line below it (another column's lines may sit between them
    in reading order)."""
    a, b = last.get("box"), word.get("box")
    if not a or not b:
        return True
    height = max(a["y1"] - a["y0"], 1.0)
    return b["y0"] - a["y1"] <= 0.8 * height


LINE_SUPPORT = 0.05  # the least probability of the value's tags an untagged word needs to join it


def pattern_share(field_probs: np.ndarray, tagset: TagSet, pattern: str) -> np.ndarray:
    """Per word, the probability the tagger gave `pattern` (its begin and continue tags together)."""
    tags = [t for t in range(1, field_probs.shape[1]) if tagset.field_of(t)[0] == pattern]
    return field_probs[:, tags].sum(axis=1) if tags else np.zeros(len(field_probs))


def complete_lines(members: list[int], words: list[dict], tags, stop_at_labels: bool,
                   accept: Callable[[int], bool] | None = None, through_tagged: bool = False) -> list[int]:
    """A name or an address fills its lines: the untagged words before and after a value's words on
    each of its lines join it ("[LIGHTROOM GALLERY] SDN BHD", "[NO.23] BATU 10, TAMAN ..." where an
    unseen word was left untagged). Words tagged as another field stop it, and so does a label
    (a word ending in ":") for a text field, so "CASHIER: MANIS" stays "MANIS". `accept(index)`: only
    words it accepts join (for a name or address, those the tagger gave the value's tags some
    probability, so a label it is sure of stays out; for a date, its day and month words).
    `through_tagged`: words tagged as another field may join too (a date's month word the tagger
    took for an item)."""
    if not members or words[members[0]].get("vline") is None:
        return members
    chosen = set(members)
    for line in sorted({words[i]["vline"] for i in members}):
        on_line = [i for i in members if words[i]["vline"] == line]
        for step, start in ((-1, min(on_line)), (1, max(on_line))):
            j, last = start + step, start
            while 0 <= j < len(words) and words[j].get("vline") == line and (through_tagged or int(tags[j]) == 0):
                if (stop_at_labels and words[j]["text"].endswith(":")) or (accept and not accept(j)):
                    break
                if not _adjacent(words[last], words[j]):
                    break  # another column's words on the same line
                chosen.add(j)
                last, j = j, j + step
    return sorted(chosen)


def same_run(a: dict, b: dict) -> bool:
    """`b` follows `a` on the same visual line, a word space or two away."""
    return a.get("vline") is not None and a.get("vline") == b.get("vline") and _adjacent(a, b)


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


TYPED = {"date", "time", "money", "number", "integer", "percent"}
_STRAY = ":;,=|"
# A label OCR glued onto a number or date ("Date:17/01/2018", "TOTAL:9.00"): letters up to a colon.
_GLUED_LABEL = re.compile(r"^[^\W\d_][^:\d]{0,20}:\s*(?=\S*\d)")
_DATE = re.compile(r"(?<!\d)(\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}"
                   r"|\d{1,2} ?[A-Za-z]{3,9}\.?,? ?(?:\d{4}|\d{2}))")
_MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}


def typed_cleanup(value: str, kind: str | None) -> str:
    """A number or date never starts or ends with a label's colon or a separator, nor with the label
    itself: OCR glues them on (":12/28/2017", "80.90:", "Date:17/01/2018"). Text values keep theirs."""
    if kind not in TYPED:
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
    digit, an amount reads as one (see amount_like) and a date is a whole one. Used where no tag chose the word, so the pick
    is the likeliest word that could be the value, not "TOKEN" or "for"."""
    if kind == "money" and any(ch.isdigit() for ch in text):
        return amount_like(text)
    if kind == "date":
        return is_date(text)
    if kind in TYPED:
        return any(ch.isdigit() for ch in text)
    return True


MAX_PLAIN_DIGITS = 7  # an amount's integer digits without grouping; a barcode or an id has more


def amount_like(text: str) -> bool:
    """An amount as printed: a number with at most a currency mark or code around it ("RM1.25",
    "170,85 €", "$8.20"), not a barcode ("9556939040118"), a document number ("R000002902"), a date
    or a tax code ("SR=35T@6%")."""
    value = parse_number(text)
    if value is None:
        return False
    digits = re.sub(r"[^\d.,' ]", "", text).strip()
    integer = re.split(r"[.,](?=\d{1,3}$)", digits)[0] if re.search(r"[.,]\d{1,3}$", digits) else digits
    return not re.fullmatch(r"\d{%d,}" % (MAX_PLAIN_DIGITS + 1), integer)


def is_date(text: str) -> bool:
    """A whole date is in the text ("03 Mar 2018", "19/10/2018"), not only a piece of one."""
    return bool(_DATE.search(text))


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


ISLAND_SUPPORT = 0.01  # the least probability of a line's value an island word needs to rejoin it
EDGE_SUPPORT = 0.1  # ... and a word before or after it on its line, which nothing encloses


def absorb_islands(tags: np.ndarray, words: list[dict], field_probs: np.ndarray, tagset: TagSet,
                   whole_line: set[str]) -> np.ndarray:
    """A name or address is one run of a line's words: words the tagger gave another field in the
    middle of it ("MR [D.I.Y.] [(JOHOR)] SDN BHD", a shop name's unseen word taken for the address)
    rejoin it when the tagger gave them some probability for it, and so do the words before and after
    it on its line when it holds most of the line. `whole_line`: the scalar name/address patterns.
    Returns new per-word tags (the value's continue tag for the words that rejoin)."""
    tags = np.array(tags, copy=True)
    if not len(words) or words[0].get("vline") is None:
        return tags
    lines: dict[int, list[int]] = {}
    for i, w in enumerate(words):
        lines.setdefault(w["vline"], []).append(i)
    for members in lines.values():
        patterns = [tagset.field_of(int(tags[i])) for i in members]
        names = [p[0] if p else None for p in patterns]
        for pattern in {n for n in names if n in whole_line}:
            inner = 2 + 2 * tagset.patterns.index(pattern)
            share = pattern_share(field_probs[members], tagset, pattern)
            own = [k for k, n in enumerate(names) if n == pattern]
            first, last = own[0], own[-1]
            for k in range(first + 1, last):
                if names[k] not in (None, pattern) and share[k] >= ISLAND_SUPPORT:
                    tags[members[k]] = inner
            # The tagger gave the value most of the line (islands aside): its ends are the value's too.
            if 2 * len(own) > len(members) - 1:
                for ends in (range(last + 1, len(members)), range(first - 1, -1, -1)):
                    near = own[-1] if ends.step > 0 else own[0]
                    for k in ends:
                        if names[k] is None or share[k] < EDGE_SUPPORT or not _adjacent(words[members[near]], words[members[k]]):
                            break
                        tags[members[k]] = inner
                        near = k
                if patterns[first][1] and near < first:  # the value now begins at the head word
                    tags[members[near]], tags[members[first]] = inner - 1, inner
    return tags


def total_not_below_subtotal(spans: list[Span], words: list[dict], field_probs: np.ndarray, tagset: TagSet,
                             amount: Callable[[Span], object]) -> list[Span]:
    """A total read smaller than the subtotal read on the same page is a mis-read (the tax, an item's
    amount, the subtotal's neighbour): the total becomes the word likeliest to begin it (at least
    REQUIRED_FLOOR) among the amounts not below the subtotal. Unchanged when no such word exists.
    `amount(span)`: the span's value as a number (None if it reads as none)."""
    subtotals = [v for s in spans if s.pattern == "subtotal" and (v := amount(s)) is not None]
    totals = [s for s in spans if s.pattern == "total"]
    begin = next((t for t in range(1, field_probs.shape[1]) if tagset.field_of(t) == ("total", True)), None)
    if not subtotals or not totals or begin is None:
        return spans
    floor = max(subtotals)
    if any((v := amount(s)) is not None and v >= floor for s in totals):
        return spans
    best, best_p = None, REQUIRED_FLOOR
    for i, word in enumerate(words):
        if field_probs[i, begin] > best_p and amount_like(word["text"]):
            value = parse_number(word["text"])
            if value is not None and value >= floor:
                best, best_p = i, float(field_probs[i, begin])
    if best is None:
        return spans
    return [s for s in spans if s.pattern != "total"] + [Span("total", [best], [best_p])]


# What follows an address on a receipt: its contact and tax lines ("TEL:07-386 7524", "GST ID:0016...").
_CONTACT = re.compile(r"^(?:[A-Za-z][A-Za-z./]*:|(?:TEL|FAX|TEL/FAX|PHONE|H/P|GST|HP)\b)", re.IGNORECASE)


def address_ends_before_contact(members: list[int], words: list[dict]) -> list[int]:
    """An address ends before the telephone or tax line that follows it: its words from the first one
    after its first line that opens such a line ("TEL:07-386", "FAX", "GST ID:") are dropped."""
    if not members or words[members[0]].get("vline") is None:
        return members
    first_line = words[members[0]]["vline"]
    for k, i in enumerate(members):
        if words[i]["vline"] != first_line and _CONTACT.match(words[i]["text"]):
            return members[:k]
    return members
