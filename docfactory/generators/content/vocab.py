"""Item names per language: Faker has no product provider, and lorem words make implausible invoices."""

PRODUCTS: dict[str, tuple[str, ...]] = {
    "en": (
        "Office chair", "Desk lamp", "USB-C cable", "Printer paper A4", "Wireless mouse", "Laptop stand",
        "Consulting hours", "Web hosting (monthly)", "Toner cartridge", "Notebook set", "Coffee beans 1kg",
        "Standing desk", "Monitor 27 inch", "Software licence", "Cleaning service", "Ballpoint pens (10)",
        "Shipping and handling", "Design workshop", "Server maintenance", "Headset", "Webcam HD",
        "Keyboard", "Filing cabinet", "Whiteboard markers", "Training session", "Data backup service",
    ),
    "de": (
        "Bürostuhl", "Schreibtischlampe", "USB-C-Kabel", "Druckerpapier A4", "Funkmaus", "Laptopständer",
        "Beratungsstunden", "Webhosting (monatlich)", "Tonerkartusche", "Notizbuch-Set", "Kaffeebohnen 1kg",
        "Stehschreibtisch", "Monitor 27 Zoll", "Softwarelizenz", "Reinigungsservice", "Kugelschreiber (10)",
        "Versandkosten", "Design-Workshop", "Serverwartung", "Headset", "Webcam HD", "Tastatur",
        "Aktenschrank", "Whiteboard-Marker", "Schulung", "Datensicherung",
    ),
    "fr": (
        "Chaise de bureau", "Lampe de bureau", "Câble USB-C", "Papier imprimante A4", "Souris sans fil",
        "Support ordinateur", "Heures de conseil", "Hébergement web (mensuel)", "Cartouche de toner",
        "Lot de carnets", "Café en grains 1kg", "Bureau assis-debout", "Écran 27 pouces", "Licence logicielle",
        "Service de nettoyage", "Stylos (10)", "Frais de port", "Atelier design", "Maintenance serveur",
        "Casque audio", "Webcam HD", "Clavier", "Classeur métallique", "Marqueurs tableau", "Formation",
        "Sauvegarde de données",
    ),
    "my": (
        "A4 PAPER 70GSM (5 REAMS)", "TONER CARTRIDGE HP 85A", "USB-C CABLE 1M", "OFFICE CHAIR MESH", "DESK LAMP LED",
        "WIRELESS MOUSE", "INSTALLATION CHARGES", "SERVICE CHARGES", "TRANSPORTATION", "AIRCOND SERVICING",
        "CCTV CAMERA 2MP", "CAT6 NETWORK CABLE 305M", "LAPTOP STAND", "FILING CABINET 4 DRAWER", "WHITEBOARD 3X4FT",
        "MAINTENANCE (MONTHLY)", "WEB HOSTING (ANNUAL)", "SOFTWARE LICENCE", "CLEANING SERVICE", "HEADSET",
        "BALL PEN BLUE (BOX)", "EXTENSION SOCKET 4 WAY", "LABOUR CHARGES", "PVC PIPE 1/2 INCH", "CEMENT 50KG",
        "PAINT 5L WHITE",
    ),
    "sg": (
        "A4 PAPER 80GSM (5 REAMS)", "TONER CARTRIDGE HP 85A", "USB-C CABLE 1M", "OFFICE CHAIR MESH", "LED DESK LAMP",
        "WIRELESS MOUSE", "INSTALLATION CHARGES", "SERVICE CHARGE", "DELIVERY CHARGES", "AIRCON SERVICING",
        "CCTV CAMERA 4MP", "CAT6 NETWORK CABLE 305M", "LAPTOP STAND", "FILING CABINET 4 DRAWER", "WHITEBOARD 4X3FT",
        "MAINTENANCE (MONTHLY)", "WEB HOSTING (ANNUAL)", "SOFTWARE SUBSCRIPTION", "OFFICE CLEANING", "HEADSET",
        "BALL PEN BLUE (BOX)", "EXTENSION SOCKET 4 WAY", "MANPOWER CHARGES", "PAINTING WORKS", "CARPENTRY WORKS",
        "PLUMBING REPAIR",
    ),
    "in": (
        "Office Chair (Mesh)", "LED Desk Lamp", "USB-C Cable 1m", "A4 Copier Paper (5 Reams)", "Wireless Mouse",
        "Laptop Stand", "Consultancy Fees", "Web Hosting (Annual)", "Toner Cartridge HP 88A", "Steel Almirah",
        "UPS 1 kVA", "Installation Charges", "Monitor 24 inch", "Software Licence", "Housekeeping Services",
        "Ball Pens (Box of 10)", "Freight Charges", "AMC Charges (Annual)", "Server Maintenance", "Headset",
        "Webcam HD", "Keyboard", "Filing Cabinet", "Whiteboard Markers", "Training Charges", "Data Backup Services",
    ),
}

