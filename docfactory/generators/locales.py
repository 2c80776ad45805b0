"""Locale conventions for printed numbers, money and dates, plus label translations.

Formatting is our own (not Babel) so the printed string is a pure function of the value and the
locale: the same seed gives the same bytes on every machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"  # keeps "1 234,56 €" on one line; verification maps it to a space


@dataclass(frozen=True)
class LocaleFormat:
    name: str
    decimal: str
    group: str
    date_format: str
    money_pattern: str  # "{sym}{num}" or "{num} {sym}"
    default_currency: str
    tax_rates: tuple[str, ...]  # standard rate first, then reduced rates
    # Digits in the group next to the decimal mark, then in each group above it: (3, 2) is India's
    # lakh and crore grouping, "12,34,567.89".
    grouping: tuple[int, int] = (3, 3)


@dataclass(frozen=True)
class Currency:
    code: str
    symbol: str
    exponent: int  # digits after the decimal point: 2 for EUR, 0 for JPY

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.exponent)


LOCALES: dict[str, LocaleFormat] = {
    "en_US": LocaleFormat("en_US", ".", ",", "%m/%d/%Y", "{sym}{num}", "USD", ("0.0725", "0.08", "0.0")),
    "en_GB": LocaleFormat("en_GB", ".", ",", "%d/%m/%Y", "{sym}{num}", "GBP", ("0.20", "0.05")),
    "de_DE": LocaleFormat("de_DE", ",", ".", "%d.%m.%Y", "{num}" + NBSP + "{sym}", "EUR", ("0.19", "0.07")),
    "fr_FR": LocaleFormat("fr_FR", ",", NBSP, "%d/%m/%Y", "{num}" + NBSP + "{sym}", "EUR", ("0.20", "0.10", "0.055")),
    # Malaysia under GST (2015-2018): 6 % standard-rated, 0 % zero-rated; "RM 9.00".
    "en_MY": LocaleFormat("en_MY", ".", ",", "%d/%m/%Y", "{sym}" + NBSP + "{num}", "MYR", ("0.06", "0.0")),
    # Singapore's GST: 9 % since 2024, 8 % in 2023, 7 % before (content/context.py dates a document
    # by its rate), 0 % zero-rated; "S$12.30".
    "en_SG": LocaleFormat("en_SG", ".", ",", "%d/%m/%Y", "{sym}{num}", "SGD", ("0.09", "0.08", "0.07", "0.0")),
    # India's GST slabs, 18 % the common one; "₹12,34,567.89" (or "Rs." in a font without the sign).
    "en_IN": LocaleFormat("en_IN", ".", ",", "%d-%m-%Y", "{sym}{num}", "INR", ("0.18", "0.12", "0.05", "0.28", "0.0"),
                          grouping=(3, 2)),
    "en_AU": LocaleFormat("en_AU", ".", ",", "%d/%m/%Y", "{sym}{num}", "AUD", ("0.10", "0.0")),
}

# Legal forms a company name ends with, and how often each is drawn (shops and small firms are mostly
# private limited companies). Registration numbers that go with them: content/company.py.
LEGAL_FORMS: dict[str, dict[str, int]] = {
    "en_US": {"Inc.": 4, "LLC": 4, "Corp.": 1},
    "en_GB": {"Ltd": 6, "Limited": 2, "plc": 1},
    "de_DE": {"GmbH": 8, "GmbH & Co. KG": 2, "AG": 1, "e.K.": 1},
    "fr_FR": {"SARL": 5, "SAS": 4, "SA": 1, "EURL": 1},
    # Private and public limited companies, and registered businesses (sole proprietors, partnerships).
    # "": a registered business under its trading name ("TEO HENG STATIONERY & BOOKS (001451637-M)"):
    # 38 of SROIE's 77 registered names carry no company form.
    "en_MY": {"SDN BHD": 8, "BHD": 1, "ENTERPRISE": 2, "TRADING": 1, "": 6},
    # Names as ACRA registers them, in capitals; "": a sole proprietorship under its trading name.
    "en_SG": {"PTE. LTD.": 6, "PTE LTD": 3, "LLP": 1, "": 3},
    "en_IN": {"Pvt. Ltd.": 6, "Private Limited": 2, "LLP": 1, "Ltd.": 1},
    "en_AU": {"Pty Ltd": 7, "Ltd": 1, "": 2},  # "": a sole trader under a business name
}

CURRENCIES: dict[str, Currency] = {
    "USD": Currency("USD", "$", 2),
    "EUR": Currency("EUR", "€", 2),
    "GBP": Currency("GBP", "£", 2),
    "CHF": Currency("CHF", "CHF", 2),
    "JPY": Currency("JPY", "¥", 0),
    "MYR": Currency("MYR", "RM", 2),
    "SGD": Currency("SGD", "S$", 2),
    "INR": Currency("INR", "₹", 2),
    "AUD": Currency("AUD", "$", 2),
}

# The rupee sign (U+20B9, 2010) is missing from older fonts: the Liberation families lack it. A
# page in such a font prints "Rs." (as many Indian tills do) rather than a sign borrowed from a
# fallback font. The families known to draw it; any other prints the plain symbol.
_PLAIN_SYMBOLS = {"INR": "Rs."}
_FONTS_WITH_SIGN = {"INR": frozenset({"DejaVu Sans", "DejaVu Sans Mono", "DejaVu Sans Condensed", "DejaVu Serif",
                                      "FreeMono", "FreeSans", "FreeSerif"})}


def currency_in_font(code: str, font: str) -> Currency:
    """The currency as a page set in `font` prints it: its sign, or its plain symbol where the font
    has no glyph for the sign ("Rs." for "₹")."""
    currency = CURRENCIES[code]
    if code in _PLAIN_SYMBOLS and font not in _FONTS_WITH_SIGN[code]:
        return Currency(code, _PLAIN_SYMBOLS[code], currency.exponent)
    return currency


def round_money(value: Decimal, currency: Currency) -> Decimal:
    """Commercial rounding to the currency's minor unit (half up, as invoices print)."""
    return value.quantize(currency.quantum, rounding=ROUND_HALF_UP)


