"""Field metrics identical to Donut's ``JSONParseEvaluator`` (clovaai/donut, ``donut/util.py``).

- ``normalize_dict``: keys sorted by (length, key); empty values dropped (Donut's ``if not data``, so
  0, 0.0, False and "" go too); scalars become stripped strings in lists; a nested dict becomes a
  one-item list.
- ``field_f1``: micro-F1 over (dotted path, value) leaves, multiset matching:
  F1 = TP / (TP + (FP + FN) / 2).
- ``ted_accuracy``: 1 − TED(pred, gold) / TED(∅, gold), floored at 0, with Donut's ordered tree
  (``<root>``, key nodes, one ``<subtree>`` per dict in a list, ``<leaf>value``) and costs: inserting or
  removing a leaf costs len(value), any other node 1; renaming leaf to leaf costs the character edit
  distance, leaf to other node 1 + len(value), between other nodes [a ≠ b].

Donut computes the TED with the ``zss`` package (Zhang–Shasha); here the shared exact kernel in
``tree_edit.py`` computes the same distance.

Where we differ, on purpose (Donut raises ZeroDivisionError in the first two):
- empty gold and empty prediction: accuracy 1.0 and F1 1.0 (nothing to find, nothing wrongly found);
  empty gold with a non-empty prediction: accuracy 0.0.
- ``field_f1`` refuses lists of different lengths (Donut's ``zip`` silently drops the tail).
- ``ted_accuracy(..., order_insensitive=True)`` first reorders the prediction's list items to match
  the gold's by optimal assignment (Donut's accuracy punishes swapped line items; its F1 does not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from docfactory.evaluate.assignment import min_cost_assignment
from docfactory.evaluate.tree_edit import postorder, tree_edit_distance

LEAF = "<leaf>"


def normalize_dict(data: Any) -> dict | list:
    """Donut's ``normalize_dict``, quirks included (see the module docstring)."""
    if not data:
        return {}
    if isinstance(data, dict):
        normalized: dict | list = {}
        for key in sorted(data.keys(), key=lambda k: (len(k), k)):
            value = normalize_dict(data[key])
            if value:
                normalized[key] = value if isinstance(value, list) else [value]
    elif isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            normalized = [item for item in map(normalize_dict, data) if item]
        else:
            # type() rather than isinstance(): Donut drops bools and other scalar subclasses here.
            normalized = [str(item).strip() for item in data if type(item) in {str, int, float} and str(item).strip()]
    else:
        normalized = [str(data).strip()]
    return normalized


def flatten(data: dict) -> list[tuple[str, Any]]:
    """Donut's ``flatten``: (dotted key path, leaf value) pairs; list items share their key."""
    leaves: list[tuple[str, Any]] = []

    def walk(value: Any, key: str) -> None:
        if type(value) is dict:
            for child_key, child_value in value.items():
                walk(child_value, f"{key}.{child_key}" if key else child_key)
        elif type(value) is list:
            for item in value:
                walk(item, key)
        else:
            leaves.append((key, value))

    walk(data, "")
    return leaves


def field_f1(preds: list[dict], golds: list[dict]) -> float:
    """Donut's ``cal_f1``: micro-averaged field F1 over all documents."""
    if len(preds) != len(golds):
        raise ValueError(f"field_f1 needs one prediction per gold: got {len(preds)} and {len(golds)}")
    true_positives, errors = 0, 0
    for pred, gold in zip(preds, golds):
        remaining = flatten(normalize_dict(gold))
        for leaf in flatten(normalize_dict(pred)):
            if leaf in remaining:
                true_positives += 1
                remaining.remove(leaf)
            else:
                errors += 1
        errors += len(remaining)
    if true_positives == 0 and errors == 0:
        return 1.0  # nothing to find and nothing predicted (Donut divides by zero)
    return true_positives / (true_positives + errors / 2)


def ted_accuracy(pred: dict, gold: dict, order_insensitive: bool = False) -> float:
    """Donut's ``cal_acc``: max(0, 1 − TED(pred, gold) / TED(∅, gold)).

    With ``order_insensitive`` the prediction's list items are first matched to the gold's by
    optimal assignment and reordered; the result is the better of that and the given order, so it
    is never below Donut's score.
    """
    gold_norm = normalize_dict(gold)
    pred_norm = normalize_dict(pred)
    gold_tree = json_tree(gold_norm)
    scale = json_tree_distance(json_tree({}), gold_tree)
    if scale == 0:  # empty gold (Donut divides by zero)
        return 1.0 if not pred_norm else 0.0
    accuracy = max(0.0, 1.0 - json_tree_distance(json_tree(pred_norm), gold_tree) / scale)
    if order_insensitive and accuracy < 1.0:
        aligned = align_items(pred_norm, gold_norm)
        accuracy = max(accuracy, 1.0 - json_tree_distance(json_tree(aligned), gold_tree) / scale)
    return accuracy


