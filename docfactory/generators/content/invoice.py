"""Invoice content: parties (the seller with its registered company), line items and totals with
exact Decimal arithmetic per tax rate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from docfactory.generators.content.company import legal_entity, tax_number
from docfactory.generators.content.context import ContentContext
from docfactory.generators.content.vocab import PRODUCTS, SUPPLIER_TRADES, language
from docfactory.generators.locales import round_money

_NUMBER_PATTERNS = ("INV-{year}-{n:05d}", "{n:06d}", "RE{year}{n:04d}", "F-{year}-{n:04d}", "#{n:05d}")


def line_items(ctx: ContentContext, names: tuple[str, ...], rates: list[Decimal]) -> list[dict]:
    items = []
    for name in ctx.rng.sample(names, min(ctx.knobs.n_items, len(names))) if ctx.knobs.n_items <= len(names) \
            else [ctx.rng.choice(names) for _ in range(ctx.knobs.n_items)]:
        qty = Decimal(ctx.rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 10, 12))) if ctx.rng.random() < 0.85 \
            else Decimal(ctx.rng.randrange(1, 20)) / 2  # fractional hours or kilos
        unit = ctx.price()
        rate = ctx.rng.choice(rates)
        items.append({"description": name, "qty": qty, "unit": unit, "rate": rate,
                      "amount": round_money(qty * unit, ctx.currency)})
    return items


def totals(ctx: ContentContext, items: list[dict], discount_rate: Decimal) -> dict:
    """Discount and tax per rate group, so a tax summary adds up to the printed totals exactly."""
    groups = []
    for rate in sorted({it["rate"] for it in items}, reverse=True):
        net = sum((it["amount"] for it in items if it["rate"] == rate), Decimal(0))
        discount = round_money(net * discount_rate, ctx.currency)
        base = net - discount
        groups.append({"rate": rate, "net": net, "discount": discount, "base": base,
                       "tax": round_money(base * rate, ctx.currency)})
    subtotal = sum((it["amount"] for it in items), Decimal(0))
    discount = sum((g["discount"] for g in groups), Decimal(0))
    tax = sum((g["tax"] for g in groups), Decimal(0))
    return {"subtotal": subtotal, "discount": discount, "tax": tax, "total": subtotal - discount + tax,
            "groups": groups}


def build_invoice(ctx: ContentContext) -> dict:
    issued = ctx.issue_date()
    due = issued + dt.timedelta(days=ctx.rng.choice((7, 14, 30, 45, 60)))
    main_rate = Decimal(ctx.knobs.tax_rate)
    rates = [main_rate]
    reduced = ctx.other_rates(main_rate)
    if ctx.options.get("multi_rate") and reduced:
        rates.append(ctx.rng.choice(reduced))
    items = line_items(ctx, PRODUCTS[language(ctx.knobs.locale)], rates)
    sums = totals(ctx, items, Decimal(ctx.knobs.discount_rate))
    pattern = ctx.rng.choice(_NUMBER_PATTERNS)
    fake = ctx.fake
    buyer_name = ctx.trade_name()
    tree = {
        "invoice_number": ctx.ident(pattern.format(year=issued.year, n=ctx.rng.randrange(1, 99999))),
        "invoice_date": ctx.date(issued),
        "due_date": ctx.date(due),
        "currency": ctx.ident(ctx.currency.code),
        "seller": {
            "name": ctx.text(ctx.trade_name()),
            "address": ctx.address(ctx.postal_address()),
            "vat_id": ctx.ident(fake.bothify(ctx.knobs.locale[-2:] + "#########")),
            "email": ctx.ident(fake.company_email()),
            "phone": ctx.ident(ctx.phone()),
        },
        "buyer": {"name": ctx.text(buyer_name), "address": ctx.address(ctx.postal_address())},
        "ship_to": {"name": ctx.text(buyer_name), "address": ctx.address(ctx.postal_address())},
        "items": [
            {
                "description": ctx.text(it["description"]),
                "quantity": ctx.number(it["qty"]),
                "unit_price": ctx.amount(it["unit"]),
                "tax_rate": ctx.percent(it["rate"]),
                "amount": ctx.amount(it["amount"]),
            }
            for it in items
        ],
        "subtotal": ctx.money(sums["subtotal"]),
        "discount_rate": ctx.percent(Decimal(ctx.knobs.discount_rate)),
        "discount": ctx.money(sums["discount"]),
        "tax_rate": ctx.percent(main_rate),
        "tax": ctx.money(sums["tax"]),
        "total": ctx.money(sums["total"]),
        "tax_summary": [
            {"rate": ctx.percent(g["rate"]), "base": ctx.amount(g["base"]), "tax": ctx.amount(g["tax"])}
            for g in sums["groups"]
        ],
    }
    # The seller's registered company is drawn last, so adding it changed no value above; in the
    # tree it follows the seller's trading name, as it is printed.
    seller = tree["seller"]
    legal = legal_entity(ctx, seller["name"].text, SUPPLIER_TRADES[language(ctx.knobs.locale)])
    tree["seller"] = {"name": seller.pop("name"), **legal, **seller}
    # Where the tax number follows from the registration (an ABN, a UEN, a GSTIN), it is made from it.
    vat_id = tax_number(ctx, legal["registration"].text)
    if vat_id is not None:
        tree["seller"]["vat_id"] = vat_id
    return tree
