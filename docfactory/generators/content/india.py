"""Indian shop names, addresses, phone numbers and register numbers (locale en_IN).

Faker's `en_IN` gives the names and street addresses; its phone numbers are bare digit strings and
its PIN codes may start with 0, which no Indian PIN does, so both are made here: "+91 98765 43210",
"080-2345 6789". Register numbers: the GSTIN (state code, PAN, entity number, "Z", check
character) and the company's CIN. Every choice comes from the document's Faker (its seeded
`random`) or the `random.Random` passed in.
"""

from __future__ import annotations

import random
import re

from faker import Faker

_HONORIFICS = ("Shree", "Sri", "Shri", "Jai", "New")
_DEITIES = ("Ganesh", "Lakshmi", "Balaji", "Sai", "Krishna", "Durga", "Venkateswara", "Hanuman", "Ambika",
            "Murugan", "Saraswati", "Gayatri")
_WORDS = ("Royal", "National", "Modern", "City", "Metro", "Bharat", "Star", "Prime", "Supreme", "Galaxy", "Apollo",
          "Classic", "Everest", "Ganga")
_SHOP_TYPES = ("Traders", "General Stores", "Kirana Store", "Sweets", "Medicals", "Electronics", "Hardware",
               "Textiles", "Enterprises", "Supermarket", "Agencies", "Book Depot", "Mobiles", "Bakery",
               "Restaurant", "Jewellers", "Opticals", "Provision Store", "Departmental Store")

# Trunk codes of the metros, whose numbers have eight digits ("080-2345 6789"); mobiles start 6-9.
_CITY_CODES = ("011", "022", "033", "044", "080", "040", "020", "079")
# GST state codes of the states with most registrations (Maharashtra, Karnataka, Tamil Nadu, ...).
_STATE_CODES = ("27", "27", "29", "33", "07", "24", "09", "19", "36", "06", "08", "32")
# ROC states and the NIC industry codes of shops and service firms in a CIN.
_CIN_STATES = {"27": "MH", "29": "KA", "33": "TN", "07": "DL", "24": "GJ", "09": "UP", "19": "WB", "36": "TG",
               "06": "HR", "08": "RJ", "32": "KL"}
_NIC_CODES = ("52100", "51909", "72200", "74999", "15400", "55101", "93090", "45200")
_GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PIN = re.compile(r"\b[09](\d{5})$")  # no PIN starts with 0, and 9 is the army's


def shop_name(fake: Faker) -> str:
    """A trading name as shop boards and letterheads print it: "Shree Ganesh Traders", "Agarwal
    Sweets", "New Metro Electronics"."""
    rnd = fake.random
    pattern = rnd.randrange(4)
    if pattern == 0:
        return f"{rnd.choice(_HONORIFICS[:4])} {rnd.choice(_DEITIES)} {rnd.choice(_SHOP_TYPES)}"
    if pattern == 1:
        return f"{fake.last_name()} {rnd.choice(_SHOP_TYPES)}"
    if pattern == 2:
        return f"{rnd.choice(('New ', ''))}{rnd.choice(_WORDS)} {rnd.choice(_SHOP_TYPES)}"
    return f"{fake.last_name()} {rnd.choice(('Enterprises', 'Agencies', 'Traders', 'Industries'))}"


def address_lines(fake: Faker) -> list[str]:
    """Faker en_IN's address ("95, Mallick Circle\\nVadodara 011980"), its PIN given a real one's
    shape (six digits, the first 1-8)."""
    lines = fake.address().split("\n")
    lines[-1] = _PIN.sub(lambda m: f"{fake.random.randrange(1, 9)}{m.group(1)}", lines[-1])
    return lines


def phone_number(rnd: random.Random) -> str:
    if rnd.random() < 0.6:
        number = f"{rnd.randrange(6, 10)}{rnd.randrange(0, 10000):04d} {rnd.randrange(0, 100000):05d}"
        return rnd.choice(("", "+91 ", "+91 ", "0")) + number
    code = rnd.choice(_CITY_CODES)
    head, tail = rnd.randrange(2000, 7000), rnd.randrange(0, 10000)
    return f"{code}-{head} {tail:04d}" if rnd.random() < 0.6 else f"({code}) {head}{tail:04d}"


def gstin(rnd: random.Random, holder: str = "C", state: str | None = None) -> str:
    """A GSTIN: state code, the holder's PAN ("AABCK1234M": its fourth letter the holder type, C a
    company, F a firm or LLP), the registration's number in that state, "Z" and a check character."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pan = ("AA" + rnd.choice("ABCDEFG") + holder + rnd.choice(letters)
           + f"{rnd.randrange(1, 10000):04d}" + rnd.choice(letters))
    body = (state or rnd.choice(_STATE_CODES)) + pan + rnd.choice("1111112") + "Z"
    return body + _gstin_check(body)


def _gstin_check(body: str) -> str:
    """Luhn mod 36 over the first 14 characters (factor 2 on every second one from the right)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        product = _GSTIN_ALPHABET.index(ch) * (2 if i % 2 == 0 else 1)
        total += product // 36 + product % 36
    return _GSTIN_ALPHABET[-total % 36]


def cin(rnd: random.Random, listed: bool) -> str:
    """A Corporate Identity Number: listed or unlisted, industry, ROC state, year, PLC or PTC, serial
    ("U52100MH2016PTC123456")."""
    state = _CIN_STATES[rnd.choice(_STATE_CODES)]
    kind = "PLC" if listed else "PTC"
    return (f"{'L' if listed and rnd.random() < 0.5 else 'U'}{rnd.choice(_NIC_CODES)}{state}"
            f"{rnd.randrange(1985, 2024)}{kind}{rnd.randrange(1000, 400000):06d}")


def llpin(rnd: random.Random) -> str:
    """An LLP Identification Number ("AAB-1234")."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return f"A{rnd.choice(letters)}{rnd.choice(letters)}-{rnd.randrange(1000, 10000)}"
