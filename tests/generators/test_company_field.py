"""The issuer's registered company (SROIE's `company`): every receipt and invoice template prints it
as a verified label ending in a legal form of the document's locale, with its registration number."""

from __future__ import annotations

import re

import pytest

from docfactory.generators.content import CONTENT_BUILDERS
from docfactory.generators.content.context import ContentContext
from docfactory.generators.locales import LEGAL_FORMS, LOCALES
from docfactory.generators.pipeline import generate_pages
from docfactory.records import DocSpec, Knobs

ISSUER = {"receipt_shop": "store", "receipt_thermal": "store", "invoice_classic": "seller", "invoice_modern": "seller"}
REGISTRATION = {
    "en_US": r"\d\d-\d{7}",  # EIN
    "en_GB": r"(\d{8}|SC\d{6})",  # Companies House
    "de_DE": r"HR[AB] \d{4,6}",  # Handelsregister
    "fr_FR": r"RCS [A-Z][a-z]+ \d{9}",  # RCS court and SIREN (printed ungrouped)
    "en_MY": r"(\d{5,9}|[A-Z]{2}\d{7})-[A-Z]",  # SSM company or business number and check letter
    # UEN: a company's (year, serial), a business's or an LLP's, with its check letter
    "en_SG": r"(UEN:? |Co\. Reg\. No\. )?(\d{9}[A-Z]|5[23]\d{6}[A-Z]|T\d\dLL\d{4}[A-Z])",
    # GSTIN (state, PAN of a company or firm, entity, Z, check), or a company's CIN, an LLP's LLPIN
    "en_IN": r"(GSTIN:? |GST No\. )\d\d[A-Z]{3}[CF][A-Z]\d{4}[A-Z][1-9]Z[0-9A-Z]|CIN [LU]\d{5}[A-Z]{2}\d{4}P[TL]C\d{6}"
             r"|LLPIN A[A-Z]{2}-\d{4}",
    "en_AU": r"ABN \d\d \d{3} \d{3} \d{3}|ACN \d{3} \d{3} \d{3}",  # ABN, or a company's ACN
}


def _knobs(locale: str, font: str, n_items: int = 4) -> Knobs:
    loc = LOCALES[locale]
    return Knobs(locale=locale, currency=loc.default_currency, n_items=n_items, tax_rate=loc.tax_rates[0],
                 discount_rate="0.1", font=font, dpi=96)


def _has_legal_form(company: str, locale: str) -> bool:
    return any(company.endswith(" " + form) for form in LEGAL_FORMS[locale] if form)


def _siren_ok(registration: str) -> bool:
    digits = [int(c) for c in registration if c.isdigit()]
    total = sum(d if i % 2 == 0 else (2 * d - 9 if 2 * d > 9 else 2 * d) for i, d in enumerate(reversed(digits)))
    return total % 10 == 0  # Luhn


def _abn_ok(number: str) -> bool:
    """The ATO's rule: take 1 from the first digit; the weighted sum divides by 89."""
    digits = [int(c) for c in number if c.isdigit()]
    digits[0] -= 1
    weights = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    return len(digits) == 11 and sum(d * w for d, w in zip(digits, weights)) % 89 == 0


def _acn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    return len(digits) == 9 and (-sum(d * w for d, w in zip(digits, range(8, 0, -1)))) % 10 == digits[8]


