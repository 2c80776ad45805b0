"""The English-speaking GST locales en_SG, en_IN and en_AU: India's lakh grouping, each currency as
printed (the rupee sign only in a font that draws it), dates, addresses, phones and tax numbers in
the country's shapes, and one seeded document per template and locale that renders and verifies."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from docfactory.generators import generate_pages
from docfactory.generators.content import CONTENT_BUILDERS, iter_fields
from docfactory.generators.content.context import ContentContext
from docfactory.generators.locales import (
    CURRENCIES, LOCALES, currency_in_font, format_money, format_number, format_percent,
)
from docfactory.records import DocSpec, Knobs

NEW = ("en_SG", "en_IN", "en_AU")
TEMPLATES = ("invoice_classic", "invoice_modern", "receipt_shop", "receipt_thermal", "statement_report")
SYMBOL = {"en_SG": "S$", "en_AU": "$"}
ADDRESS_LAST_LINE = {
    "en_SG": r"(SINGAPORE|Singapore) \d{6}|S\(\d{6}\)",
    "en_IN": r".*\b[1-8]\d{5}",
    "en_AU": r"[A-Za-z'. -]+ (NSW|ACT|VIC|QLD|SA|WA|TAS|NT) \d{4}",
}
TAX_NUMBER = {  # check digits and the tie to the registration: test_company_field.py
    "en_SG": r"\d{9}[A-Z]|5[23]\d{6}[A-Z]|T\d\dLL\d{4}[A-Z]|M9\d{7}[A-Z]|M\d-\d{7}-\d",
    "en_IN": r"\d\d[A-Z]{3}[CF][A-Z]\d{4}[A-Z][1-9]Z[0-9A-Z]",
    "en_AU": r"\d\d \d{3} \d{3} \d{3}",
}
PHONE = {
    "en_SG": r"(\+65 |\(65\) )?[689]\d{3} \d{4}",
    "en_IN": r"(\+91 |0)?[6-9]\d{4} \d{5}|0\d\d-\d{4} \d{4}|\(0\d\d\) \d{8}",
    "en_AU": r"\(0[2378]\) [3-9]\d{3} \d{4}|0[2378] [3-9]\d{3} \d{4}|\+61 [2378] [3-9]\d{3} \d{4}|04\d\d \d{3} \d{3}"
             r"|1[38]00 \d{3} \d{3}",
}


def _knobs(locale: str, font: str = "DejaVu Sans", tax_rate: str | None = None, n_items: int = 4) -> Knobs:
    loc = LOCALES[locale]
    return Knobs(locale=locale, currency=loc.default_currency, n_items=n_items, tax_rate=tax_rate or loc.tax_rates[0],
                 discount_rate="0", font=font, dpi=72)


def test_indian_grouping_puts_lakhs_and_crores_in_twos():
    india = LOCALES["en_IN"]
    assert format_number(Decimal("1234567.891"), india, 2) == "12,34,567.89"
    assert format_number(Decimal("123456789"), india) == "12,34,56,789"
    assert format_number(Decimal("100000"), india) == "1,00,000"
    assert [format_number(Decimal(v), india) for v in ("999", "1000", "-54321.5")] == ["999", "1,000", "-54,321.5"]
    assert format_number(Decimal("1234567.891"), LOCALES["en_SG"], 2) == "1,234,567.89"  # thousands elsewhere


def test_currencies_print_the_country_way():
    amount = Decimal("1234567.5")
    assert format_money(amount, CURRENCIES["INR"], LOCALES["en_IN"]) == "₹12,34,567.50"
    assert format_money(Decimal("-3.456"), CURRENCIES["INR"], LOCALES["en_IN"]) == "-₹3.46"
    assert format_money(Decimal("12.3"), CURRENCIES["SGD"], LOCALES["en_SG"]) == "S$12.30"
    assert format_money(amount, CURRENCIES["AUD"], LOCALES["en_AU"]) == "$1,234,567.50"
    assert format_percent(Decimal("0.09"), LOCALES["en_SG"]) == "9%"


def test_the_rupee_sign_only_in_a_font_that_draws_it():
    assert currency_in_font("INR", "DejaVu Sans").symbol == "₹"
    assert currency_in_font("INR", "DejaVu Sans Mono").symbol == "₹"
    for font in ("Liberation Sans", "Liberation Serif", "Liberation Mono"):
        assert currency_in_font("INR", font).symbol == "Rs."
    assert currency_in_font("EUR", "Liberation Sans") is CURRENCIES["EUR"]
    liberation = ContentContext.create(3, _knobs("en_IN", "Liberation Sans"))
    assert CONTENT_BUILDERS["receipt"](liberation)["total"].text.startswith("Rs.")


@pytest.mark.parametrize("locale", NEW)
def test_parties_have_the_countrys_address_phone_and_tax_number(locale):
    for seed in range(30):
        tree = CONTENT_BUILDERS["invoice"](ContentContext.create(seed, _knobs(locale)))
        seller = tree["seller"]
        assert re.fullmatch(ADDRESS_LAST_LINE[locale], seller["address"].text.split("\n")[-1]), seller["address"].text
        assert re.fullmatch(PHONE[locale], seller["phone"].text), seller["phone"].text
        assert re.fullmatch(TAX_NUMBER[locale], seller["vat_id"].text), seller["vat_id"].text
        day, month, year = re.split("[-/]", tree["invoice_date"].text)
        assert tree["invoice_date"].normalized == f"{year}-{month}-{day}"
        assert tree["total"].text.startswith(SYMBOL.get(locale, "₹"))


def test_singapore_documents_are_dated_while_their_gst_rate_was_in_force():
    years = {"0.09": {2024, 2025}, "0.08": {2023}, "0.07": {2020, 2021, 2022}}
    for rate, allowed in years.items():
        for seed in range(20):
            ctx = ContentContext.create(seed, _knobs("en_SG", tax_rate=rate, n_items=8), {"multi_rate": True})
            tree = CONTENT_BUILDERS["invoice"](ctx)
            assert dt.date.fromisoformat(tree["invoice_date"].normalized).year in allowed
            # a second rate on one invoice is zero-rated supplies, never another year's standard rate
            assert {line["rate"].text for line in tree["tax_summary"]} <= {format_percent(Decimal(rate), ctx.loc), "0%"}


@pytest.mark.parametrize("locale", NEW)
def test_same_seed_same_content(locale):
    def make(seed: int) -> list[tuple[str, str]]:
        tree = CONTENT_BUILDERS["receipt"](ContentContext.create(seed, _knobs(locale)))
        return [(path, field.text) for path, field in iter_fields(tree)]

    assert make(4) == make(4) and make(4) != make(5)


@pytest.mark.parametrize("locale", NEW)
def test_every_template_renders_and_verifies_in_the_locale(registry, locale):
    specs = []
    for i, name in enumerate(TEMPLATES):
        config = registry.get(name).config
        specs.append(DocSpec(f"{locale}-{name}", name, 70 + i, _knobs(locale, config.fonts[i % len(config.fonts)],
                                                                         n_items=config.n_items[0] + 2)))
    records, rejected = generate_pages(specs, registry)
    assert rejected == [], [r.reason for r in rejected]
    assert {r.template for r in records} == set(TEMPLATES)
    for record in records:
        if record.page == 0 and record.template != "statement_report":
            total = next(f.value for f in record.fields if f.name == "total")
            spec = next(s for s in specs if s.doc_id == record.doc_id)
            assert total.startswith(currency_in_font(LOCALES[locale].default_currency, spec.knobs.font).symbol), total
