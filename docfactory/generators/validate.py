"""Arithmetic and date checks on a document's values: one implementation for generated content
(before render) and for predictions (evaluate parses printed values, then calls this).

Input is the normalized tree: nested dicts/lists of plain strings ("1234.50", "2026-11-21").
Each check that fails yields a `Violation` naming the relation, so a report says *which* sum broke.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Violation:
    relation: str  # e.g. "items.2.amount = quantity x unit_price"
    expected: str
    found: str


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _places(*values: Decimal) -> Decimal:
    exp = min((v.as_tuple().exponent for v in values if v is not None), default=0)
    return Decimal(1).scaleb(min(0, exp))


class Checks(list):
    """The violations found, and how many relations could be evaluated at all (both sides present):
    a document whose relations all lack a value was not checked, which is not the same as passing."""

    evaluated: int = 0


def _check(out: list, relation: str, expected: Decimal | None, found: Decimal | None, tol: Decimal) -> None:
    if expected is None or found is None:
        return  # a relation over a value the document does not carry is not checked
    if isinstance(out, Checks):
        out.evaluated += 1
    if abs(expected - found) > tol:
        out.append(Violation(relation, f"{expected:f}", f"{found:f}"))


def check_values(kind: str, values: dict, tolerance: Decimal = Decimal(0)) -> Checks:
    """All violated relations for a document of `kind` (invoice, receipt, table); `.evaluated` is
    how many relations had all their values."""
    out = Checks()
    if kind in ("invoice", "receipt"):
        _check_items_and_totals(values, out, tolerance)
        if kind == "invoice":
            _check_dates(values, out)
        if kind == "receipt":
            _check_payment(values, out, tolerance)
    elif kind == "table":
        _check_statement(values, out, tolerance)
    return out


def _check_items_and_totals(v: dict, out: list, tol: Decimal) -> None:
    amounts = []
    for i, item in enumerate(v.get("items") or []):
        qty, unit, amount = _dec(item.get("quantity")), _dec(item.get("unit_price")), _dec(item.get("amount"))
        if qty is not None and unit is not None and amount is not None:
            expected = (qty * unit).quantize(_places(amount, unit), rounding=ROUND_HALF_UP)
            _check(out, f"items.{i}.amount = quantity x unit_price", expected, amount, tol)
        amounts.append(amount)
    subtotal, discount, tax, total = (_dec(v.get(k)) for k in ("subtotal", "discount", "tax", "total"))
    if amounts and None not in amounts:
        _check(out, "subtotal = sum(items.amount)", sum(amounts, Decimal(0)), subtotal, tol)
    if subtotal is not None and total is not None and tax is not None:
        # An absent discount is no discount; an absent tax leaves the relation unknown.
        _check(out, "total = subtotal - discount + tax", subtotal - (discount or Decimal(0)) + tax, total, tol)
    summary = v.get("tax_summary") or []
    if summary:
        taxes = [_dec(line.get("tax")) for line in summary]
        bases = [_dec(line.get("base")) for line in summary]
        for i, line in enumerate(summary):
            rate, base, line_tax = _dec(line.get("rate")), bases[i], taxes[i]
            if rate is not None and base is not None and line_tax is not None:
                expected = (base * rate).quantize(_places(line_tax, base), rounding=ROUND_HALF_UP)
                _check(out, f"tax_summary.{i}.tax = base x rate", expected, line_tax, tol)
        if None not in taxes:
            _check(out, "tax = sum(tax_summary.tax)", sum(taxes, Decimal(0)), tax, tol)
        if None not in bases and subtotal is not None:
            _check(out, "sum(tax_summary.base) = subtotal - discount",
                   subtotal - (discount or Decimal(0)), sum(bases, Decimal(0)), tol)
    elif tax is not None and subtotal is not None and _dec(v.get("tax_rate")) is not None:
        expected = ((subtotal - (discount or Decimal(0))) * _dec(v["tax_rate"])).quantize(
            _places(tax, subtotal), rounding=ROUND_HALF_UP)
        _check(out, "tax = (subtotal - discount) x tax_rate", expected, tax, tol)


def _check_dates(v: dict, out: list) -> None:
    try:
        issued = dt.date.fromisoformat(v["invoice_date"]) if v.get("invoice_date") else None
        due = dt.date.fromisoformat(v["due_date"]) if v.get("due_date") else None
    except (TypeError, ValueError) as exc:
        out.append(Violation("dates are valid ISO dates", "YYYY-MM-DD", str(exc)))
        return
    if issued and due and isinstance(out, Checks):
        out.evaluated += 1
    if issued and due and due < issued:
        out.append(Violation("due_date >= invoice_date", issued.isoformat(), due.isoformat()))


def _check_payment(v: dict, out: list, tol: Decimal) -> None:
    pay, total = v.get("payment") or {}, _dec(v.get("total"))
    tendered, change = _dec(pay.get("tendered")), _dec(pay.get("change"))
    if tendered is not None and total is not None:
        _check(out, "payment.change = tendered - total", tendered - total, change, tol)
        if tendered < total:
            out.append(Violation("payment.tendered >= total", f"{total:f}", f"{tendered:f}"))


_STATEMENT_COLUMNS = ("p1_units", "p1_revenue", "p2_units", "p2_revenue", "total")


def _check_statement(v: dict, out: list, tol: Decimal) -> None:
    rows = [r for g in v.get("groups") or [] for r in g.get("rows") or []]
    for i, row in enumerate(rows):
        p1, p2, total = (_dec(row.get(k)) for k in ("p1_revenue", "p2_revenue", "total"))
        if p1 is not None and p2 is not None:
            _check(out, f"rows.{i}.total = p1_revenue + p2_revenue", p1 + p2, total, tol)
    totals = v.get("totals") or {}
    for col in _STATEMENT_COLUMNS:
        column = [_dec(r.get(col)) for r in rows]
        if column and None not in column:
            _check(out, f"totals.{col} = sum(rows.{col})", sum(column, Decimal(0)), _dec(totals.get(col)), tol)
