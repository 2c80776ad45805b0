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
}

GROCERIES: dict[str, tuple[str, ...]] = {
    "en": ("Milk 1L", "Bread", "Eggs (6)", "Bananas", "Cheddar", "Apples 1kg", "Orange juice", "Pasta 500g",
           "Tomatoes", "Coffee", "Butter", "Yoghurt", "Rice 1kg", "Chocolate", "Water 6x1.5L", "Chicken breast"),
    "de": ("Milch 1L", "Brot", "Eier (6)", "Bananen", "Gouda", "Äpfel 1kg", "Orangensaft", "Nudeln 500g",
           "Tomaten", "Kaffee", "Butter", "Joghurt", "Reis 1kg", "Schokolade", "Wasser 6x1,5L", "Hähnchenbrust"),
    "fr": ("Lait 1L", "Baguette", "Œufs (6)", "Bananes", "Comté", "Pommes 1kg", "Jus d'orange", "Pâtes 500g",
           "Tomates", "Café", "Beurre", "Yaourt", "Riz 1kg", "Chocolat", "Eau 6x1,5L", "Blanc de poulet"),
}

REGIONS: dict[str, tuple[str, ...]] = {
    "en": ("North", "South", "East", "West", "Central"),
    "de": ("Nord", "Süd", "Ost", "West", "Mitte"),
    "fr": ("Nord", "Sud", "Est", "Ouest", "Centre"),
}


def language(locale: str) -> str:
    return locale.split("_")[0] if locale.split("_")[0] in PRODUCTS else "en"

# Trade words between a name and the legal form of a firm's registered name ("Kramer Handels GmbH"),
# for shops (receipts) and for suppliers of goods and services (invoices).
SHOP_TRADES: dict[str, tuple[str, ...]] = {
    "en": ("Retail", "Stores", "Trading", "Foods", "Supermarkets"),
    "de": ("Handels", "Lebensmittel", "Einzelhandels", "Markt", "Vertriebs"),
    "fr": ("Distribution", "Alimentation", "Commerce", "Market"),
}

SUPPLIER_TRADES: dict[str, tuple[str, ...]] = {
    "en": ("Consulting", "Solutions", "Services", "Supplies", "Technologies"),
    "de": ("Consulting", "Dienstleistungs", "Vertriebs", "Technik", "Service"),
    "fr": ("Conseil", "Services", "Solutions", "Distribution", "Technologies"),
}
