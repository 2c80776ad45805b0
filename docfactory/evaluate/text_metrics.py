"""Text metrics for OCR-style outputs: CER, WER, normalised edit distance (Levenshtein, rapidfuzz).

Edge cases, decided once here so every caller agrees:
- An empty gold has no length to divide by. CER and WER are then 0.0 when the prediction is empty
  too and 1.0 otherwise (everything predicted is an insertion; capped at 1 rather than infinite,
  so that averages stay finite).
- Otherwise CER and WER are edits / gold length and can exceed 1 (a long hallucination).
- ``normalized_edit_distance`` divides by the longer string, so it is always in [0, 1]; two empty
  strings are at distance 0.
- Nothing is normalised (case, whitespace, Unicode form): callers decide what counts as equal.
  Words are what ``str.split()`` returns (runs of whitespace).
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein


def cer(pred: str, gold: str) -> float:
    """Character error rate: character edits (insert, delete, substitute) / len(gold)."""
    return _error_rate(pred, gold)


def wer(pred: str, gold: str) -> float:
    """Word error rate: word edits / number of gold words (words = ``str.split()``)."""
    return _error_rate(pred.split(), gold.split())


def normalized_edit_distance(pred: str, gold: str) -> float:
    """Levenshtein distance / length of the longer string, in [0, 1]; 0.0 for two empty strings."""
    return Levenshtein.normalized_distance(pred, gold)


def corpus_cer(preds: Sequence[str], golds: Sequence[str]) -> float:
    """CER over a corpus: all character edits / all gold characters (long pages weigh more)."""
    return _corpus_rate([(p, g) for p, g in _pairs(preds, golds)])


def corpus_wer(preds: Sequence[str], golds: Sequence[str]) -> float:
    """WER over a corpus: all word edits / all gold words."""
    return _corpus_rate([(p.split(), g.split()) for p, g in _pairs(preds, golds)])


def _error_rate(pred: Sequence, gold: Sequence) -> float:
    if not gold:
        return 0.0 if not pred else 1.0
    return Levenshtein.distance(pred, gold) / len(gold)


def _corpus_rate(pairs: list[tuple[Sequence, Sequence]]) -> float:
    edits = sum(Levenshtein.distance(pred, gold) for pred, gold in pairs)
    total = sum(len(gold) for _, gold in pairs)
    if total == 0:
        return 0.0 if edits == 0 else 1.0
    return edits / total


def _pairs(preds: Sequence[str], golds: Sequence[str]) -> zip:
    if len(preds) != len(golds):
        raise ValueError(f"need one prediction per gold: got {len(preds)} and {len(golds)}")
    return zip(preds, golds)