def _gstin_ok(number: str) -> bool:
    """Luhn mod 36 over all 15 characters."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    total = 0
    for i, ch in enumerate(reversed(number)):
        product = alphabet.index(ch) * (2 if i % 2 else 1)
        total += product // 36 + product % 36
    return len(number) == 15 and total % 36 == 0


def _check_digits_ok(locale: str, registration: str) -> bool:
    number = registration.rsplit(" ", 1)[-1]
    if locale == "fr_FR":
        return _siren_ok(registration)
    if locale == "en_AU":
        return _abn_ok(registration) if registration.startswith("ABN") else _acn_ok(registration)
    if locale == "en_IN" and "GST" in registration:
        return _gstin_ok(number)
    return True


@pytest.mark.parametrize("locale", sorted(LOCALES))
@pytest.mark.parametrize("kind,issuer", [("receipt", "store"), ("invoice", "seller")])
def test_every_locale_builds_a_company_with_its_legal_form_and_register(locale, kind, issuer):
    sole = 0
    for seed in range(40):
        party = CONTENT_BUILDERS[kind](ContentContext.create(seed, _knobs(locale, "DejaVu Sans")))[issuer]
        company, registration = party["company"].text, party["registration"].text
        if company == party["name"].text:  # registered under its trading name (en_MY's "" form)
            assert "" in LEGAL_FORMS[locale], company
            sole += 1
        else:
            assert _has_legal_form(company, locale), company
        assert re.fullmatch(REGISTRATION[locale], registration), registration
        assert _check_digits_ok(locale, registration), registration
        assert (party["company"].type, party["registration"].type) == ("text", "id")
    # en_MY: 6 of 18 weight units are businesses registered under their trading name (en_SG 3 of 13,
    # en_AU 2 of 10)
    assert (sole > 0) == ("" in LEGAL_FORMS[locale]) and sole < 30, sole


@pytest.mark.parametrize("locale", ["en_SG", "en_IN", "en_AU"])
def test_the_invoice_tax_number_follows_the_registration(locale):
    """Australia's ABN is the registration's (a company's holds its ACN), Singapore's GST number is
    the UEN (or an older M2-/M9 number), India's GSTIN the one the registration prints."""
    for seed in range(40):
        seller = CONTENT_BUILDERS["invoice"](ContentContext.create(seed, _knobs(locale, "DejaVu Sans")))["seller"]
        vat_id, registration = seller["vat_id"].text, seller["registration"].text
        if locale == "en_AU":
            assert _abn_ok(vat_id) and vat_id.endswith(registration.split(" ", 1)[1]), (vat_id, registration)
        if locale == "en_IN":
            assert _gstin_ok(vat_id) and ("GST" not in registration or registration.endswith(vat_id))
        if locale == "en_SG":
            assert registration.endswith(vat_id) or vat_id.startswith("M"), (vat_id, registration)


def test_check_digit_rules_catch_a_wrong_digit():
    assert _abn_ok("51 824 753 556") and not _abn_ok("51 824 753 557")
    assert _acn_ok("004 085 616") and not _acn_ok("004 085 617")
    assert _gstin_ok("27AAPFU0939F1ZV") and not _gstin_ok("27AAPFU0939F1ZW")


def test_same_seed_same_company():
    make = lambda seed: CONTENT_BUILDERS["invoice"](ContentContext.create(seed, _knobs("de_DE", "DejaVu Sans")))["seller"]
    assert make(5) == make(5)
    assert [make(s)["company"] for s in range(8)] != [make(5)["company"]] * 8


def _contains_run(words: list[str], run: list[str]) -> bool:
    return any(words[i:i + len(run)] == run for i in range(len(words) - len(run) + 1))


@pytest.mark.parametrize("template", sorted(ISSUER))
def test_every_issuer_template_prints_a_verified_company(registry, template):
    config = registry.get(template).config
    issuer = ISSUER[template]
    for i, locale in enumerate(sorted(LOCALES)):
        spec = DocSpec(doc_id=f"company-{template}-{i}", template=template, seed=1000 + i,
                       knobs=_knobs(locale, config.fonts[i % len(config.fonts)], n_items=config.n_items[0] + 1))
        records, rejected = generate_pages([spec], registry)
        assert rejected == []
        fields = {f.name: f for f in records[0].fields}
        company = fields[f"{issuer}.company"]
        assert company.value and company.boxes
        trading_name = company.value == fields[f"{issuer}.name"].value and "" in LEGAL_FORMS[locale]
        assert trading_name or _has_legal_form(company.value, locale), company.value
        assert _contains_run([w.text for w in records[0].words], company.value.split()), company.value
        assert re.fullmatch(REGISTRATION[locale], fields[f"{issuer}.registration"].value)