GROCERIES: dict[str, tuple[str, ...]] = {
    "en": ("Milk 1L", "Bread", "Eggs (6)", "Bananas", "Cheddar", "Apples 1kg", "Orange juice", "Pasta 500g",
           "Tomatoes", "Coffee", "Butter", "Yoghurt", "Rice 1kg", "Chocolate", "Water 6x1.5L", "Chicken breast"),
    "de": ("Milch 1L", "Brot", "Eier (6)", "Bananen", "Gouda", "Äpfel 1kg", "Orangensaft", "Nudeln 500g",
           "Tomaten", "Kaffee", "Butter", "Joghurt", "Reis 1kg", "Schokolade", "Wasser 6x1,5L", "Hähnchenbrust"),
    "fr": ("Lait 1L", "Baguette", "Œufs (6)", "Bananes", "Comté", "Pommes 1kg", "Jus d'orange", "Pâtes 500g",
           "Tomates", "Café", "Beurre", "Yaourt", "Riz 1kg", "Chocolat", "Eau 6x1,5L", "Blanc de poulet"),
    # Malaysian mini-market and hardware-shop lines, as SROIE receipts print them; positions 3, 4, 8 and
    # 15 are sold by weight, as in the other languages.
    "my": ("MILO ACTIV-GO 1KG", "GARDENIA CLASSIC JUMBO 600G", "TELUR AYAM GRED A (10)", "PISANG BERANGAN",
           "IKAN KEMBUNG", "MAGGI KARI 5X79G", "DUTCH LADY UHT 1L", "BERAS SUPER SPECIAL 5KG", "TOMATO",
           "NESCAFE CLASSIC 200G", "MINYAK MASAK SAJI 2KG", "GULA PASIR 1KG", "TEH BOH 100S", "100 PLUS 1.5L",
           "MINERAL WATER 6X1.5L", "AYAM SEGAR", "KF MODELLING CLAY KIDDY FISH", "BOPP TAPE 48MM*100M CLEAR",
           "WAXCO WINDSHIELD CLEANER 120ML", "DELICIA CHOCOLATE 50G", "HUP SENG CREAM CRACKER 428G",
           "KICAP MANIS 320ML", "SOS CILI 340G", "TISSUE 3PLY 10S", "PLASTIC BAG", "CHOPPING BOARD 35.5X25.5CM",
           "AIR PRESSURE SPRAYER 1.5L", "LAMINATE FILM A4", "STEEL RULER 30CM", "DETERGENT 3KG",
           "MINUTE MAID PULPY ORANGE 350ML", "SARDIN AYAM 425G"),
    # A Singapore supermarket's lines (in capitals, as its tills print them) and an Indian kirana
    # store's; positions 3, 4, 8 and 15 are sold by weight here too.
    "sg": ("MEIJI FRESH MILK 2L", "GARDENIA WHITE BREAD 600G", "SEAH FARM EGGS 10S", "BANANA", "KAI LAN",
           "PRIMA TASTE LAKSA 4S", "YEO'S CHRYSANTHEMUM TEA", "THAI HOM MALI RICE 5KG", "TOMATO",
           "NESCAFE GOLD 200G", "KNIFE COOKING OIL 2L", "SIS FINE SUGAR 2KG", "KOKA NOODLES 5S", "MILO 1KG",
           "ICE MOUNTAIN WATER 1.5L", "CHICKEN WINGS", "POKKA GREEN TEA 500ML", "KHONG GUAN CREAM CRACKERS",
           "AYAM BRAND SARDINES 425G", "TIGER BALM 19.4G", "KLEENEX TISSUE 3PLY", "DETTOL HANDWASH 250ML",
           "PLASTIC BAG"),
    "in": ("Amul Taaza Milk 1L", "Britannia Bread 400g", "Eggs (12)", "Onion", "Potato", "Aashirvaad Atta 5kg",
           "Tata Salt 1kg", "Toor Dal 1kg", "Tomato", "Tata Tea Gold 500g", "Fortune Sunflower Oil 1L",
           "Sugar 1kg", "Basmati Rice 5kg", "Parle-G 800g", "Bisleri 1L", "Paneer", "Maggi Noodles (4 pack)",
           "Amul Butter 100g", "Surf Excel 1kg", "Haldiram Bhujia 400g", "Colgate 200g", "Carry Bag"),
}

