"""Numeric consistency of predictions: printed values read by type and locale, then the generator's
own validator (docfactory.generators.validate.check_values)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from docfactory.evaluate import numeric_consistency, parse_localized
from docfactory.evaluate.numeric import normalize_value

TYPES = {"items.*.quantity": "number", "items.*.unit_price": "money", "items.*.amount": "money",
         "subtotal": "money", "discount": "money", "tax_rate": "percent", "tax": "money", "total": "money",
         "invoice_date": "date", "due_date": "date", "invoice_number": "id"}

# A de_DE invoice as printed: 2 x 12,50 + 1.000,00 = 1.025,00; -25,00; 19 % of 1.000,00 = 190,00.
INVOICE = {
    "invoice_number": "RE-2024-0042",
    "invoice_date": "01.03.2024",
    "due_date": "31.03.2024",
    "items": [
        {"quantity": "2", "unit_price": "12,50 €", "amount": "25,00 €"},
        {"quantity": "1", "unit_price": "1.000,00 €", "amount": "1.000,00 €"},
    ],
    "subtotal": "1.025,00 €",
    "discount": "25,00 €",
    "tax_rate": "19 %",
    "tax": "190,00 €",
    "total": "1.190,00 €",
}


@pytest.mark.parametrize(("text", "mark", "expected"), [
    ("2,211", ",", "2.211"),  # a French weighed quantity, not two thousand
    ("2,211", ".", "2211"),
    ("1.234", ",", "1234"),
    ("1.234,56 €", ",", "1234.56"),
    ("1234.56", ",", "1234.56"),  # a model that prints the normal form in a German document
    ("7.290\u00a0¥", ",", "7290"),  # whole yen stay whole: check_values rounds to the places shown
    ("8,50", ",", "8.50"),
    ("-3,00 €", ",", "-3.00"),
    ("0,610", ",", "0.610"),
])
def test_parse_localized_settles_the_ambiguous_case_by_locale(text, mark, expected):
    assert f"{parse_localized(text, mark):f}" == expected


def test_values_normalize_by_type_and_locale():
    assert normalize_value("19\u00a0%", "percent", "de_DE") == "0.19"
    assert normalize_value("7.25%", "percent", "en_US") == "0.0725"
    assert normalize_value("0.19", "percent", "en_US") == "0.19"  # already a fraction
    assert normalize_value("07/06/2024", "date", "fr_FR") == "2024-06-07"
    assert normalize_value("06/07/2024", "date", "en_US") == "2024-06-07"
    assert normalize_value("2024-06-07", "date", "de_DE") == "2024-06-07"
    assert normalize_value("about ten", "money", "en_US") is None
    assert normalize_value(["12.50"], "money", "en_US") == "12.50"


def test_a_consistent_printed_invoice_passes():
    check = numeric_consistency("invoice", INVOICE, TYPES, "de_DE")
    assert check.ok is True and check.violations == [] and check.unreadable == []
    assert check.checked == 11


def test_a_changed_total_names_the_relation():
    check = numeric_consistency("invoice", {**INVOICE, "total": "1.191,00 €"}, TYPES, "de_DE")
    assert check.ok is False
    assert check.violations == ["total = subtotal - discount + tax"]


def test_a_wrong_line_amount_breaks_its_product_and_the_subtotal():
    items = [dict(INVOICE["items"][0], amount="26,00 €"), INVOICE["items"][1]]
    check = numeric_consistency("invoice", {**INVOICE, "items": items}, TYPES, "de_DE")
    assert check.violations == ["items.0.amount = quantity x unit_price", "subtotal = sum(items.amount)"]


def test_unreadable_amount_is_reported_not_raised():
    check = numeric_consistency("invoice", {**INVOICE, "tax": "einhundertneunzig"}, TYPES, "de_DE")
    assert check.ok is False and check.unreadable == ["tax"]
    assert check.violations == []  # relations over the unreadable tax are not checked


def test_dates_are_checked_too_and_nothing_numeric_means_unknown():
    check = numeric_consistency("invoice", {**INVOICE, "due_date": "01.02.2024"}, TYPES, "de_DE")
    assert check.violations == ["due_date >= invoice_date"]
    assert numeric_consistency("invoice", {"invoice_number": "RE-1"}, TYPES, "de_DE").ok is None
    assert numeric_consistency("invoice", {}, TYPES, "de_DE").ok is None


def test_a_hallucinated_discount_still_has_to_add_up():
    types = {k: v for k, v in TYPES.items() if k != "discount"}  # the gold document has no discount
    check = numeric_consistency("invoice", {**INVOICE, "discount": "30,00 €"}, types, "de_DE")
    assert "total = subtotal - discount + tax" in check.violations
    extra_text = numeric_consistency("invoice", {**INVOICE, "note": "Danke"}, TYPES, "de_DE")
    assert extra_text.ok is True  # an undeclared key that is not a number is not checked


def test_tolerance_is_the_validators():
    near = {**INVOICE, "total": "1.190,01 €"}
    assert numeric_consistency("invoice", near, TYPES, "de_DE").ok is False
    assert numeric_consistency("invoice", near, TYPES, "de_DE", tolerance=Decimal("0.01")).ok is True


def test_a_lone_total_is_not_checked_so_it_does_not_pass():
    """Only `total`: no relation has all its values, so the verdict is unknown (None), not True."""
    check = numeric_consistency("invoice", {"total": INVOICE["total"]}, TYPES, "de_DE")
    assert check.ok is None and check.relations == 0 and check.checked == 1
    full = numeric_consistency("invoice", INVOICE, TYPES, "de_DE")
    assert full.ok is True and full.relations > 0
