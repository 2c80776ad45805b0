"""The locale-tolerant number parser and the half-cent match."""

from __future__ import annotations

from decimal import Decimal

import pytest

from docfactory.evaluate import numbers_match, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234.56", "1234.56"),
        ("1'234.50", "1234.50"),
        ("1.234,56 €", "1234.56"),
        ("€1,234.56", "1234.56"),
        ("$ 12.00", "12"),
        ("EUR 1 234,56", "1234.56"),
        ("12.50 USD", "12.5"),
        ("Rp 45.000", "45000"),
        ("45,000", "45000"),
        ("1.234.567", "1234567"),
        ("1,23,456.78", "123456.78"),
        ("0,125", "0.125"),
        ("12,5", "12.5"),
        ("1234,567", "1234.567"),
        (".50", "0.5"),
        ("-12.30", "-12.3"),
        ("−12,5 %", "-12.5"),
        ("- € 3", "-3"),
        ("€-3", "-3"),
        ("12.50-", "-12.5"),
        ("(1,234.56)", "-1234.56"),
        ("+7", "7"),
        ("19%", "19"),
        ("2024", "2024"),
        (7, "7"),
        (2.5, "2.5"),
    ],
)
def test_parses(text: object, value: str) -> None:
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize(
    "text", ["", "-", "abc", "12.03.2024", "0812-3456", "INV-2023", "12 34", "3 x 4", "--5", "1e5", "1.234,5,6", None, True]
)
def test_rejects(text: object) -> None:
    assert parse_number(text) is None


def test_half_cent_tolerance() -> None:
    assert numbers_match("1.234,56 €", "1234.56") is True
    assert numbers_match("1234.565", "1234.56") is True  # exactly half a cent: Decimal, no float fuzz
    assert numbers_match("1234.566", "1234.56") is False
    assert numbers_match("12", "12.01", tolerance=Decimal("0.01")) is True
    assert numbers_match("n/a", "12") is None
