"""Dataset match rules: when a predicted value counts as right under a dataset's official scoring,
beside Donut's exact match (``field_errors.exact``).

- ``exact``: the strings are equal.
- ``sroie``: SROIE 2019 task 3 — equal after whitespace normalisation (runs of whitespace become one
  space, ends stripped); case and punctuation count, as the competition's string match does.
"""

from __future__ import annotations

from typing import Callable


def _collapse(text: str) -> str:
    return " ".join(text.split())


MATCH_RULES: dict[str, Callable[[str], str]] = {"exact": lambda text: text, "sroie": _collapse}


class UnknownMatchRule(ValueError):
    pass


def check_rule(rule: str) -> str:
    if rule not in MATCH_RULES:
        raise UnknownMatchRule(f"unknown match rule {rule!r} (known: {', '.join(MATCH_RULES)})")
    return rule


def matches(rule: str, pred: object, gold: object) -> bool | None:
    """Whether `pred` is right for `gold` under `rule`; None when there is no gold value."""
    if gold is None:
        return None
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False
    normal = MATCH_RULES[rule]
    return normal(pred) == normal(gold)
