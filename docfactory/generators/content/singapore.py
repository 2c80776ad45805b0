"""Singapore shop names, addresses, phone numbers and register numbers (locale en_SG).

Faker has no Singapore locale, so all of it is built here: names in capitals as ACRA registers
them ("HUP SENG HARDWARE", "TOA PAYOH MINIMART"), addresses as letters and receipts print them
("BLK 123 ANG MO KIO AVENUE 3 / #01-1234 / SINGAPORE 560123", "10 ANSON ROAD / #12-08
INTERNATIONAL PLAZA / SINGAPORE 079903"), phones "+65 6123 4567", and the Unique Entity Number
(UEN) with ACRA's check letter. Every choice comes from the `random.Random` passed in (the
document's Faker's, or the content's own), as for the other locales.
"""

from __future__ import annotations

import random

_SYLLABLES = ("AH", "BENG", "CHENG", "CHOON", "CHUAN", "ENG", "FATT", "GUAN", "HENG", "HIN", "HOCK", "HONG",
              "HUAT", "HUP", "KEE", "KIAT", "KIM", "LAI", "LEONG", "LIAN", "MENG", "SENG", "SIANG", "SOON",
              "TECK", "THYE", "TIONG", "WAH", "WEE", "YONG")
_SURNAMES = ("TAN", "LIM", "LEE", "NG", "ONG", "WONG", "GOH", "CHUA", "CHAN", "KOH", "TEO", "ANG", "YEO", "TAY",
             "HO", "LOW", "SIM", "CHONG")
_ENGLISH_WORDS = ("GOLDEN", "UNITED", "ASIA", "PACIFIC", "ORIENT", "LION CITY", "MERLION", "SUNRISE", "EVERBRIGHT",
                  "PREMIER", "GRAND", "ROYAL", "HAPPY", "NEW", "OCEAN", "STAR", "JADE", "PEARL")
_TOWNS = ("TOA PAYOH", "ANG MO KIO", "TAMPINES", "BEDOK", "JURONG", "CLEMENTI", "YISHUN", "SERANGOON", "BUGIS",
          "TIONG BAHRU", "KATONG", "GEYLANG", "HOUGANG", "WOODLANDS", "BUKIT TIMAH", "CHINATOWN")
_SHOP_TYPES = ("MINIMART", "SUPERMARKET", "HARDWARE", "BAKERY", "CONFECTIONERY", "KOPITIAM", "EATING HOUSE",
               "PHARMACY", "MEDICAL HALL", "BOOKSTORE", "STATIONERY", "ELECTRICAL", "FLORIST", "OPTICAL",
               "PROVISION SHOP", "SEAFOOD RESTAURANT", "FRUITS", "MOTOR", "FURNITURE", "CAFE", "TRADING")

# Public-housing (HDB) streets and the postal sector of their town: a block's postcode is the sector
# and the block number ("BLK 123 ANG MO KIO AVENUE 3" -> 560123).
_HDB_STREETS = (("ANG MO KIO AVENUE 3", "56"), ("TAMPINES STREET 81", "52"), ("BEDOK NORTH ROAD", "46"),
                ("JURONG WEST STREET 52", "64"), ("TOA PAYOH LORONG 1", "31"), ("YISHUN RING ROAD", "76"),
                ("WOODLANDS DRIVE 14", "73"), ("CLEMENTI AVENUE 3", "12"), ("HOUGANG AVENUE 10", "53"),
                ("BUKIT BATOK STREET 21", "65"), ("MARINE PARADE CENTRAL", "44"), ("PUNGGOL FIELD", "82"))
# Commercial streets, their postal sector and buildings on them ("" for a shophouse without one).
_STREETS = (("ANSON ROAD", "07", ("INTERNATIONAL PLAZA", "ANSON HOUSE")),
            ("ORCHARD ROAD", "23", ("LUCKY PLAZA", "FAR EAST PLAZA", "WHEELOCK PLACE", "ORCHARD CENTRAL")),
            ("NORTH BRIDGE ROAD", "18", ("PENINSULA PLAZA", "HIGH STREET CENTRE")),
            ("CECIL STREET", "06", ("THE ARCADE", "CECIL COURT")),
            ("TANJONG PAGAR ROAD", "08", ("INTERNATIONAL PLAZA", "")),
            ("BEACH ROAD", "19", ("THE CONCOURSE", "GOLDEN MILE COMPLEX")),
            ("UBI AVENUE 1", "40", ("UBI TECHPARK", "")),
            ("KAKI BUKIT ROAD 1", "41", ("ENTERPRISE ONE", "")),
            ("SERANGOON ROAD", "21", ("", "")), ("TELOK AYER STREET", "06", ("", "")),
            ("SIN MING LANE", "57", ("MIDVIEW CITY", "")), ("GEYLANG ROAD", "38", ("", "")))

_LANDLINE, _MOBILES = "6", "89"

# ACRA's check letters for a business number (8 digits) and a local company's (9: year and serial),
# and their weights (python-stdnum's sg.uen documents the same scheme).
_BUSINESS_WEIGHTS, _BUSINESS_LETTERS = (10, 4, 9, 3, 8, 2, 7, 1), "XMKECAWLJDB"
_COMPANY_WEIGHTS, _COMPANY_LETTERS = (10, 8, 6, 4, 9, 7, 5, 3, 1), "ZKCMDNERGWH"
# Other entities (an LLP: "T08LL1234A"): issuance year and type, then four digits and a check letter.
_OTHER_ALPHABET, _OTHER_WEIGHTS = "ABCDEFGHJKLMNPQRSTUVWX0123456789", (4, 3, 5, 3, 10, 2, 2, 5, 7)


