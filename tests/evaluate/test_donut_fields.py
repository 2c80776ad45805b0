"""Donut's JSONParseEvaluator semantics: hand-computed cases, an APTED oracle, and properties."""

from __future__ import annotations

import random

import pytest
from apted import APTED, Config
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from docfactory.evaluate import field_f1, normalize_dict, ted_accuracy
from docfactory.evaluate.fields import JsonNode, align_items, flatten, json_tree, json_tree_distance

GOLD = {"menu": [{"nm": "Iced Latte", "price": "45,000"}, {"nm": "Green Tea Latte", "price": "120,000"}]}
SWAPPED = {"menu": [{"nm": "Green Tea Latte", "price": "120,000"}, {"nm": "Iced Latte", "price": "45,000"}]}


def test_swapped_items_f1_one_accuracy_0511_order_insensitive_one() -> None:
    # TED(∅, gold) = menu 1 + two <subtree> 2 + four keys 4 + leaves 10 + 6 + 15 + 7 = 45.
    assert json_tree_distance(json_tree({}), json_tree(normalize_dict(GOLD))) == 45
    # Renaming the leaves in place costs 2·lev(names) + 2·lev(prices) = 2·8 + 2·3 = 22, cheaper than
    # deleting one item and inserting it at the other end (2·(3 + 10 + 6) = 38).
    assert Levenshtein.distance("Iced Latte", "Green Tea Latte") == 8
    assert Levenshtein.distance("45,000", "120,000") == 3
    assert ted_accuracy(SWAPPED, GOLD) == pytest.approx(23 / 45)
    assert round(ted_accuracy(SWAPPED, GOLD), 3) == 0.511
    assert field_f1([SWAPPED], [GOLD]) == 1.0
    assert ted_accuracy(SWAPPED, GOLD, order_insensitive=True) == 1.0


def test_one_character_typo() -> None:
    gold = {"nm": "Latte", "price": "4.50"}
    pred = {"nm": "Latle", "price": "4.50"}
    # Scale: 2 keys + 5 + 4 characters = 11; one substitution.
    assert ted_accuracy(pred, gold) == pytest.approx(1 - 1 / 11)
    # One leaf right (TP), one wrong: a false positive and a false negative.
    assert field_f1([pred], [gold]) == pytest.approx(1 / (1 + 2 / 2))


def test_missing_field() -> None:
    gold = {"nm": "Latte", "price": "4.50"}
    pred = {"nm": "Latte"}
    # Insert the key (1) and its leaf (4 characters).
    assert ted_accuracy(pred, gold) == pytest.approx(1 - 5 / 11)
    assert field_f1([pred], [gold]) == pytest.approx(1 / (1 + 1 / 2))


def test_empty_prediction_and_empty_gold() -> None:
    gold = {"nm": "Latte", "price": "4.50"}
    assert ted_accuracy({}, gold) == 0.0
    assert field_f1([{}], [gold]) == 0.0
    # Donut divides by zero here; we define empty-vs-empty as a perfect match...
    assert ted_accuracy({}, {}) == 1.0
    assert ted_accuracy({"a": "", "b": [], "c": None}, {"d": ""}) == 1.0
    assert field_f1([{}], [{}]) == 1.0
    # ...and anything predicted against an empty gold as wrong.
    assert ted_accuracy(gold, {}) == 0.0


def test_accuracy_is_floored_at_zero() -> None:
    gold = {"nm": "a"}
    pred = {"nm": "completely different", "x": ["lots", "of", "extra", "values"]}
    assert ted_accuracy(pred, gold) == 0.0


def test_field_f1_is_micro_averaged_and_checks_lengths() -> None:
    golds = [{"a": "1"}, {"a": "1", "b": ["2", "3"]}]
    preds = [{"a": "1"}, {"a": "9", "b": ["3", "2"]}]
    # TP = 1 + 2, errors = 0 + 2 (a:9 is a FP, a:1 a FN).
    assert field_f1(preds, golds) == pytest.approx(3 / (3 + 2 / 2))
    with pytest.raises(ValueError, match="one prediction per gold"):
        field_f1(preds, golds[:1])