@dataclass
class JsonNode:
    """A node of Donut's tree: its label is all the cost model looks at."""

    label: str
    children: list[JsonNode] = field(default_factory=list)


def json_tree(data: dict | list, label: str = "<root>") -> JsonNode:
    """Donut's ``construct_tree_from_dict`` for a normalised dict (or list)."""
    node = JsonNode(label)
    if isinstance(data, dict):
        node.children = [json_tree(value, key) for key, value in data.items()]
    elif isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            node.children = [json_tree(item, "<subtree>") for item in data]
        else:
            node.children = [JsonNode(f"{LEAF}{item}") for item in data]
    else:
        raise TypeError(f"cannot build a tree from {type(data).__name__} under {label!r}")
    return node


def json_tree_distance(pred: JsonNode, gold: JsonNode) -> float:
    """Tree edit distance with Donut's costs (``update_cost``, ``insert_and_remove_cost``)."""
    tree_pred = postorder(pred, lambda node: node.children)
    tree_gold = postorder(gold, lambda node: node.children)
    pred_labels = [node.label for node in tree_pred.nodes]
    gold_labels = [node.label for node in tree_gold.nodes]
    # Donut tests `"<leaf>" in label` and measures label.replace("<leaf>", ""): kept as is.
    pred_leaf = np.array([LEAF in label for label in pred_labels], dtype=bool)
    gold_leaf = np.array([LEAF in label for label in gold_labels], dtype=bool)
    pred_text = [label.replace(LEAF, "") for label in pred_labels]
    gold_text = [label.replace(LEAF, "") for label in gold_labels]
    pred_len = np.array([len(text) for text in pred_text], dtype=np.float64)
    gold_len = np.array([len(text) for text in gold_text], dtype=np.float64)

    label_ids: dict[str, int] = {}
    pred_ids = np.array([label_ids.setdefault(label, len(label_ids)) for label in pred_labels])
    gold_ids = np.array([label_ids.setdefault(label, len(label_ids)) for label in gold_labels])
    rename = (pred_ids[:, None] != gold_ids[None, :]).astype(np.float64)  # between internal nodes
    rename[pred_leaf, :] = 1 + pred_len[pred_leaf, None]  # leaf vs internal
    rename[:, gold_leaf] = 1 + gold_len[None, gold_leaf]
    rows, cols = np.flatnonzero(pred_leaf), np.flatnonzero(gold_leaf)
    if rows.size and cols.size:
        leaf_pairs = cdist([pred_text[i] for i in rows], [gold_text[j] for j in cols], scorer=Levenshtein.distance)
        rename[np.ix_(rows, cols)] = leaf_pairs
    delete = np.where(pred_leaf, pred_len, 1.0)
    insert = np.where(gold_leaf, gold_len, 1.0)
    return tree_edit_distance(tree_pred, tree_gold, rename, delete, insert)


def align_items(pred: Any, gold: Any) -> Any:
    """``pred`` (normalised) with every list reordered to best match the same list in ``gold``.

    Items are paired by minimum-cost assignment, the cost of a pair being the tree distance of the
    (recursively aligned) items; matched items take the gold's order, unmatched ones follow.
    """
    if isinstance(pred, dict) and isinstance(gold, dict):
        return {key: align_items(value, gold[key]) if key in gold else value for key, value in pred.items()}
    if not (isinstance(pred, list) and isinstance(gold, list) and pred and gold):
        return pred
    pred_dicts = all(isinstance(item, dict) for item in pred)
    if pred_dicts != all(isinstance(item, dict) for item in gold):
        return pred
    if pred_dicts:
        candidates = [[align_items(p, g) for g in gold] for p in pred]
        gold_trees = [json_tree(g, "<subtree>") for g in gold]
        cost = np.array(
            [[json_tree_distance(json_tree(c, "<subtree>"), t) for c, t in zip(row, gold_trees)] for row in candidates]
        )
    else:
        candidates = [[p] * len(gold) for p in pred]
        cost = cdist(pred, gold, scorer=Levenshtein.distance).astype(np.float64)
    pairs = sorted(min_cost_assignment(cost), key=lambda pair: pair[1])
    matched = {row for row, _ in pairs}
    return [candidates[row][col] for row, col in pairs] + [p for row, p in enumerate(pred) if row not in matched]
