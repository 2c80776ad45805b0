"""A small locale-tolerant number parser, for numeric-aware field matching.

"1.234,56 €", "EUR 1 234,56", "1,234.56", "(1,234.56)", "−12,5 %" all parse. Decimal, not float:
amounts compare exactly, so a half-cent tolerance means half a cent.

Rules, in order:
- Parentheses around the value, a leading sign (+, -, U+2212 minus, en/figure dash) or a trailing
  minus make it negative/positive; currency symbols (any Unicode "Sc" character), 3-letter uppercase
  ISO codes (EUR, USD, ...), a few currency words (Rp, Rs, RM, kr, zł, Kč, Ft, Fr.) and a percent sign are
  removed. A percent value keeps its number ("19%" parses as 19), it is not divided by 100.
- Spaces (also no-break and thin) and apostrophes between digits are digit-group separators; then
  "." or "," is the decimal separator.
- With both "." and ",", the later one is the decimal separator.
- One kind repeated ("1.234.567") is digit grouping.
- One separator once is decimal, unless exactly three digits follow it and one to three digits
  precede it (not "0"): "1,234" and "1.234" are 1234, "0,125", "12.5" and "1234,567" are decimals.
  That is the one ambiguous case; amounts with cents are never affected.
Digit groups must be well formed (1–3 digits, then groups of 3; Indian 2-digit groups are accepted),
so dates ("12.03.2024"), phone numbers and codes do not parse: the result is None.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

HALF_CENT = Decimal("0.005")

_MINUS = "-\u2212\u2012\u2013"
_GROUP_MARKS = " \u00a0\u202f\u2009'\u2019"
_CURRENCY_WORDS = ("S$", "A$", "NZ$", "HK$", "US$", "Rp.", "Rp", "Rs.", "Rs", "RM", "kr.", "kr", "zł", "Kč", "Ft", "Fr.", "lei")  # RM: Malaysian ringgit
# ISO 4217 codes seen on documents; a whitelist, so that "INV-2023" is not read as "-2023".
_CODES = (
    "USD EUR GBP JPY CNY RMB CHF CAD AUD NZD INR IDR KRW SGD HKD MYR THB VND PHP TWD SEK NOK DKK ISK PLN "
    "CZK HUF RON BGN TRY RUB UAH BRL MXN ARS CLP COP PEN ZAR NGN KES EGP MAD AED SAR QAR KWD ILS"
).split()
_CURRENCY_CODE = re.compile(rf"^(?:{'|'.join(_CODES)})(?![A-Za-z])|(?<![A-Za-z])(?:{'|'.join(_CODES)})$")
_GROUPED = re.compile(r"^\d{1,3}(?:G\d{3})*$|^\d{1,2}(?:G\d{2})*G\d{3}$")


def parse_number(text: object) -> Decimal | None:
    """The number written in ``text``, or None when it is not (only) a number."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, Decimal)):
        return Decimal(text)
    if isinstance(text, float):
        return Decimal(repr(text))
    if not isinstance(text, str):
        return None
    body, negative = _strip_decorations(unicodedata.normalize("NFKC", text))
    value = _parse_digits(body)
    if value is None:
        return None
    return -value if negative else value


def numbers_match(pred: object, gold: object, tolerance: Decimal = HALF_CENT) -> bool | None:
    """Whether both parse and differ by at most ``tolerance``; None when either does not parse."""
    a, b = parse_number(pred), parse_number(gold)
    if a is None or b is None:
        return None
    return abs(a - b) <= tolerance


def _strip_decorations(text: str) -> tuple[str, bool]:
    """Remove sign, currency and percent marks from both ends; return the rest and the sign."""
    body = text.strip()
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1]
    signs = 0
    changed = True
    while changed and body:
        changed = False
        stripped = body.strip()
        if stripped != body:
            body, changed = stripped, True
        if body and body[0] in _MINUS + "+":
            negative ^= body[0] != "+"
            body, changed, signs = body[1:], True, signs + 1
        elif body and body[-1] in _MINUS and len(body) > 1:  # accounting style: "12.50-"
            negative ^= True
            body, changed, signs = body[:-1], True, signs + 1
        # before the symbols: "12,30 S$" is one currency, not "$" after a stray "S"
        for word in _CURRENCY_WORDS:
            if body.startswith(word):
                body, changed = body[len(word) :], True
            elif body.endswith(word):
                body, changed = body[: -len(word)], True
        for end in (0, -1):
            if body and (unicodedata.category(body[end]) == "Sc" or body[end] == "%"):
                body = body[1:] if end == 0 else body[:-1]
                changed = True
        match = _CURRENCY_CODE.search(body)
        if match:
            body, changed = body[: match.start()] + body[match.end() :], True
    if signs > 1:
        return "", False  # "--5", "-5-": not a number we should guess at
    return body, negative


def _parse_digits(body: str) -> Decimal | None:
    if not body or not any(ch.isdigit() for ch in body):
        return None
    if any(mark in body for mark in _GROUP_MARKS):
        # Spaces/apostrophes group digits; then at most one "." or "," is left, the decimal point.
        parts = re.split(r"[.,]", body)
        if len(parts) > 2:
            return None
        integer = re.sub(f"[{_GROUP_MARKS}]", "G", parts[0])
        if not _GROUPED.match(integer):
            return None
        return _decimal(integer.replace("G", ""), parts[1] if len(parts) == 2 else "")
    if not re.fullmatch(r"[\d.,]+", body):
        return None
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        decimal_mark = "." if body.rfind(".") > body.rfind(",") else ","
        group_mark = "," if decimal_mark == "." else "."
        integer, _, fraction = body.rpartition(decimal_mark)
        if decimal_mark in integer or not _GROUPED.match(integer.replace(group_mark, "G")):
            return None
        return _decimal(integer.replace(group_mark, ""), fraction)
    mark = "." if dots else "," if commas else ""
    if not mark:
        return _decimal(body, "")
    if body.count(mark) > 1:
        return _decimal(body.replace(mark, ""), "") if _GROUPED.match(body.replace(mark, "G")) else None
    integer, _, fraction = body.partition(mark)
    if len(fraction) == 3 and 1 <= len(integer) <= 3 and integer != "0":
        return _decimal(integer + fraction, "")  # "1,234" / "1.234": digit grouping
    return _decimal(integer, fraction)


def _decimal(integer: str, fraction: str) -> Decimal | None:
    if not (integer + fraction) or not (integer + fraction).isdigit() or not (integer.isdigit() or integer == ""):
        return None
    try:
        return Decimal(f"{integer or '0'}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - guarded by the digit checks above
        return None
