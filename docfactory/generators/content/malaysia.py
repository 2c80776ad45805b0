"""Malaysian shop names, addresses and phone numbers (locale en_MY), upper case as the receipts of
SROIE print them: "SOON HUAT MACHINERY", "NO.53, JALAN PUTRA 1, / TAMAN SRI PUTRA, / 81200 JOHOR
BAHRU, / JOHOR.", "07-355 2616".

Faker has no Malaysian company or phone provider; its `en_MS` locale (Malaysia) gives the street
addresses, which are cut into lines here. Every choice comes from the document's Faker (its seeded
`random`), which is what the builders used for these values in every other locale.
"""

from __future__ import annotations

import random

from faker import Faker

# Syllables of Chinese-Malaysian shop names ("GIN KEE", "SOON HUAT", "TEO HENG").
_SYLLABLES = ("AH", "BENG", "CHEONG", "CHOON", "CHUAN", "FATT", "GIN", "GUAN", "HENG", "HING", "HOCK", "HONG",
              "HUAT", "HUI", "JOO", "KEE", "KHENG", "KIAN", "KIM", "LEONG", "LIAN", "LOONG", "MENG", "SENG",
              "SIN", "SOON", "TECK", "THYE", "TONG", "WAH", "WENG", "YEW", "YONG", "ZHENG")
_SURNAMES = ("TAN", "LIM", "LEE", "ONG", "TEO", "WONG", "CHAN", "NG", "GOH", "KHOO", "LOH", "YAP", "CHONG",
             "HO", "LAU", "OOI", "SIM", "TEH", "YEOH")
_MALAY_WORDS = ("AMAN", "BERKAT", "CAHAYA", "INDAH", "JAYA", "MAJU", "MESRA", "MUTIARA", "PERMATA", "PUTRA",
                "RIA", "SAKTI", "SEJAHTERA", "SETIA", "BAHAGIA", "MURNI", "HARMONI", "BERSATU", "SENTOSA")
_MALAY_SHOPS = ("KEDAI RUNCIT", "RESTORAN", "KEDAI MAKAN", "PASAR RAYA", "KEDAI UBAT", "KEDAI BUKU",
                "PERNIAGAAN", "SYARIKAT")
_ENGLISH_WORDS = ("ASIA", "GOLDEN", "UNITED", "GLOBAL", "ROYAL", "STAR", "PREMIER", "EVERGREEN", "GRAND",
                  "PACIFIC", "ORIENT", "METRO", "SUNRISE", "EASTERN", "UNIVERSAL", "FAMILY", "HAPPY")
_SHOP_TYPES = ("HARDWARE", "STATIONERY & BOOKS", "MINI MARKET", "MART", "SUPERMARKET", "RESTAURANT", "BAKERY",
               "ELECTRICAL", "MACHINERY", "MOTOR", "PHARMACY", "GIFT & HOME DECO", "FRUITS", "SEAFOOD",
               "AUTO PARTS", "FURNITURE", "KOPITIAM", "CAFE", "BOOKSTORE", "OPTICAL", "TEXTILE", "HYPERMARKET")

# What a sole proprietorship or partnership adds to its trading name ("SOON HUAT MACHINERY ENTERPRISE",
# "HON HWA HARDWARE TRADING", "SAM SAM TRADING CO"): no legal form, but words a name ends with.
_NAME_ENDINGS = ("ENTERPRISE", "ENTERPRISE", "TRADING", "TRADING", "TRADING CO", "& CO", "CO", "SERVICES",
                 "CENTRE", "SHOP", "STORE", "(M)")
_ENDING_P = 0.35

# What a registered name carries in brackets: the state, "(M)" for Malaysia, or the outlet's town.
BRANCHES = ("M", "M", "JOHOR", "SELANGOR", "KL", "PENANG", "TAMAN DAYA", "SOUTHERN", "NORTHERN", "PERMAS JAYA",
            "CHERAS", "KLANG", "SUNGAI RENGIT")

# Trunk prefixes: Klang Valley numbers have 8 digits, the other states 7; mobiles start 01x.
_LANDLINES = ("03", "03", "03", "04", "05", "06", "07", "07", "09")
_MOBILES = ("012", "013", "014", "016", "017", "019")


def shop_name(rnd: random.Random) -> str:
    """A trading name as printed at the top of a receipt, sometimes with the word a business name
    ends with ("... ENTERPRISE", "... TRADING CO")."""
    name = _shop_name(rnd)
    return f"{name} {rnd.choice(_NAME_ENDINGS)}" if rnd.random() < _ENDING_P else name


def _shop_name(rnd: random.Random) -> str:
    pattern = rnd.randrange(6)
    if pattern == 0:
        return f"{' '.join(rnd.sample(_SYLLABLES, 2))} {rnd.choice(_SHOP_TYPES)}"
    if pattern == 1:
        return f"{rnd.choice(_SURNAMES)} {rnd.choice(_SYLLABLES)} {rnd.choice(_SHOP_TYPES)}"
    if pattern == 2:
        return f"{rnd.choice(_MALAY_SHOPS)} {' '.join(rnd.sample(_MALAY_WORDS, 2))}"
    if pattern == 3:
        return f"{rnd.choice(_ENGLISH_WORDS)} {rnd.choice(_SHOP_TYPES)}"
    if pattern == 4:  # initials: "S.H.H. MOTOR", "ABC HO TRADING"
        letters = [rnd.choice("ABCDEGHJKLMNPSTWY") for _ in range(rnd.choice((2, 3, 3)))]
        initials = ".".join(letters) + "." if rnd.random() < 0.6 else "".join(letters)
        return f"{initials} {rnd.choice(_SHOP_TYPES)}"
    return f"{''.join(rnd.sample(_SYLLABLES, 2))} {rnd.choice(_MALAY_WORDS)}"


def address_lines(fake: Faker) -> list[str]:
    """Faker en_MS's one-line address ("No. 7, Jalan Maxwell 7, Sri Awan, 35301 Bandar Seri
    Segambut, Perak") in receipt lines, each but the last ending in a comma."""
    rnd = fake.random
    parts = [p.strip() for p in fake.address().upper().split(",") if p.strip()]
    number, rest = parts[0], parts[1:]
    if not number.startswith(("NO", "LOT")):
        number = rnd.choice(("NO.", "NO. ", "LOT ", "")) + number
    elif rnd.random() < 0.5:
        number = number.replace("NO. ", "NO.")
    lines = [f"{number}, {rest[0]}"] + rest[1:]
    if len(lines) > 3 and rnd.random() < 0.5:  # postcode, town and state on one line
        lines[-2:] = [f"{lines[-2]}, {lines[-1]}"]
    last = lines[-1] + ("." if rnd.random() < 0.5 else "")
    return [line + "," for line in lines[:-1]] + [last]


def phone_number(rnd: random.Random) -> str:
    if rnd.random() < 0.2:
        prefix = rnd.choice(_MOBILES)
        return f"{prefix}-{rnd.randrange(100, 1000)} {rnd.randrange(0, 10000):04d}" if rnd.random() < 0.5 \
            else f"{prefix}-{rnd.randrange(1_000_000, 10_000_000)}"
    prefix = rnd.choice(_LANDLINES)
    head = rnd.randrange(1000, 10000) if prefix == "03" else rnd.randrange(200, 1000)
    tail = rnd.randrange(0, 10000)
    return f"{prefix}-{head}{rnd.choice((' ', '-', ''))}{tail:04d}"
