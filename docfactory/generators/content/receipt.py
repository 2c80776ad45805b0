"""Receipt content: a shop and its operating company, items, discounts, tax, and how it was paid
(cash gives change).

Discounts are exact: item promotions (template option `promotions`) and a coupon at the
`discount_rate` knob add up to `discount`, and `total = subtotal - discount + tax` holds to the cent.
Template option `split_payment` sometimes pays part with a voucher; the payment lines always add
up to `payment.tendered`, and `payment.change = tendered - total`.

Options for till slips that print bare numbers (SROIE's `total` is "9.00"):
- `plain_amounts`: every amount without the currency;
- `round_total_to` ("0.05": Malaysian cash rounding): one line's price is nudged up until the total
  needs no rounding, so the total printed is the amount due (`rounding`, unlabelled, is then 0;
  every SROIE total is a multiple of 0.05);
- `date_formats` (strftime patterns) and `number_formats` ("CS########", # a digit): drawn per
  document for the date and the receipt number;
- `item_codes`: each item gets an EAN-13 `code` (Malaysian prefix 955) to print beside its name;
- `cash_share`: how often the customer pays cash (0.5 by default; the rest pay by card).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from docfactory.generators.content.company import legal_entity
from docfactory.generators.content.context import ContentContext
from docfactory.generators.content.vocab import GROCERIES, SHOP_TRADES, language
from docfactory.generators.locales import round_money, translator

_PROMO_RATES = ("0.1", "0.2", "0.25", "0.3", "0.5")


def _note_step(exponent: int, rng) -> Decimal:
    # Customers hand over the next round note: 5, 10, 20 or 50 units (x100 for yen).
    return Decimal(rng.choice((5, 10, 20, 50))) * (100 if exponent == 0 else 1)


def _tendered(total: Decimal, exponent: int, rng) -> Decimal:
    step = _note_step(exponent, rng)
    return (total / step).to_integral_value(rounding=ROUND_CEILING) * step


# Positions in vocab.GROCERIES (the same in every language) of goods sold by weight.
_WEIGHED = frozenset({3, 4, 8, 15})  # bananas, cheese, tomatoes, chicken


def _basket(ctx: ContentContext, names: tuple[str, ...]) -> list[dict]:
    """Grocery lines at shop prices; loose goods are weighed (kilos to the gram, price per kilo)."""
    n = ctx.knobs.n_items
    picks = ctx.rng.sample(range(len(names)), n) if n <= len(names) else [ctx.rng.randrange(len(names)) for _ in range(n)]
    items = []
    for index in picks:
        weighed = index in _WEIGHED and ctx.rng.random() < 0.7
        qty = Decimal(ctx.rng.randrange(150, 2500)).scaleb(-3) if weighed \
            else Decimal(ctx.rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 6)))
        unit = ctx.price(1, 20 if weighed else 12)
        items.append({"description": names[index], "qty": qty, "unit": unit, "weighed": weighed,
                      "amount": round_money(qty * unit, ctx.currency)})
    return items


def _promotions(ctx: ContentContext, items: list[dict]) -> None:
    """Mark one or two items down by a percentage of the line amount (a 'promo' key on the item)."""
    for it in ctx.rng.sample(items, min(len(items), ctx.rng.choice((1, 1, 2)))):
        rate = Decimal(ctx.rng.choice(_PROMO_RATES))
        it["promo"] = {"rate": rate, "amount": round_money(it["amount"] * rate, ctx.currency)}


def _sums(ctx: ContentContext, items: list[dict], rate: Decimal) -> dict:
    subtotal = sum((it["amount"] for it in items), Decimal(0))
    promos = sum((it["promo"]["amount"] for it in items if "promo" in it), Decimal(0))
    coupon = round_money((subtotal - promos) * Decimal(ctx.knobs.discount_rate), ctx.currency)
    discount = promos + coupon
    tax = round_money((subtotal - discount) * rate, ctx.currency)
    return {"subtotal": subtotal, "coupon": coupon, "discount": discount, "tax_base": subtotal - discount,
            "tax": tax, "total": subtotal - discount + tax}


def _nudge_total(ctx: ContentContext, items: list[dict], rate: Decimal, step: Decimal) -> None:
    """Raise one line's unit price a cent at a time until the total is a multiple of `step`: the
    line sold in the smallest whole quantity, whose amount moves most evenly."""
    it = min(items, key=lambda item: (item["weighed"], item["qty"]))
    for _ in range(500):
        if _sums(ctx, items, rate)["total"] % step == 0:
            return
        it["unit"] += ctx.currency.quantum
        it["amount"] = round_money(it["qty"] * it["unit"], ctx.currency)


def _rounding(total: Decimal, step: Decimal) -> Decimal:
    return (total / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step - total


def _payments(ctx: ContentContext, total: Decimal, cash: bool) -> list[tuple[str, Decimal]]:
    """(method, amount) lines: an optional voucher first, then cash (rounded up to a note) or card."""
    lines, rest = [], total
    if ctx.options.get("split_payment") and ctx.rng.random() < 0.35:
        voucher = _note_step(ctx.currency.exponent, ctx.rng)
        if voucher < total:
            lines.append(("Voucher", voucher))
            rest = total - voucher
    lines.append(("Cash", _tendered(rest, ctx.currency.exponent, ctx.rng)) if cash else ("Card", rest))
    return lines


def build_receipt(ctx: ContentContext) -> dict:
    t = translator(ctx.knobs.locale)
    day = ctx.issue_date()
    rate = Decimal(ctx.knobs.tax_rate)
    items = _basket(ctx, GROCERIES[language(ctx.knobs.locale)])
    if ctx.options.get("promotions"):
        _promotions(ctx, items)
    step = Decimal(ctx.options.get("round_total_to") or 0)
    if step:
        _nudge_total(ctx, items, rate, step)
    sums = _sums(ctx, items, rate)
    money = ctx.amount if ctx.options.get("plain_amounts") else ctx.money
    cash = ctx.rng.random() < float(ctx.options.get("cash_share", 0.5))
    payments = _payments(ctx, sums["total"], cash)
    tendered = sum((amount for _, amount in payments), Decimal(0))
    tree = {
        "store": {
            "name": ctx.text(ctx.trade_name()),
            "address": ctx.address(ctx.postal_address()),
            "phone": ctx.ident(ctx.phone()),
        },
        "receipt_number": ctx.ident(f"{ctx.rng.randrange(1, 9999):04d}-{ctx.rng.randrange(1, 999999):06d}"),
        "date": ctx.date(day),
        "time": ctx.time(ctx.rng.randrange(7, 22), ctx.rng.randrange(0, 60)),
        "currency": ctx.ident(ctx.currency.code),
        "items": [_item(ctx, it) for it in items],
        "subtotal": money(sums["subtotal"]),
        "discount_rate": ctx.percent(Decimal(ctx.knobs.discount_rate)),
        # Printed as negative lines; `discount` (positive) is all item promotions plus the coupon.
        "coupons": [{"rate": ctx.percent(Decimal(ctx.knobs.discount_rate)), "amount": ctx.amount(-sums["coupon"])}]
                   if sums["coupon"] else [],
        "discount": money(sums["discount"]),
        "tax_rate": ctx.percent(rate),
        "tax_base": money(sums["tax_base"]),
        "tax": money(sums["tax"]),
        "total": money(sums["total"]),
        "payment": {
            "method": ctx.text(t(payments[-1][0])),
            "tendered": money(tendered),
            "change": money(tendered - sums["total"]),
        },
    }
    if step:
        tree["rounding"] = ctx.amount(_rounding(sums["total"], step))
    # Drawn last so the values above do not depend on whether a template shows card numbers.
    tree["payments"] = [_payment_line(ctx, t, method, amount, money) for method, amount in payments]
    # The operating company comes after every other draw, so adding it changed no value above;
    # in the tree it follows the store name, as it is printed.
    store = tree["store"]
    legal = legal_entity(ctx, store["name"].text, SHOP_TRADES[language(ctx.knobs.locale)])
    tree["store"] = {"name": store["name"], **legal, "address": store["address"], "phone": store["phone"]}
    _till_options(ctx, tree, day)
    return tree


def _till_options(ctx: ContentContext, tree: dict, day) -> None:
    # Drawn after everything else, so a template without these options keeps its values.
    if ctx.options.get("date_formats"):
        tree["date"] = ctx.date(day, ctx.rng.choice(ctx.options["date_formats"]))
    if ctx.options.get("number_formats"):
        pattern = ctx.rng.choice(ctx.options["number_formats"])
        digits = (str(ctx.rng.randrange(10)) if ch == "#" else ch for ch in pattern)
        tree["receipt_number"] = ctx.ident("".join(digits))
    if ctx.options.get("item_codes"):
        for item in tree["items"]:
            item["code"] = ctx.ident(_ean13("955" + "".join(str(ctx.rng.randrange(10)) for _ in range(9))))


def _ean13(digits: str) -> str:
    """Twelve digits and the EAN check digit (weights 1, 3, 1, 3, ... from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str(-total % 10)


def _item(ctx: ContentContext, it: dict) -> dict:
    out = {
        "description": ctx.text(it["description"]),
        "quantity": ctx.number(it["qty"]),
        "unit_price": ctx.amount(it["unit"]),
        "amount": ctx.amount(it["amount"]),
    }
    if it["weighed"]:
        out["unit"] = ctx.text("kg")
    if "promo" in it:
        out["promo"] = {"rate": ctx.percent(it["promo"]["rate"]), "amount": ctx.amount(-it["promo"]["amount"])}
    return out


def _payment_line(ctx: ContentContext, t, method: str, amount, money) -> dict:
    line = {"method": ctx.text(t(method)), "amount": money(amount)}
    if method == "Card":
        line["card_number"] = ctx.ident("**** **** **** " + f"{ctx.rng.randrange(0, 10000):04d}")
    return line