REGIONS: dict[str, tuple[str, ...]] = {
    "en": ("North", "South", "East", "West", "Central"),
    "de": ("Nord", "Süd", "Ost", "West", "Mitte"),
    "fr": ("Nord", "Sud", "Est", "Ouest", "Centre"),
    "my": ("NORTHERN", "SOUTHERN", "CENTRAL", "EAST COAST", "EAST MALAYSIA"),
    "sg": ("CENTRAL", "NORTH", "NORTH-EAST", "EAST", "WEST"),
    "in": ("North Zone", "South Zone", "East Zone", "West Zone", "Central Zone"),
}


# Locales whose vocabulary is not their language's: Malaysian and Singapore shops print their own
# goods in upper case, Indian shops theirs.
_VOCABULARIES = {"en_MY": "my", "en_SG": "sg", "en_IN": "in"}


def language(locale: str) -> str:
    """The key of a locale's word lists below."""
    if locale in _VOCABULARIES:
        return _VOCABULARIES[locale]
    return locale.split("_")[0] if locale.split("_")[0] in PRODUCTS else "en"

# Trade words between a name and the legal form of a firm's registered name ("Kramer Handels GmbH"),
# for shops (receipts) and for suppliers of goods and services (invoices).
SHOP_TRADES: dict[str, tuple[str, ...]] = {
    "en": ("Retail", "Stores", "Trading", "Foods", "Supermarkets"),
    "de": ("Handels", "Lebensmittel", "Einzelhandels", "Markt", "Vertriebs"),
    "fr": ("Distribution", "Alimentation", "Commerce", "Market"),
    "my": ("MARKETING", "HOLDINGS", "RETAIL", "INDUSTRIES", "FOOD INDUSTRIES", "HARDWARE"),
    "sg": ("TRADING", "HOLDINGS", "RETAIL", "FOOD", "ENTERPRISE", "MART"),
    "in": ("Traders", "Retail", "Stores", "Enterprises", "Foods", "Mart"),
}

SUPPLIER_TRADES: dict[str, tuple[str, ...]] = {
    "en": ("Consulting", "Solutions", "Services", "Supplies", "Technologies"),
    "de": ("Consulting", "Dienstleistungs", "Vertriebs", "Technik", "Service"),
    "fr": ("Conseil", "Services", "Solutions", "Distribution", "Technologies"),
    "my": ("ENGINEERING", "SERVICES", "SOLUTIONS", "TECHNOLOGY", "SUPPLIES", "CONSTRUCTION"),
    "sg": ("ENGINEERING", "SERVICES", "SOLUTIONS", "TECHNOLOGIES", "SUPPLIES", "CONSULTANCY"),
    "in": ("Technologies", "Solutions", "Services", "Consultants", "Infotech", "Systems"),
}
