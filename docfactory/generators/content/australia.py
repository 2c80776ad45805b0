"""Australian addresses, phone numbers and register numbers (locale en_AU).

Faker's `en_AU` gives the street line and suburb; the last line is printed the Australian way
("SOUTH TERESAPORT SA 5063": no commas, a postcode of the state), and phones as Australians write
them ("(02) 9876 5432", "0412 345 678"), where Faker's are "(02).3944.1177". Register numbers: the
Australian Business Number (ABN) with its check digits, and a company's ACN.
"""

from __future__ import annotations

import random

from faker import Faker

# Each state's first postcode and how many follow it (the ranges Australia Post gives street addresses).
_POSTCODES = {"NSW": (2000, 600), "ACT": (2600, 19), "VIC": (3000, 1000), "QLD": (4000, 1000), "SA": (5000, 800),
              "WA": (6000, 798), "TAS": (7000, 800), "NT": (800, 100)}
_AREA_CODES = ("02", "02", "03", "03", "07", "08")
_ABN_WEIGHTS = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
_ACN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1)


def address_lines(fake: Faker) -> list[str]:
    """Faker en_AU's address ("Level 8 040 Daniel Reach\\nSouth Teresaport, SA, 2630") with the
    suburb, state and a postcode of that state on one line, the suburb often in capitals."""
    rnd = fake.random
    *street, last = fake.address().split("\n")
    suburb, state, _ = (part.strip() for part in last.rsplit(",", 2))
    first, count = _POSTCODES.get(state, _POSTCODES["NSW"])
    if rnd.random() < 0.5:
        suburb = suburb.upper()
    return street + [f"{suburb} {state} {first + rnd.randrange(count):04d}"]


def phone_number(rnd: random.Random) -> str:
    if rnd.random() < 0.3:
        return f"04{rnd.randrange(0, 100):02d} {rnd.randrange(0, 1000):03d} {rnd.randrange(0, 1000):03d}"
    if rnd.random() < 0.1:
        return f"{rnd.choice(('1300', '1800'))} {rnd.randrange(0, 1000):03d} {rnd.randrange(0, 1000):03d}"
    area = rnd.choice(_AREA_CODES)
    number = f"{rnd.randrange(3, 10)}{rnd.randrange(0, 1000):03d} {rnd.randrange(0, 10000):04d}"
    return rnd.choice((f"({area}) {number}", f"({area}) {number}", f"{area} {number}", f"+61 {area[1]} {number}"))


def abn(rnd: random.Random, acn: str | None = None) -> str:
    """An ABN, "51 824 753 556": two check digits, then nine digits (a company's are its ACN).
    Valid when, after one is taken from the first digit, the weighted sum divides by 89."""
    body = acn.replace(" ", "") if acn else f"{rnd.randrange(1, 10)}{rnd.randrange(0, 100_000_000):08d}"
    rest = sum(int(d) * w for d, w in zip(body, _ABN_WEIGHTS[2:]))
    lead = -rest % 89 or 89  # 10 x (first digit - 1) + second digit: 11 to 99, as the ATO issues them
    digits = f"{lead // 10 + 1}{lead % 10}{body}"
    return f"{digits[:2]} {digits[2:5]} {digits[5:8]} {digits[8:]}"


def acn(rnd: random.Random) -> str:
    """An Australian Company Number, "004 085 616": eight digits and a weighted check digit."""
    digits = f"{rnd.randrange(0, 100_000_000):08d}"
    check = -sum(int(d) * w for d, w in zip(digits, _ACN_WEIGHTS)) % 10
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}{check}"
