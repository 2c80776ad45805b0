"""The OCR ceiling: the share of gold values whose text the OCR words contain at all.

A field extractor can only return a value whose characters the OCR read, so this share bounds its
exact-match score from above, whatever the model. The check is a plain substring test, decided once
here so every caller agrees:
- whitespace is collapsed to single spaces on both sides (gold strings carry line breaks and double
  spaces; a word may hold a no-break space where a number's thousands groups were merged), and
- case is ignored (receipts print company names in capitals, gold files do not always).
An empty gold value has nothing to find: it is left out of the counts rather than scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def normalize(text: str) -> str:
    """Whitespace runs (no-break spaces included) to one space, upper-cased."""
    return " ".join(text.split()).upper()


def value_present(value: str, words: Sequence[str]) -> bool:
    """Whether `value` appears in `words` (in reading order, joined by spaces), ignoring case and spacing."""
    gold = normalize(value)
    return bool(gold) and gold in normalize(" ".join(words))


def ceiling(pairs: Iterable[tuple[Mapping[str, str], Sequence[str]]]) -> dict:
    """Per key, the share of (gold, words) pages whose gold value is present in the page's words.

    Returns {"per_key": {key: share}, "present": {key: n}, "total": {key: n}, "mean": the mean of the
    per-key shares (each key counts once, however many pages have it), "pages": n}.
    """
    present: dict[str, int] = {}
    total: dict[str, int] = {}
    pages = 0
    for gold, words in pairs:
        pages += 1
        page_text = normalize(" ".join(words))  # joined once per page, not once per key
        for key, value in gold.items():
            wanted = normalize(value or "")
            if not wanted:
                continue
            total[key] = total.get(key, 0) + 1
            present[key] = present.get(key, 0) + (wanted in page_text)
    per_key = {key: present[key] / total[key] for key in total}
    mean = sum(per_key.values()) / len(per_key) if per_key else 0.0
    return {"per_key": per_key, "present": present, "total": total, "mean": mean, "pages": pages}
