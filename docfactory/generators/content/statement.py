"""Report/statement content: product rows grouped by region, two periods, row and column totals."""

from __future__ import annotations

from decimal import Decimal

from docfactory.generators.content.context import ContentContext
from docfactory.generators.content.vocab import PRODUCTS, REGIONS, language

_COLUMNS = ("p1_units", "p1_revenue", "p2_units", "p2_revenue", "total")


def build_statement(ctx: ContentContext) -> dict:
    lang = language(ctx.knobs.locale)
    products = list(PRODUCTS[lang])
    ctx.rng.shuffle(products)
    # Split n_items product rows into region groups of 1-3 rows (the rowspan cells).
    groups, remaining, regions = [], ctx.knobs.n_items, list(REGIONS[lang])
    ctx.rng.shuffle(regions)
    while remaining > 0:
        size = min(remaining, ctx.rng.randint(1, 3))
        region = regions[len(groups) % len(regions)] + ("" if len(groups) < len(regions) else f" {len(groups) // len(regions) + 1}")
        rows = []
        for _ in range(size):
            p1u, p2u = ctx.rng.randrange(0, 900), ctx.rng.randrange(0, 900)
            p1r, p2r = ctx.price(10, 90000), ctx.price(10, 90000)
            rows.append({"product": products[(ctx.knobs.n_items - remaining) % len(products)],
                         "p1_units": p1u, "p1_revenue": p1r, "p2_units": p2u, "p2_revenue": p2r,
                         "total": p1r + p2r})
            remaining -= 1
        groups.append({"region": region, "rows": rows})
    all_rows = [r for g in groups for r in g["rows"]]
    column_totals = {c: sum((r[c] for r in all_rows), 0) for c in _COLUMNS}
    year = ctx.issue_date().year
    half = ctx.rng.choice((("Q1", "Q2"), ("Q3", "Q4"), ("H1", "H2")))

    def cell(col: str, value):
        return ctx.integer(value) if col.endswith("units") else ctx.amount(Decimal(value))

    return {
        "title": ctx.text(ctx.rng.choice(("Sales report", "Regional revenue statement", "Performance summary"))),
        "company": ctx.text(ctx.fake.company()),
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