def format_number(value: Decimal, loc: LocaleFormat, places: int | None = None) -> str:
    """Group digits the locale's way (thousands, or India's lakhs and crores) and use its decimal
    mark; `places` fixes the digits shown."""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):f}"
    whole, _, frac = text.partition(".")
    groups = []
    size = loc.grouping[0]
    while len(whole) > size:
        groups.insert(0, whole[-size:])
        whole = whole[:-size]
        size = loc.grouping[1]
    groups.insert(0, whole)
    out = loc.group.join(groups)
    if frac:
        out += loc.decimal + frac
    return sign + out


def format_money(value: Decimal, currency: Currency, loc: LocaleFormat) -> str:
    num = format_number(round_money(value, currency), loc, currency.exponent)
    if num.startswith("-"):
        return "-" + loc.money_pattern.format(sym=currency.symbol, num=num[1:])
    return loc.money_pattern.format(sym=currency.symbol, num=num)


def format_percent(rate: Decimal, loc: LocaleFormat) -> str:
    pct = (rate * 100).normalize()
    places = max(0, -pct.as_tuple().exponent)
    return format_number(pct, loc, places) + ("" if loc.name.startswith("en") else NBSP) + "%"


def format_date(day: dt.date, loc: LocaleFormat) -> str:
    return day.strftime(loc.date_format)


# English captions that name a goods and services tax rather than a VAT.
_GST_CAPTIONS = {
    "Invoice": "Tax Invoice", "Tax": "GST", "VAT": "GST", "Tax rate": "GST rate", "Tax summary": "GST summary",
    "incl. VAT": "incl. GST",
    "Revenue net of VAT. Figures are unaudited.": "Revenue excluding GST. Figures are unaudited.",
}

