"""Field types: the value a template prints, with its normal form, and the registry of type names.

A `Field` renders as its printed text in Jinja (``{{ doc.total }}``) and keeps the normalized value
(``"1234.50"``) for labels, so templates never format numbers themselves.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FIELD_TYPES: dict[str, str] = {
    "text": "free text; normal form: whitespace collapsed",
    "id": "an identifier such as an invoice number; normal form: as printed",
    "integer": "a whole number; normal form: digits, e.g. '12'",
    "number": "a decimal quantity; normal form: plain decimal, e.g. '2.5'",
    "money": "an amount of money; normal form: plain decimal in the currency's minor unit, e.g. '1234.50'",
    "percent": "a rate; normal form: a fraction, e.g. '0.19'",
    "date": "a calendar date; normal form: ISO 8601, e.g. '2026-11-21'",
    "time": "a time of day; normal form: 'HH:MM'",
    "address": "a postal address, possibly several lines; normal form: lines joined by ', '",
}


class UnknownFieldType(ValueError):
    pass


def check_field_type(name: str) -> str:
    if name not in FIELD_TYPES:
        known = ", ".join(sorted(FIELD_TYPES))
        raise UnknownFieldType(f"unknown field type {name!r} (known: {known})")
    return name


@dataclass(frozen=True)
class Field:
    type: str
    text: str  # exactly what is printed
    normalized: str

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> str:
        # Jinja's autoescape calls __html__: escape here so a value like "A & B" prints correctly.
        from markupsafe import escape

        return str(escape(self.text))


_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """The comparison form for printed text: NFKC (no-break and narrow spaces become spaces),
    whitespace runs collapsed, ends stripped. Used by verification and by evaluation."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
