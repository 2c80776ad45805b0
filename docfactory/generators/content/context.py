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
from docfactory.generators.content import malaysia
from docfactory.generators.locales import (
    CURRENCIES, LOCALES, Currency, LocaleFormat, format_date, format_money, format_number,
    format_percent, round_money,
)
from docfactory.records import Knobs


# Where documents of a locale date from, when not 2022-2025: Malaysian receipts print GST, which
# was levied from April 2015 to May 2018.
_DATE_WINDOWS = {"en_MY": (dt.date(2015, 4, 1), 1156)}

# Our locale name -> Faker's, where they differ (Faker calls Malaysia "en_MS").
_FAKER_LOCALES = {"en_MY": "en_MS"}


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
        return cls(fake, random.Random(seed), knobs, LOCALES[knobs.locale], CURRENCIES[knobs.currency],
                   dict(options or {}))

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
        start, days = _DATE_WINDOWS.get(self.knobs.locale, (dt.date(2022, 1, 1), 4 * 365))
        return start + dt.timedelta(days=self.rng.randrange(0, days))

    def postal_address(self) -> list[str]:
        if self.knobs.locale == "en_MY":
            return malaysia.address_lines(self.fake)
        return self.fake.address().split("\n")

    def trade_name(self) -> str:
        """A shop's or firm's trading name (Faker's company name; Malaysian shops are upper case)."""
        if self.knobs.locale == "en_MY":
            return malaysia.shop_name(self.fake.random)
        return self.fake.company()

    def phone(self) -> str:
        if self.knobs.locale == "en_MY":
            return malaysia.phone_number(self.fake.random)
        return self.fake.phone_number()

    def price(self, low: int = 1, high: int = 500) -> Decimal:
        """A unit price with the currency's minor unit; JPY prices are whole and larger."""
        if self.currency.exponent == 0:
            return Decimal(self.rng.randrange(low * 100, high * 100, 10))
        cents = self.rng.randrange(low * 100, high * 100)
        return Decimal(cents).scaleb(-2)
