"""Per-field comparison rows: the raw material of the ``field_errors`` table.

Both sides are normalised as Donut does (``fields.normalize_dict``), then walked together. Each gold
or predicted leaf value gives one :class:`FieldComparison` row; correct values give a row too (with
``error_type`` None), so rates are a GROUP BY away.

Paths: ``field`` is Donut's dotted key path ("menu.price", the key to group by); ``path`` adds item
indices where a list holds more than one item ("menu[1].price"). Items of a list of dicts (line
items) are paired by minimum-cost assignment on their Donut tree distance, unless
``order_insensitive=False`` pairs them by position; a gold item with no partner yields ``missing``
rows, a predicted one ``extra`` rows, indexed after the gold items. Multiple values under one key
are paired the same way by edit distance.

Error types, for a pair of values that are not identical:
- ``format_only``: equal once case and whitespace are ignored, or both are numbers within tolerance
  ("1.234,56 €" vs "1234.56");
- ``numeric_off``: both are numbers, further apart than the tolerance;
- ``wrong_value``: anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from docfactory.evaluate.assignment import min_cost_assignment
from docfactory.evaluate.fields import json_tree, json_tree_distance, normalize_dict
from docfactory.evaluate.number_parse import HALF_CENT, parse_number
from docfactory.evaluate.text_metrics import normalized_edit_distance

ErrorType = Literal["missing", "extra", "wrong_value", "format_only", "numeric_off"]


@dataclass(frozen=True)
class FieldComparison:
    """One leaf value compared; ``gold``/``pred`` are None when that side has no value."""

    field: str
    path: str
    gold: str | None
    pred: str | None
    exact: bool
    ned: float
    numeric_match: bool | None  # None when the gold value is not a number
    error_type: ErrorType | None  # None when exact


def compare_fields(
    pred: dict, gold: dict, order_insensitive: bool = True, tolerance: Decimal = HALF_CENT
) -> list[FieldComparison]:
    """Rows for every leaf of ``gold`` and ``pred``, gold order first, then extra predicted keys."""
    rows: list[FieldComparison] = []
    _Walker(rows, order_insensitive, tolerance).dicts(normalize_dict(pred), normalize_dict(gold), "", "")
    return rows


def classify(pred: str | None, gold: str | None, tolerance: Decimal = HALF_CENT) -> tuple[bool | None, ErrorType | None]:
    """(numeric_match, error_type) for one pair of values."""
    gold_number = parse_number(gold) if gold is not None else None
    pred_number = parse_number(pred) if pred is not None else None
    numeric_match = None if gold_number is None else pred_number is not None and abs(pred_number - gold_number) <= tolerance
    if gold is None:
        return numeric_match, "extra"
    if pred is None:
        return numeric_match, "missing"
    if pred == gold:
        return numeric_match, None
    if gold_number is not None and pred_number is not None:
        return numeric_match, "format_only" if numeric_match else "numeric_off"
    if _loose(pred) == _loose(gold):
        return numeric_match, "format_only"
    return numeric_match, "wrong_value"


def _loose(text: str) -> str:
    return " ".join(text.casefold().split())


class _Walker:
    """Walks two normalised dicts in step, appending rows."""

    def __init__(self, rows: list[FieldComparison], order_insensitive: bool, tolerance: Decimal) -> None:
        self.rows = rows
        self.order_insensitive = order_insensitive
        self.tolerance = tolerance

    def dicts(self, pred: dict | None, gold: dict | None, field: str, path: str) -> None:
        pred, gold = pred or {}, gold or {}
        for key in list(gold) + [key for key in pred if key not in gold]:
            child_field = f"{field}.{key}" if field else key
            child_path = f"{path}.{key}" if path else key
            self.lists(pred.get(key, []), gold.get(key, []), child_field, child_path)

    def lists(self, pred: list, gold: list, field: str, path: str) -> None:
        pred_dicts = bool(pred) and isinstance(pred[0], dict)
        gold_dicts = bool(gold) and isinstance(gold[0], dict)
        if pred and gold and pred_dicts != gold_dicts:  # a list of items against plain values
            self._unpaired(pred, gold, [], field, path)
            return
        self._unpaired(pred, gold, self._pairs(pred, gold, pred_dicts or gold_dicts), field, path)

    def _pairs(self, pred: list, gold: list, items: bool) -> list[tuple[int, int]]:
        if not pred or not gold:
            return []
        if not self.order_insensitive:
            return [(i, i) for i in range(min(len(pred), len(gold)))]
        if items:
            gold_trees = [json_tree(g, "<subtree>") for g in gold]
            cost = np.array([[json_tree_distance(json_tree(p, "<subtree>"), t) for t in gold_trees] for p in pred])
        else:
            cost = cdist(pred, gold, scorer=Levenshtein.distance).astype(np.float64)
        return min_cost_assignment(cost)

    def _unpaired(self, pred: list, gold: list, pairs: list[tuple[int, int]], field: str, path: str) -> None:
        """Rows for paired items, then gold items without a partner, then predicted ones."""
        indexed = max(len(pred), len(gold)) > 1
        partner = {g: p for p, g in pairs}
        for g, gold_value in enumerate(gold):
            p = partner.get(g)
            self._value(pred[p] if p is not None else None, gold_value, field, f"{path}[{g}]" if indexed else path)
        paired = {p for p, _ in pairs}
        extra = [p for p in range(len(pred)) if p not in paired]
        for k, p in enumerate(extra):
            self._value(pred[p], None, field, f"{path}[{len(gold) + k}]" if indexed else path)

    def _value(self, pred: Any, gold: Any, field: str, path: str) -> None:
        if isinstance(pred, dict) or isinstance(gold, dict):
            # lists() never pairs an item with a plain value, so the other side is a dict or None.
            self.dicts(pred, gold, field, path)
            return
        numeric_match, error_type = classify(pred, gold, self.tolerance)
        exact = pred is not None and pred == gold
        ned = 1.0 if pred is None or gold is None else normalized_edit_distance(pred, gold)
        self.rows.append(FieldComparison(field, path, gold, pred, exact, ned, numeric_match, error_type))
