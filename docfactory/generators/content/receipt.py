"""Receipt content: a shop, items, a discount, tax, and how it was paid (cash gives change)."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from docfactory.generators.content.context import ContentContext
from docfactory.generators.content.invoice import line_items, totals
from docfactory.generators.content.vocab import GROCERIES, language


def _tendered(total: Decimal, exponent: int, rng) -> Decimal:
    # Customers hand over the next round note: 5, 10, 20 or 50 units (x100 for yen).
    step = Decimal(rng.choice((5, 10, 20, 50))) * (100 if exponent == 0 else 1)
    return (total / step).to_integral_value(rounding=ROUND_CEILING) * step


def build_receipt(ctx: ContentContext) -> dict:
    day = ctx.issue_date()
    rate = Decimal(ctx.knobs.tax_rate)
    items = line_items(ctx, GROCERIES[language(ctx.knobs.locale)], [rate])
    sums = totals(ctx, items, Decimal(ctx.knobs.discount_rate))
    cash = ctx.rng.random() < 0.5
    tendered = _tendered(sums["total"], ctx.currency.exponent, ctx.rng) if cash else sums["total"]
    fake = ctx.fake
    return {
        "store": {
            "name": ctx.text(fake.company()),
            "address": ctx.address(ctx.postal_address()),
            "phone": ctx.ident(fake.phone_number()),
        },
        "receipt_number": ctx.ident(f"{ctx.rng.randrange(1, 9999):04d}-{ctx.rng.randrange(1, 999999):06d}"),
        "date": ctx.date(day),
        "time": ctx.time(ctx.rng.randrange(7, 22), ctx.rng.randrange(0, 60)),
        "currency": ctx.ident(ctx.currency.code),
        "items": [
            {
                "description": ctx.text(it["description"]),
                "quantity": ctx.number(it["qty"]),
                "unit_price": ctx.amount(it["unit"]),
                "amount": ctx.amount(it["amount"]),
            }
            for it in items
        ],
        "subtotal": ctx.money(sums["subtotal"]),
        "discount_rate": ctx.percent(Decimal(ctx.knobs.discount_rate)),
        "discount": ctx.money(sums["discount"]),
        "tax_rate": ctx.percent(rate),
        "tax": ctx.money(sums["tax"]),
        "total": ctx.money(sums["total"]),
        "payment": {
            "method": ctx.text("Cash" if cash else "Card"),
            "tendered": ctx.money(tendered),
            "change": ctx.money(tendered - sums["total"]),
        },
    }
