"""receipt_pos, the Malaysian till slip (SROIE-like): upper-case values, an en_MY registered company,
bare-number totals as SROIE writes them, its date formats, and byte-identical pages for a seed."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from docfactory.generators import generate_pages, sample_spec
from docfactory.generators.content import CONTENT_BUILDERS
from docfactory.generators.content.context import ContentContext
from docfactory.generators.document import build_content
from docfactory.generators.locales import CURRENCIES, LEGAL_FORMS, LOCALES, format_money
from docfactory.records import Knobs

DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%y", "%d/%m/%y", "%d-%m-%Y", "%d %b %Y", "%Y-%m-%d")  # as template.yaml's date_formats ("^": capitals)
N_DOCS = 6


@pytest.fixture(scope="module")
def pages(registry):
    template = registry.get("receipt_pos")
    specs = [sample_spec(5, i, [template], prefix="pos") for i in range(N_DOCS)]
    records, rejected = generate_pages(specs, registry)
    assert rejected == []
    return specs, records


def _fields(record) -> dict:
    return {f.name: f for f in record.fields}


def test_company_is_a_malaysian_company_or_a_registered_trading_name(pages):
    specs, records = pages
    for spec, record in zip(specs, records):
        assert spec.knobs.locale == "en_MY" and spec.knobs.currency == "MYR"
        fields = _fields(record)
        company = fields["store.company"].value
        if "store.name" in fields and company == fields["store.name"].value:
            # one name: it heads the slip as the company line, the brand line moves to the foot
            assert fields["store.company"].boxes[0].y0 < fields["store.name"].boxes[0].y0
        else:
            assert any(company.endswith(" " + form) for form in LEGAL_FORMS["en_MY"] if form), company
        assert re.fullmatch(r"(\d{5,9}|[A-Z]{2}\d{7})-[A-Z]", _fields(record)["store.registration"].value)


def test_total_is_a_bare_number_that_needs_no_rounding(pages):
    _, records = pages
    for record in records:
        fields = _fields(record)
        total = fields["total"]
        assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d\d", total.value), total.value  # "12.30", as SROIE writes it
        assert Decimal(total.normalized) % Decimal("0.05") == 0  # Malaysian cash rounding: the amount due
        for name in ("subtotal", "tax", "payment.tendered", "payment.change"):
            assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d\d", fields[name].value), (name, fields[name].value)


def test_date_prints_in_one_of_the_formats(pages):
    _, records = pages
    for record in records:
        date = _fields(record)["date"]
        parsed = []
        for fmt in DATE_FORMATS:
            try:
                parsed.append(dt.datetime.strptime(date.value, fmt).date())
            except ValueError:
                pass
        assert date.normalized in [day.isoformat() for day in parsed], date


def test_every_value_is_upper_case(pages):
    _, records = pages
    for record in records:
        for field in record.fields:
            assert field.value == field.value.upper(), (field.name, field.value)


def test_same_seed_same_png(pages, registry):
    specs, records = pages
    again, rejected = generate_pages(specs[:2], registry)
    assert rejected == [] and [r.image for r in again] == [r.image for r in records[:2]]


def test_layout_choices_come_from_the_seed(registry):
    template = registry.get("receipt_pos")
    choices = [build_content(sample_spec(9, i, [template]), template).choices for i in range(12)]
    assert choices[3] == build_content(sample_spec(9, 3, [template]), template).choices
    assert len({c["total_label"] for c in choices}) > 1 and len({c["paper"] for c in choices}) > 1
    assert set(choices[0]) == set(template.config.choices)


def test_the_template_prints_only_its_locales(registry):
    template = registry.get("receipt_pos")
    for i in range(20):
        spec = sample_spec(1, i, [template], weights={"locale": {"de_DE": 50}})
        assert spec.knobs.locale == "en_MY" and spec.knobs.tax_rate in LOCALES["en_MY"].tax_rates


def test_malaysian_content_is_upper_case_and_formatted():
    loc = LOCALES["en_MY"]
    assert format_money(Decimal("1234.5"), CURRENCIES["MYR"], loc) == "RM\u00a01,234.50"
    knobs = Knobs(locale="en_MY", currency="MYR", n_items=4, tax_rate="0.06", discount_rate="0", font="x", dpi=72)
    for seed in range(10):
        tree = CONTENT_BUILDERS["receipt"](ContentContext.create(seed, knobs))
        store = tree["store"]
        for value in (store["name"], store["company"], store["address"], *(it["description"] for it in tree["items"])):
            assert value.text == value.text.upper(), value.text
        assert re.fullmatch(r"0\d{1,2}-[\d -]{7,10}", store["phone"].text), store["phone"].text
        assert re.fullmatch(r"\d\d/\d\d/20(1[5-8])", tree["date"].text)  # the GST years
        lines = store["address"].text.split("\n")
        assert len(lines) >= 3 and all(line.endswith(",") for line in lines[:-1])
        assert store["address"].normalized == " ".join(lines)  # "NO.53, JALAN SAGU 18, TAMAN DAYA, ..."