def test_normalize_dict_follows_donut() -> None:
    data = {"price": 4.5, "nm": " Latte ", "zero": 0, "flag": False, "empty": [], "sub": {"b": 1, "a": ""}}
    # Keys by (length, key); 0, False, "" and [] dropped; scalars become stripped strings in lists;
    # a nested dict becomes a one-item list.
    assert normalize_dict(data) == {"nm": ["Latte"], "sub": [{"b": ["1"]}], "price": ["4.5"]}
    assert normalize_dict({"v": [1, "x ", True, None, 2.5, " "]}) == {"v": ["1", "x", "2.5"]}
    assert normalize_dict({"v": "  "}) == {"v": [""]}  # Donut keeps a blank scalar as ""
    assert flatten(normalize_dict(GOLD)) == [
        ("menu.nm", "Iced Latte"),
        ("menu.price", "45,000"),
        ("menu.nm", "Green Tea Latte"),
        ("menu.price", "120,000"),
    ]


def test_tree_shape() -> None:
    tree = json_tree(normalize_dict({"menu": [{"nm": "a"}], "total": "3"}))
    assert tree == JsonNode(
        "<root>",
        [JsonNode("menu", [JsonNode("<subtree>", [JsonNode("nm", [JsonNode("<leaf>a")])])]), JsonNode("total", [JsonNode("<leaf>3")])],
    )


# --- APTED oracle with Donut's cost model, on random JSON. ---


class DonutCosts(Config):
    def rename(self, a: JsonNode, b: JsonNode) -> int:
        leaf_a, leaf_b = "<leaf>" in a.label, "<leaf>" in b.label
        text_a, text_b = a.label.replace("<leaf>", ""), b.label.replace("<leaf>", "")
        if leaf_a and leaf_b:
            return Levenshtein.distance(text_a, text_b)
        if leaf_a or leaf_b:
            return 1 + len(text_a if leaf_a else text_b)
        return int(a.label != b.label)

    def insert(self, node: JsonNode) -> int:
        return len(node.label.replace("<leaf>", "")) if "<leaf>" in node.label else 1

    def delete(self, node: JsonNode) -> int:
        return self.insert(node)

    def children(self, node: JsonNode) -> list[JsonNode]:
        return node.children


WORDS = ["", " ", "a", "ab", "cake", "2", "1.50", "juice", "12,000", 0, 3, 2.5, True, None]
KEYS = ["nm", "cnt", "price", "menu", "total", "sub"]


def random_json(rng: random.Random, depth: int = 0) -> dict:
    def value(d: int):
        r = rng.random()
        if d > 2 or r < 0.5:
            return rng.choice(WORDS)
        if r < 0.7:
            return [value(d + 1) for _ in range(rng.randint(0, 3))]
        if r < 0.9:
            return [random_json(rng, d + 1) for _ in range(rng.randint(0, 3))]
        return random_json(rng, d + 1)

    return {rng.choice(KEYS): value(depth) for _ in range(rng.randint(0, 4))}


def test_tree_distance_equals_apted_oracle() -> None:
    rng = random.Random(5)
    for _ in range(150):
        gold = json_tree(normalize_dict(random_json(rng)))
        pred = json_tree(normalize_dict(random_json(rng)))
        assert json_tree_distance(pred, gold) == APTED(pred, gold, DonutCosts()).compute_edit_distance()


documents = st.integers(min_value=0, max_value=100_000).map(lambda seed: random_json(random.Random(seed)))


@settings(max_examples=80, deadline=None)
@given(documents, documents)
def test_accuracy_bounds_identity_and_order_insensitive_never_lower(pred: dict, gold: dict) -> None:
    ordered = ted_accuracy(pred, gold)
    assert 0.0 <= ordered <= 1.0
    assert ted_accuracy(pred, gold, order_insensitive=True) >= ordered
    assert ted_accuracy(gold, gold) == 1.0
    assert field_f1([gold], [gold]) == 1.0


@settings(max_examples=60, deadline=None)
@given(documents, st.randoms(use_true_random=False))
def test_shuffled_items_are_perfect_when_order_insensitive(gold: dict, rng: random.Random) -> None:
    shuffled = {key: rng.sample(value, len(value)) if isinstance(value, list) else value for key, value in gold.items()}
    assert ted_accuracy(shuffled, gold, order_insensitive=True) == 1.0
    assert field_f1([shuffled], [gold]) == 1.0
    assert align_items(normalize_dict(shuffled), normalize_dict(gold)) == normalize_dict(gold)
