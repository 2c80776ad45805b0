"""Content arithmetic and formats: checked without rendering, across many seeds and every kind."""

from __future__ import annotations

from decimal import Decimal

import pytest

from docfactory.generators.content import map_leaves
from docfactory.generators.content.context import ContentContext
from docfactory.generators.content import CONTENT_BUILDERS
from docfactory.generators.locales import CURRENCIES, LOCALES, NBSP, format_money, format_percent
from docfactory.generators.validate import check_values
from docfactory.records import Knobs


def _knobs(locale: str, currency: str, n_items: int = 6, discount: str = "0.1") -> Knobs:
    return Knobs(locale=locale, currency=currency, n_items=n_items, tax_rate=LOCALES[locale].tax_rates[0],
                 discount_rate=discount, font="DejaVu Sans", dpi=72)


@pytest.mark.parametrize("kind", sorted(CONTENT_BUILDERS))
@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_generated_content_passes_every_relation(kind, locale):
    for seed in range(25):
        currency = "JPY" if seed % 5 == 0 else LOCALES[locale].default_currency
        ctx = ContentContext.create(seed, _knobs(locale, currency, n_items=1 + seed % 12), {"multi_rate": seed % 2 == 0})
        tree = CONTENT_BUILDERS[kind](ctx)
        assert check_values(kind, map_leaves(tree, lambda f: f.normalized)) == []


def test_validator_names_the_broken_relation():
    ctx = ContentContext.create(3, _knobs("de_DE", "EUR"), {"multi_rate": True})
    values = map_leaves(CONTENT_BUILDERS["invoice"](ctx), lambda f: f.normalized)
    values["items"][1]["amount"] = str(Decimal(values["items"][1]["amount"]) + 1)
    relations = [v.relation for v in check_values("invoice", values)]
    assert "items.1.amount = quantity x unit_price" in relations
    assert "subtotal = sum(items.amount)" in relations
    values = map_leaves(CONTENT_BUILDERS["invoice"](ctx), lambda f: f.normalized)
    values["due_date"] = "2000-01-01"
    assert [v.relation for v in check_values("invoice", values)] == ["due_date >= invoice_date"]


def test_same_seed_same_content_other_seed_other_content():
    make = lambda seed: map_leaves(CONTENT_BUILDERS["receipt"](ContentContext.create(seed, _knobs("fr_FR", "EUR"))), lambda f: f.text)
    assert make(11) == make(11)
    assert make(11) != make(12)


def test_locale_money_formats():
    amount = Decimal("1234567.5")
    assert format_money(amount, CURRENCIES["USD"], LOCALES["en_US"]) == "$1,234,567.50"
    assert format_money(amount, CURRENCIES["EUR"], LOCALES["de_DE"]) == f"1.234.567,50{NBSP}€"
    assert format_money(amount, CURRENCIES["EUR"], LOCALES["fr_FR"]) == f"1{NBSP}234{NBSP}567,50{NBSP}€"
    assert format_money(Decimal("1234.5"), CURRENCIES["JPY"], LOCALES["en_US"]) == "¥1,235"  # rounded to whole yen
    assert format_money(Decimal("-3.456"), CURRENCIES["GBP"], LOCALES["en_GB"]) == "-£3.46"
    assert format_percent(Decimal("0.055"), LOCALES["fr_FR"]) == f"5,5{NBSP}%"
    assert format_percent(Decimal("0.19"), LOCALES["en_US"]) == "19%"


def test_dates_are_ordered_and_locale_formatted():
    ctx = ContentContext.create(5, _knobs("de_DE", "EUR"))
    tree = CONTENT_BUILDERS["invoice"](ctx)
    issued, due = tree["invoice_date"], tree["due_date"]
    assert issued.normalized <= due.normalized
    day, month, year = issued.text.split(".")
    assert issued.normalized == f"{year}-{month}-{day}"
