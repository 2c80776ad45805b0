"""The legal entity behind a trading name: its registered name, ending in the locale's legal form,
and its registration number, as receipts and invoices print them under the brand (SROIE's
`company`: "OJC MARKETING SDN BHD (538358-H)").

Every choice comes from the document's `ctx.rng`, none from its Faker: the values Faker gives after
the builder (template provider fields such as a cashier's name) stay those of a document without one.
"""

from __future__ import annotations

from docfactory.field_types import Field
from docfactory.generators.content.context import ContentContext
from docfactory.generators.content import australia, india, singapore
from docfactory.generators.content.malaysia import BRANCHES
from docfactory.generators.locales import LEGAL_FORMS

# Words that start a legal form in Faker's company names ("Krebs GmbH & Co. KG", "Coulon SA",
# "Carroll Inc"): the trading name is cut there, so a registered name never carries two forms.
_FORM_WORDS = frozenset({
    "Inc", "Inc.", "LLC", "PLC", "plc", "Ltd", "Limited", "Corp.", "AG", "GmbH", "KG", "KGaA", "OHG", "GbR",
    "e.V.", "e.G.", "e.K.", "Stiftung", "SA", "S.A.", "SARL", "S.A.R.L.", "S.A.S.", "SAS", "EURL",
})
# A trading name's own legal form as our forms write it: the company keeps the form its name shows.
_FORM_SPELLINGS = {"Inc": "Inc.", "PLC": "plc", "S.A.": "SA", "S.A.R.L.": "SARL", "S.A.S.": "SAS"}
_FAMILY_ENDINGS = ("and Sons", "et Fils")  # "Smith and Sons Ltd", never "Smith and Sons Retail Ltd"
_TRADE_WORD_P = 0.5
# Forms that name a registered business rather than a company: "SOON HUAT MACHINERY ENTERPRISE" takes no
# trade word of its own ("... HOLDINGS ENTERPRISE").
_TRADE_FORMS = ("ENTERPRISE", "TRADING")
_BRANCH_P = 0.3

# Commercial courts (greffes) that keep the French trade register (RCS).
_GREFFES = ("Paris", "Lyon", "Marseille", "Nanterre", "Bordeaux", "Lille", "Nantes", "Toulouse", "Rennes", "Nice")
# Common IRS campus prefixes of US employer identification numbers.
_EIN_PREFIXES = (20, 26, 27, 30, 33, 36, 45, 46, 47, 81, 82, 83, 84, 85, 86, 87, 88, 90, 91, 92, 93)


def legal_entity(ctx: ContentContext, trade_name: str, trades: tuple[str, ...]) -> dict[str, Field]:
    """{"company": registered name, "registration": its register number}. The name is the trading
    name (cut before a legal form of its own, which the company keeps where the locale has it), with
    a trade word half the time or where it would repeat the trading name, plus a legal form."""
    forms = LEGAL_FORMS[ctx.knobs.locale]
    form = ctx.rng.choices(list(forms), weights=list(forms.values()))[0]
    words = trade_name.split()
    cut = next((i for i, word in enumerate(words) if i and word in _FORM_WORDS), len(words))
    name, tail = " ".join(words[:cut]).rstrip(","), " ".join(words[cut:])
    own_form = _FORM_SPELLINGS.get(tail, tail)
    if tail and own_form in forms:
        form = own_form
    with_trade, trade = ctx.rng.random() < _TRADE_WORD_P, ctx.rng.choice(trades)
    if not form:  # registered under the trading name itself: the brand line and the company are one
        return {"company": ctx.text(trade_name), "registration": ctx.ident(_REGISTERS[ctx.knobs.locale](ctx.rng, form))}
    if (with_trade or f"{name} {form}" == trade_name) and not name.endswith(_FAMILY_ENDINGS + (trade,)) \
            and form not in _TRADE_FORMS:
        name = f"{name} {trade}"  # and a company never just repeats the trading name above it
    if ctx.knobs.locale == "en_MY" and form in ("SDN BHD", "BHD") and ctx.rng.random() < _BRANCH_P:
        name = f"{name} ({ctx.rng.choice(BRANCHES)})"  # "MR D.I.Y. (JOHOR) SDN BHD"
    number = _REGISTERS[ctx.knobs.locale](ctx.rng, form)
    return {"company": ctx.text(f"{name} {form}"), "registration": ctx.ident(number)}


def _handelsregister(rng, form: str) -> str:
    # Section B holds capital companies; partnerships and sole traders are in section A.
    return f"{'HRB' if form in ('GmbH', 'AG') else 'HRA'} {rng.randrange(1000, 250000)}"


