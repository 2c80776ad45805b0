"""Report/statement content: product rows grouped by region, two periods, row and column totals.

Revenue is units x a product's unit price for the period (prices move a little between periods),
so the numbers look like sales and every total is exact.
"""

from __future__ import annotations

from decimal import Decimal

from docfactory.generators.content.context import ContentContext
from docfactory.generators.content.vocab import PRODUCTS, REGIONS, language
from docfactory.generators.locales import round_money, translator

_COLUMNS = ("p1_units", "p1_revenue", "p2_units", "p2_revenue", "total")
_TITLES = ("Sales report", "Regional revenue statement", "Performance summary")
_MAX_GROUP = 8  # rows per region: a group fits on a page, so its rowspan cell is never split


def _group_sizes(ctx: ContentContext, n: int, n_regions: int) -> list[int]:
    """Split n rows into at most one group per region, each of 1.._MAX_GROUP rows (more only when
    n exceeds n_regions x _MAX_GROUP)."""
    max_size = max(_MAX_GROUP, -(-n // n_regions))
    k = ctx.rng.randint(-(-n // max_size), min(n, n_regions))
    sizes = [1] * k
    for _ in range(n - k):
        sizes[ctx.rng.choice([i for i, s in enumerate(sizes) if s < max_size])] += 1
    return sizes


def _row(ctx: ContentContext, product: str) -> dict:
    price = ctx.price(5, 400)
    change = Decimal(ctx.rng.randrange(-8, 13)) / 100
    p1u, p2u = ctx.rng.randrange(0, 900), ctx.rng.randrange(0, 900)
    p1r = round_money(p1u * price, ctx.currency)
    p2r = round_money(p2u * price * (1 + change), ctx.currency)
    return {"product": product, "p1_units": p1u, "p1_revenue": p1r, "p2_units": p2u, "p2_revenue": p2r,
            "total": p1r + p2r}


def build_statement(ctx: ContentContext) -> dict:
    t = translator(ctx.knobs.locale)
    lang = language(ctx.knobs.locale)
    regions = list(REGIONS[lang])
    ctx.rng.shuffle(regions)
    groups = []
    for g, size in enumerate(_group_sizes(ctx, ctx.knobs.n_items, len(regions))):
        name = regions[g % len(regions)] + ("" if g < len(regions) else f" {g // len(regions) + 1}")
        # Products are unique within a region; the same product may sell in several regions.
        products = ctx.rng.sample(PRODUCTS[lang], size) if size <= len(PRODUCTS[lang]) \
            else [ctx.rng.choice(PRODUCTS[lang]) for _ in range(size)]
        groups.append({"region": name, "rows": [_row(ctx, p) for p in products]})
    all_rows = [r for g in groups for r in g["rows"]]
    column_totals = {c: sum((r[c] for r in all_rows), 0) for c in _COLUMNS}
    year = ctx.issue_date().year
    half = [t(h) for h in ctx.rng.choice((("Q1", "Q2"), ("Q3", "Q4"), ("H1", "H2")))]

    def cell(col: str, value):
        return ctx.integer(value) if col.endswith("units") else ctx.amount(Decimal(value))

    return {
        "title": ctx.text(t(ctx.rng.choice(_TITLES))),
        "company": ctx.text(ctx.trade_name()),
        "period": ctx.text(f"{half[0]}–{half[1]} {year}"),
        "report_date": ctx.date(ctx.issue_date()),
        "currency": ctx.ident(ctx.currency.code),
        "period_labels": [ctx.text(f"{h} {year}") for h in half],
        "groups": [
            {"region": ctx.text(g["region"]),
             "rows": [{"product": ctx.text(r["product"]), **{c: cell(c, r[c]) for c in _COLUMNS}}
                      for r in g["rows"]]}
            for g in groups
        ],
        "totals": {c: cell(c, column_totals[c]) for c in _COLUMNS},
    }