# Labels printed next to values. Templates call t("Invoice"); a missing key prints the key itself
# (and `engine templates validate` warns, see Captions).
_LABELS: dict[str, dict[str, str]] = {
    "de_DE": {
        "Invoice": "Rechnung", "Invoice No.": "Rechnungsnr.", "Date": "Datum", "Due date": "Fällig am",
        "Bill to": "Rechnungsempfänger", "Ship to": "Lieferadresse", "Description": "Beschreibung",
        "Qty": "Menge", "Unit price": "Einzelpreis", "Amount": "Betrag", "Subtotal": "Zwischensumme",
        "Discount": "Rabatt", "Tax": "MwSt.", "Total": "Gesamt", "Tax rate": "Steuersatz",
        "Net": "Netto", "Receipt": "Beleg", "Payment": "Zahlung", "Cash": "Bar", "Card": "Karte",
        "Change": "Rückgeld", "Tendered": "Gegeben", "Thank you!": "Vielen Dank!", "Region": "Region",
        "Product": "Produkt", "Units": "Stück", "Revenue": "Umsatz", "Statement": "Bericht",
        "Period": "Zeitraum", "Account": "Konto", "VAT ID": "USt-IdNr.", "Time": "Uhrzeit",
        "Summary": "Übersicht", "Page": "Seite",
        # invoice_modern
        "Currency": "Währung", "Bank details": "Bankverbindung", "Total due": "Zu zahlen", "VAT": "USt.",
        "Tax summary": "Steuerübersicht", "Thank you for your business.": "Vielen Dank für Ihren Auftrag.",
        # receipts
        "Tel.": "Tel.", "Cashier": "Kassierer", "Approved": "Genehmigt", "Voucher": "Gutschein",
        "Please keep your receipt": "Bitte Beleg aufbewahren", "Coupon": "Coupon", "Promotion": "Aktion",
        "You saved": "Sie haben gespart", "Gross": "Brutto", "Paid": "Bezahlt", "Items": "Artikel",
        "incl. VAT": "inkl. MwSt.", "Store": "Filiale", "Till": "Kasse",
        "Tax No.": "St.-Nr.", "Reg. No.": "Handelsregister", "Price": "Preis", "Thank you for shopping with us!": "Vielen Dank für Ihren Einkauf!",
        "Exchange within 14 days with receipt.": "Umtausch innerhalb von 14 Tagen nur mit Beleg.",
        # statement_report (titles and period names are content, translated by the builder)
        "Total revenue": "Gesamtumsatz", "Revenue net of VAT. Figures are unaudited.": "Umsätze netto. Ungeprüfte Zahlen.",
        "Sales report": "Verkaufsbericht", "Regional revenue statement": "Umsatzübersicht nach Regionen",
        "Performance summary": "Leistungsübersicht",
    },
    "fr_FR": {
        "Invoice": "Facture", "Invoice No.": "N° de facture", "Date": "Date", "Due date": "Échéance",
        "Bill to": "Facturé à", "Ship to": "Livré à", "Description": "Désignation", "Qty": "Qté",
        "Unit price": "Prix unitaire", "Amount": "Montant", "Subtotal": "Sous-total",
        "Discount": "Remise", "Tax": "TVA", "Total": "Total", "Tax rate": "Taux", "Net": "HT",
        "Receipt": "Ticket", "Payment": "Paiement", "Cash": "Espèces", "Card": "Carte",
        "Change": "Rendu", "Tendered": "Reçu", "Thank you!": "Merci !", "Region": "Région",
        "Product": "Produit", "Units": "Unités", "Revenue": "Chiffre d'affaires",
        "Statement": "Rapport", "Period": "Période", "Account": "Compte", "VAT ID": "N° TVA",
        "Time": "Heure", "Summary": "Récapitulatif", "Page": "Page",
        # invoice_modern
        "Currency": "Devise", "Bank details": "Coordonnées bancaires", "Total due": "Net à payer", "VAT": "TVA",
        "Tax summary": "Récapitulatif TVA", "Thank you for your business.": "Merci de votre confiance.",
        # receipts
        "Tel.": "Tél.", "Cashier": "Caissier", "Approved": "Accepté", "Voucher": "Bon d'achat",
        "Please keep your receipt": "Ticket à conserver", "Coupon": "Coupon", "Promotion": "Promo",
        "You saved": "Vous avez économisé", "Gross": "TTC", "Paid": "Payé", "Items": "Articles",
        "incl. VAT": "dont TVA", "Store": "Magasin", "Till": "Caisse",
        "Tax No.": "SIRET", "Reg. No.": "Immatriculation", "Price": "Prix", "Thank you for shopping with us!": "Merci de votre visite !",
        "Exchange within 14 days with receipt.": "Échange sous 14 jours sur présentation du ticket.",
        # statement_report (titles and period names are content, translated by the builder)
        "Total revenue": "CA total", "Revenue net of VAT. Figures are unaudited.": "Chiffre d'affaires HT. Chiffres non audités.",
        "Sales report": "Rapport des ventes", "Regional revenue statement": "Chiffre d'affaires par région",
        "Performance summary": "Synthèse des performances",
        "Q1": "T1", "Q2": "T2", "Q3": "T3", "Q4": "T4", "H1": "S1", "H2": "S2",
    },
    # Malaysian shops print their labels in English, upper case, with GST for the tax.
    "en_MY": {
        "Invoice": "TAX INVOICE", "Invoice No.": "INVOICE NO", "Date": "DATE", "Description": "DESCRIPTION",
        "Qty": "QTY", "Unit price": "U/PRICE", "Amount": "AMOUNT", "Subtotal": "SUB-TOTAL", "Discount": "DISCOUNT",
        "Tax": "GST", "Total": "TOTAL", "Tax rate": "GST %", "Net": "AMT EXCL GST", "Receipt": "RECEIPT",
        "Payment": "PAYMENT", "Cash": "CASH", "Card": "CREDIT CARD", "Change": "CHANGE", "Tendered": "TENDERED",
        "Thank you!": "THANK YOU", "VAT ID": "GST ID", "Time": "TIME", "VAT": "GST", "Tax summary": "GST SUMMARY",
        "Total due": "TOTAL DUE", "Currency": "CURRENCY",
        "Tel.": "TEL", "Cashier": "CASHIER", "Approved": "APPROVED", "Voucher": "VOUCHER",
        "Please keep your receipt": "PLEASE KEEP YOUR RECEIPT", "Coupon": "COUPON", "Promotion": "PROMOTION",
        "You saved": "YOU SAVED", "Gross": "TOTAL INCL GST", "Paid": "PAID", "Items": "ITEMS",
        "incl. VAT": "INCL. GST", "Store": "OUTLET", "Till": "POS", "Tax No.": "GST REG NO",
        "Reg. No.": "CO. REG NO", "Price": "PRICE", "Thank you for shopping with us!": "THANK YOU. PLEASE COME AGAIN",
        "Exchange within 14 days with receipt.": "GOODS SOLD ARE NOT RETURNABLE",
    },
    # Singapore, India and Australia levy GST: a registered seller's invoice is a "Tax Invoice", and the
    # tax is GST; the seller's tax number is its GST registration (India's GSTIN, Australia's ABN).
    "en_SG": {**_GST_CAPTIONS, "VAT ID": "GST Reg. No."},
    "en_IN": {**_GST_CAPTIONS, "VAT ID": "GSTIN"},
    "en_AU": {**_GST_CAPTIONS, "VAT ID": "ABN"},
}


class Captions:
    """`t("Invoice")`: a caption in the document's locale. A template's own captions (captions.yaml)
    come before the built-in table. A caption neither knows prints as written and is kept in
    `unknown`, which `engine templates validate` reports: silently printing English on a German page
    is what this prevents. An English locale needs no entry (the caption is its English text); its
    table, where there is one (en_MY's capitals), is a house style, not a translation."""

    def __init__(self, locale: str, own: dict[str, dict[str, str]] | None = None):
        own_table = {caption: by_locale[locale] for caption, by_locale in (own or {}).items() if locale in by_locale}
        self.locale = locale
        self._table = {**_LABELS.get(locale, {}), **own_table}
        self._written_is_right = locale.split("_")[0] == "en"
        self.unknown: set[str] = set()

    def __call__(self, caption: str) -> str:
        text = self._table.get(caption)
        if text is not None:
            return text
        if not self._written_is_right:
            self.unknown.add(caption)
        return caption

    def knows(self, caption: str) -> bool:
        return caption in self._table or self._written_is_right


def translator(locale: str, own: dict[str, dict[str, str]] | None = None) -> Captions:
    """t() for a document in `locale`; `own`: the template's captions.yaml (caption -> {locale: text})."""
    return Captions(locale, own)
