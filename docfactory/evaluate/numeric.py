"""Numeric consistency of a prediction: printed values -> normal forms -> the generator's checks.

A model prints values as the page does ("1.234,56 €", "19 %", "07/06/2024"). To ask whether its
line amounts, subtotal, discount, tax and total add up, each predicted value is read by the type of
the gold field at the same path (money, number, integer, percent, date) and the document's locale,
turned into the normal form the generator uses ("1234.56", "0.19", "2024-06-07"), and the tree is
handed to ``docfactory.generators.validate.check_values``: one implementation of the arithmetic for
generated content and for predictions, so generated gold passes by construction and a prediction is
held to exactly the same relations.

Reading numbers: ``parse_number`` decides everything except its one ambiguous case, a single "." or
"," followed by exactly three digits ("2,211"); there the locale's decimal mark decides (a French
quantity "2,211" is 2.211, an English "2,211" is 2211). The places are kept as printed ("8,50" -> "8.50",
"7.290 ¥" -> "7290"), because ``check_values`` rounds to the places the document shows.

A predicted numeric value that does not read as a number is reported (``unreadable``) and left out
of the tree: the relations over it are then not checked, and the caller decides how to count it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from docfactory.evaluate.number_parse import parse_number

NUMERIC_TYPES = frozenset({"money", "number", "integer", "percent"})
CHECKED_TYPES = NUMERIC_TYPES | {"date"}

# One separator followed by exactly three digits: the case parse_number cannot settle alone.
_AMBIGUOUS = re.compile(r"^(\D*?)(\d{1,3})([.,])(\d{3})(\D*)$")


@dataclass(frozen=True)
class NumericCheck:
    """The verdict for one document: ``ok`` is None when no relation could be evaluated (no numeric
    value, or none of the relations has all its values: a lone total proves nothing)."""

    ok: bool | None
    violations: list[str] = field(default_factory=list)  # relation names from check_values
    unreadable: list[str] = field(default_factory=list)  # dotted paths of values that are not numbers
    checked: int = 0  # numeric values read
    relations: int = 0  # relations evaluated (all their values present)


def pattern_of(path: str) -> str:
    """'items.2.amount' -> 'items.*.amount' (the key template.yaml and gold types use)."""
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def decimal_mark(locale: str | None) -> str | None:
    """The locale's decimal mark, or None for an unknown locale (then ``parse_number`` decides)."""
    from docfactory.generators.locales import LOCALES  # lazy: importing generators loads the renderer

    loc = LOCALES.get(locale or "")
    return loc.decimal if loc else None


def parse_localized(text: object, mark: str | None) -> Decimal | None:
    """A printed number, with the locale's decimal ``mark`` settling "2,211"-style ambiguity."""
    value = parse_number(text)
    if value is None or not isinstance(text, str):
        return value
    value = _as_printed(value, text)
    if mark is None:
        return value
    ambiguous = _AMBIGUOUS.match(text.strip())
    if ambiguous and ambiguous.group(3) == mark and ambiguous.group(2) != "0":
        magnitude = Decimal(f"{ambiguous.group(2)}.{ambiguous.group(4)}")
        return -magnitude if value < 0 else magnitude
    return value


def _as_printed(value: Decimal, text: str) -> Decimal:
    """Keep the places the text shows: parse_number reads "7.290 ¥" as 7290.0, and check_values
    rounds to the places of its operands, so a whole number must stay whole."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
    if value.as_tuple().exponent == -1 and f"{abs(value):f}".replace(".", "") == digits + "0":
        return value.quantize(Decimal(1))
    return value


def normalize_value(value: Any, type_: str | None, locale: str | None) -> str | None:
    """The normal form of one printed value of ``type_``; None when it does not read as one."""
    if isinstance(value, list):  # Donut-style single-item lists
        value = value[0] if len(value) == 1 else None
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    if type_ == "date":
        return _normal_date(str(value).strip(), locale)
    number = parse_localized(value, decimal_mark(locale))
    if number is None:
        return None
    if type_ == "percent":
        text = str(value)
        # "19 %" and "19" are 19 per cent; "0.19" without a sign is already a fraction.
        if "%" in text or abs(number) >= 1:
            number = number.scaleb(-2)
    return f"{number:f}"


def normalize_tree(tree: Any, types: Mapping[str, str], locale: str | None) -> tuple[Any, list[str], int]:
    """(normalized tree, unreadable paths, numeric values read) for a predicted Donut-style tree.

    ``types`` maps field patterns ("items.*.amount") to gold field types. Only values whose type is
    numeric or a date are kept: ``check_values`` reads nothing else.
    """
    unreadable: list[str] = []
    read = [0]

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, child in node.items():
                sub = walk(child, f"{path}.{key}" if path else str(key))
                if sub is not None:
                    out[str(key)] = sub
            return out
        if isinstance(node, list) and any(isinstance(item, dict) for item in node):
            return [walk(item, f"{path}.{i}") if isinstance(item, dict) else {} for i, item in enumerate(node)]
        declared = types.get(pattern_of(path))
        type_ = declared or _fallback_type(path)
        if type_ not in CHECKED_TYPES:
            return None
        normal = normalize_value(node, type_, locale)
        if normal is None:
            # A gold amount the model printed as "abc" is unreadable; an undeclared key that is not
            # a number (an extra "note") and a garbled date are simply not checked.
            if declared in NUMERIC_TYPES:
                unreadable.append(path)
            return None
        if type_ in NUMERIC_TYPES:
            read[0] += 1
        return normal

    normalized = walk(tree, "") if isinstance(tree, dict) else {}
    return normalized, unreadable, read[0]


def _fallback_type(path: str) -> str | None:
    """A type for a key the gold document does not carry (a hallucinated discount still has to add
    up): rates are percents, dates are dates, anything else that reads as a number is a number."""
    last = path.rsplit(".", 1)[-1]
    if last.endswith("rate"):
        return "percent"
    if last.endswith("date"):
        return "date"
    return "number"


def _normal_date(text: str, locale: str | None) -> str | None:
    from docfactory.generators.locales import LOCALES  # lazy, as in decimal_mark

    loc = LOCALES.get(locale or "")
    formats = ([loc.date_format] if loc else []) + ["%Y-%m-%d"]
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def numeric_consistency(kind: str, printed: dict, types: Mapping[str, str], locale: str | None,
                        tolerance: Decimal = Decimal(0)) -> NumericCheck:
    """Read a predicted tree of printed values and run the generator's arithmetic and date checks.

    ``ok`` is None when nothing could be checked (no numeric value, or no relation with all its
    values present), False when a relation fails or a numeric value is unreadable, True otherwise.
    """
    from docfactory.generators.validate import check_values  # lazy, as in decimal_mark

    normalized, unreadable, read = normalize_tree(printed, types, locale)
    if read == 0 and not unreadable:
        return NumericCheck(None, [], [], 0)
    checks = check_values(kind, normalized, tolerance)
    violations = [v.relation for v in checks]
    if not checks.evaluated and not unreadable:
        return NumericCheck(None, [], [], read, 0)
    return NumericCheck(not violations and not unreadable, violations, unreadable, read, checks.evaluated)