def _rcs(rng, form: str) -> str:
    # The SIREN: eight digits and a Luhn check digit, printed after the court.
    payload = str(rng.randrange(30_000_000, 99_999_999))
    siren = payload + _luhn_digit(payload)
    # Printed ungrouped ("RCS Lyon 814380259", as many invoices do): grouped digits split into words
    # that read as one amount-like value, and a line break could split the number.
    return f"RCS {rng.choice(_GREFFES)} {siren}"


def _companies_house(rng, form: str) -> str:
    return f"SC{rng.randrange(100000, 800000)}" if rng.random() < 0.1 else f"{rng.randrange(1_000_000, 15_000_000):08d}"


def _ein(rng, form: str) -> str:
    return f"{rng.choice(_EIN_PREFIXES)}-{rng.randrange(0, 10_000_000):07d}"


def _ssm(rng, form: str) -> str:
    """Malaysia's Companies Commission (SSM): a company number and its check letter ("538358-H",
    "002043319-W" zero-padded); a registered business has a state prefix ("SA0264195-T")."""
    letter = rng.choice(_SSM_LETTERS)
    if form in ("SDN BHD", "BHD"):
        number = rng.randrange(10_000, 1_300_000)
        return f"{number:09d}-{letter}" if rng.random() < 0.3 else f"{number}-{letter}"
    if rng.random() < 0.3:
        return f"{rng.randrange(1_000_000, 3_000_000):09d}-{letter}"
    return f"{rng.choice(_SSM_STATES)}{rng.randrange(0, 10_000_000):07d}-{letter}"


_SSM_LETTERS = "ABCDEFGHKMNPTUVWX"
_SSM_STATES = ("JM", "SA", "KT", "PG", "IP", "CA", "KL")


def _acra(rng, form: str) -> str:
    """Singapore's UEN, as receipts print it: bare, or after "UEN" or a company's "Co. Reg. No."."""
    kind = "company" if "PTE" in form else "llp" if form == "LLP" else "business"
    prefixes = ("", "UEN ", "UEN: ") + (("Co. Reg. No. ",) if kind == "company" else ())
    return rng.choice(prefixes) + singapore.uen(rng, kind)


def _gst_india(rng, form: str) -> str:
    """India's GSTIN, which bills print under the seller ("GSTIN: 29AABCK1234M1Z5"); a company's
    letterhead may give its CIN instead, an LLP's its LLPIN."""
    if form == "LLP":
        return f"LLPIN {india.llpin(rng)}" if rng.random() < 0.25 else \
            rng.choice(("GSTIN ", "GSTIN: ")) + india.gstin(rng, holder="F")
    if rng.random() < 0.25:
        return f"CIN {india.cin(rng, listed=form == 'Ltd.')}"
    return rng.choice(("GSTIN ", "GSTIN: ", "GST No. ")) + india.gstin(rng, holder="C")


def _abr(rng, form: str) -> str:
    """Australia's ABN, "ABN 51 824 753 556"; a company's sometimes its ACN instead (the last nine
    digits of its ABN)."""
    if form and rng.random() < 0.25:
        return f"ACN {australia.acn(rng)}"
    return f"ABN {australia.abn(rng)}"


_REGISTERS = {"de_DE": _handelsregister, "fr_FR": _rcs, "en_GB": _companies_house, "en_US": _ein, "en_MY": _ssm,
              "en_SG": _acra, "en_IN": _gst_india, "en_AU": _abr}


def tax_number(ctx: ContentContext, registration: str) -> Field | None:
    """The seller's tax number (an invoice's `vat_id`) where the locale's follows from its
    registration: an Australian company's ABN holds its ACN, a Singapore entity is GST-registered
    under its UEN (older registrations: "M2-0012345-6"), an Indian seller's GSTIN is the one its
    bills print. None elsewhere, drawing nothing."""
    locale, number = ctx.knobs.locale, registration.rsplit(" ", 1)[-1]  # the number after its register's name
    if locale == "en_AU":
        if registration.startswith("ACN "):
            return ctx.ident(australia.abn(ctx.rng, acn=registration.removeprefix("ACN ")))
        return ctx.ident(registration.removeprefix("ABN "))
    if locale == "en_SG":
        return ctx.ident(singapore.gst_number(ctx.rng) if ctx.rng.random() < 0.3 else number)
    if locale == "en_IN":
        if "GST" in registration:
            return ctx.ident(number)
        return ctx.ident(india.gstin(ctx.rng, holder="C" if registration.startswith("CIN") else "F"))
    return None


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)  # doubled from the right, as the check digit will follow
        total += d - 9 if d > 9 else d
    return str(-total % 10)
