"""What a content builder gets: one seeded Faker and Random per document, and Field makers that
format values the locale's way while keeping the exact value as the normal form."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from faker import Faker

from docfactory.field_types import Field
from docfactory.generators.content import australia, india, malaysia, singapore
from docfactory.generators.locales import (
    LOCALES, Currency, LocaleFormat, currency_in_font, format_date, format_money, format_number,
    format_percent, round_money,
)
from docfactory.records import Knobs


# Where documents of a locale date from, when not 2022-2025: Malaysian receipts print GST, which
# was levied from April 2015 to May 2018.
_DATE_WINDOWS = {"en_MY": (dt.date(2015, 4, 1), 1156)}
# Standard rates that replaced one another, and when each was in force: a document charging one is
# dated then (Singapore's GST rose from 7 % to 8 % in 2023 and to 9 % in 2024). An invoice never
# charges two of them.
_RATE_WINDOWS = {("en_SG", "0.07"): (dt.date(2020, 1, 1), 1096), ("en_SG", "0.08"): (dt.date(2023, 1, 1), 365),
                 ("en_SG", "0.09"): (dt.date(2024, 1, 1), 731)}

# Our locale name -> Faker's, where they differ. Faker calls Malaysia "en_MS"; it has no Singapore,
# whose shop names, addresses and phones come from content/singapore.py and the rest (a cashier's
# first name, e-mail addresses) from British English.
_FAKER_LOCALES = {"en_MY": "en_MS", "en_SG": "en_GB"}

# Where Faker's names, addresses or phones do not look like the country's: the locale's own makers.
_TRADE_NAMES = {"en_MY": lambda fake: malaysia.shop_name(fake.random),
                "en_SG": lambda fake: singapore.shop_name(fake.random), "en_IN": india.shop_name}
_ADDRESSES = {"en_MY": malaysia.address_lines, "en_SG": lambda fake: singapore.address_lines(fake.random),
              "en_IN": india.address_lines, "en_AU": australia.address_lines}
_PHONES = {"en_MY": malaysia.phone_number, "en_SG": singapore.phone_number, "en_IN": india.phone_number,
           "en_AU": australia.phone_number}


@lru_cache(maxsize=None)
def _faker(locale: str) -> Faker:
    # Building a Faker is slow (provider discovery); one per locale per process, reseeded per doc.
    return Faker(_FAKER_LOCALES.get(locale, locale))


@dataclass
class ContentContext:
    fake: Faker
    rng: random.Random
    knobs: Knobs
    loc: LocaleFormat
    currency: Currency
    options: dict

    @classmethod
    def create(cls, seed: int, knobs: Knobs, options: dict | None = None) -> "ContentContext":
        fake = _faker(knobs.locale)
        fake.seed_instance(seed)
        return cls(fake, random.Random(seed), knobs, LOCALES[knobs.locale],
                   currency_in_font(knobs.currency, knobs.font), dict(options or {}))

    # -- value makers: printed text + normal form ------------------------------------------
    def money(self, value: Decimal) -> Field:
        value = round_money(value, self.currency)
        return Field("money", format_money(value, self.currency, self.loc), f"{value:f}")

    def amount(self, value: Decimal) -> Field:
        """Money printed without the currency symbol (table columns carry it in the header)."""
        value = round_money(value, self.currency)
        return Field("money", format_number(value, self.loc, self.currency.exponent), f"{value:f}")

    def number(self, value: Decimal) -> Field:
        return Field("number", format_number(value, self.loc), f"{value.normalize():f}")

    def integer(self, value: int) -> Field:
        return Field("integer", format_number(Decimal(value), self.loc), str(value))

    def percent(self, rate: Decimal) -> Field:
        return Field("percent", format_percent(rate, self.loc), f"{rate.normalize():f}")

    def date(self, day: dt.date, fmt: str | None = None) -> Field:
        """The locale's date format, or `fmt` (strftime) where a template prints another; a `fmt`
        ending in "^" prints in capitals ("%d %b %Y^" -> "05 MAR 2018", as till slips do)."""
        if fmt and fmt.endswith("^"):
            return Field("date", day.strftime(fmt[:-1]).upper(), day.isoformat())
        return Field("date", day.strftime(fmt) if fmt else format_date(day, self.loc), day.isoformat())

    def time(self, hour: int, minute: int) -> Field:
        text = f"{hour:02d}:{minute:02d}"
        return Field("time", text, text)

    def text(self, value: str) -> Field:
        value = " ".join(value.split())
        return Field("text", value, value)

    def ident(self, value: str) -> Field:
        return Field("id", value, value)

    def address(self, lines: list[str]) -> Field:
        """Lines joined by ", " in the normal form; a line that ends in its own comma keeps it."""
        lines = [" ".join(line.split()) for line in lines if line.strip()]
        joined = "".join(line if i == 0 else (" " if lines[i - 1].endswith(",") else ", ") + line
                         for i, line in enumerate(lines))
        return Field("address", "\n".join(lines), joined)

    # -- shared samplers --------------------------------------------------------------------
    def issue_date(self) -> dt.date:
        # A fixed window (not "today") so a seed gives the same date whenever it runs.
        start, days = _RATE_WINDOWS.get((self.knobs.locale, self.knobs.tax_rate)) \
            or _DATE_WINDOWS.get(self.knobs.locale, (dt.date(2022, 1, 1), 4 * 365))
        return start + dt.timedelta(days=self.rng.randrange(0, days))

    def other_rates(self, rate: Decimal) -> list[Decimal]:
        """The locale's rates an invoice may charge beside `rate`: its reduced and zero rates, never
        a standard rate of another period."""
        return [Decimal(r) for r in self.loc.tax_rates
                if Decimal(r) != rate and (self.knobs.locale, r) not in _RATE_WINDOWS]

    def postal_address(self) -> list[str]:
        make = _ADDRESSES.get(self.knobs.locale)
        return make(self.fake) if make else self.fake.address().split("\n")

    def trade_name(self) -> str:
        """A shop's or firm's trading name (Faker's company name, or the locale's own: Malaysian and
        Singapore shops in capitals, Indian shop boards)."""
        make = _TRADE_NAMES.get(self.knobs.locale)
        return make(self.fake) if make else self.fake.company()

    def phone(self) -> str:
        make = _PHONES.get(self.knobs.locale)
        return make(self.fake.random) if make else self.fake.phone_number()

    def price(self, low: int = 1, high: int = 500) -> Decimal:
        """A unit price with the currency's minor unit; JPY prices are whole and larger."""
        if self.currency.exponent == 0:
            return Decimal(self.rng.randrange(low * 100, high * 100, 10))
        cents = self.rng.randrange(low * 100, high * 100)
        return Decimal(cents).scaleb(-2)