def shop_name(rnd: random.Random) -> str:
    """A trading name as printed at the top of a receipt or an invoice."""
    pattern = rnd.randrange(5)
    if pattern == 0:
        return f"{' '.join(rnd.sample(_SYLLABLES, 2))} {rnd.choice(_SHOP_TYPES)}"
    if pattern == 1:
        return f"{rnd.choice(_SURNAMES)} {rnd.choice(_SYLLABLES)} {rnd.choice(_SHOP_TYPES)}"
    if pattern == 2:
        return f"{rnd.choice(_TOWNS)} {rnd.choice(_SHOP_TYPES)}"
    if pattern == 3:
        return f"{rnd.choice(_ENGLISH_WORDS)} {rnd.choice(_SHOP_TYPES)}"
    return f"{''.join(rnd.sample(_SYLLABLES, 2))} {rnd.choice(_SHOP_TYPES)}"


def address_lines(rnd: random.Random) -> list[str]:
    """An HDB block or a commercial building, the unit ("#02-15"), and "SINGAPORE" with the postcode;
    in capitals or, on some letterheads, in title case."""
    if rnd.random() < 0.4:
        street, sector = rnd.choice(_HDB_STREETS)
        block = rnd.randrange(1, 700)
        unit = f"#{rnd.randrange(1, 4):02d}-{rnd.randrange(1, 400):0{rnd.choice((2, 3, 4))}d}"
        lines = [f"BLK {block}{rnd.choice(('', '', '', 'A', 'B'))} {street}", unit]
        postcode = f"{sector}{block:04d}"
    else:
        street, sector, buildings = rnd.choice(_STREETS)
        building = rnd.choice(buildings)
        level = rnd.choice(("B1", "B2")) if rnd.random() < 0.15 else f"{rnd.randrange(1, 40):02d}"
        unit = f"#{level}-{rnd.randrange(1, 90):02d}"
        lines = [f"{rnd.randrange(1, 400)} {street}", f"{unit} {building}".strip()]
        if not building and rnd.random() < 0.5:  # a shophouse: the street number is the whole address
            lines = lines[:1]
        postcode = f"{sector}{rnd.randrange(0, 10000):04d}"
    if len(lines) == 2 and rnd.random() < 0.3:
        lines = [f"{lines[0]} {lines[1]}"]  # "10 ANSON ROAD #12-08 INTERNATIONAL PLAZA"
    lines.append(f"SINGAPORE {postcode}" if rnd.random() < 0.85 else f"S({postcode})")
    if rnd.random() < 0.35:
        lines = [_title(line) for line in lines]
    return lines


def _title(line: str) -> str:
    # "BLK 123A ANG MO KIO AVENUE 3" -> "Blk 123A Ang Mo Kio Avenue 3" (str.title would give "123a").
    return " ".join(word.capitalize() if word.isalpha() else word for word in line.split())


def phone_number(rnd: random.Random) -> str:
    """Eight digits, landlines from 6 and mobiles from 8 or 9: "6123 4567", "+65 9123 4567"."""
    first = _LANDLINE if rnd.random() < 0.75 else rnd.choice(_MOBILES)
    number = f"{first}{rnd.randrange(0, 1000):03d} {rnd.randrange(0, 10000):04d}"
    return rnd.choice(("", "", "+65 ", "(65) ")) + number


def uen(rnd: random.Random, kind: str) -> str:
    """A UEN with its check letter: "company" ("201912345K": year of incorporation and a serial),
    "business" ("53123456D", a sole proprietorship) or "llp" ("T08LL1234A")."""
    if kind == "company":
        digits = f"{rnd.randrange(1975, 2024)}{rnd.randrange(0, 100000):05d}"
        return digits + _COMPANY_LETTERS[sum(int(d) * w for d, w in zip(digits, _COMPANY_WEIGHTS)) % 11]
    if kind == "business":
        digits = f"{rnd.choice((52, 53))}{rnd.randrange(0, 1_000_000):06d}"
        return digits + _BUSINESS_LETTERS[sum(int(d) * w for d, w in zip(digits, _BUSINESS_WEIGHTS)) % 11]
    body = f"T{rnd.randrange(5, 24):02d}LL{rnd.randrange(0, 10000):04d}"
    total = sum(_OTHER_ALPHABET.index(c) * w for c, w in zip(body, _OTHER_WEIGHTS))
    return body + _OTHER_ALPHABET[(total - 5) % 11]


def gst_number(rnd: random.Random) -> str:
    """A GST registration number of the kind IRAS issued before UENs ("M90312345X", "M2-0012345-6");
    entities with a UEN are registered under it."""
    if rnd.random() < 0.5:
        return f"M9{rnd.randrange(0, 10_000_000):07d}{rnd.choice('ABCDEFGHJKLMNPRSTUWXYZ')}"
    return f"M{rnd.choice('2348')}-{rnd.randrange(0, 10_000_000):07d}-{rnd.randrange(10)}"
