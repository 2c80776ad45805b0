"""Per-field comparison rows: pairing of line items, error types, paths."""

from __future__ import annotations

from docfactory.evaluate import FieldComparison, compare_fields

GOLD = {
    "menu": [{"nm": "Iced Latte", "price": "45,000"}, {"nm": "Green Tea Latte", "price": "120,000"}],
    "total": {"total_price": "1.234,56 €", "tax": "10"},
    "date": "2024-01-02",
}


def rows_by_path(pred: dict, gold: dict = GOLD, **options) -> dict[str, FieldComparison]:
    rows = compare_fields(pred, gold, **options)
    by_path = {row.path: row for row in rows}
    assert len(by_path) == len(rows), "paths are unique"
    return by_path


def test_perfect_prediction_gives_only_correct_rows() -> None:
    rows = compare_fields(GOLD, GOLD)
    assert len(rows) == 7
    assert all(row.exact and row.error_type is None and row.ned == 0.0 for row in rows)


def test_error_types() -> None:
    pred = {
        "menu": [
            {"nm": "Green Tea Latte", "price": "120.000"},  # swapped order, same value other format
            {"nm": "iced  latte", "price": "45,001"},
            {"nm": "Cookie", "price": "5"},
        ],
        "total": {"total_price": "1234.56"},
        "store": "X",
    }
    rows = rows_by_path(pred)
    assert rows["date"].error_type == "missing" and rows["date"].pred is None and rows["date"].ned == 1.0
    # Items are paired by content, so the swap costs nothing; paths use the gold's index.
    assert rows["menu[1].nm"].exact and rows["menu[1].nm"].field == "menu.nm"
    assert rows["menu[1].price"].error_type == "format_only" and rows["menu[1].price"].numeric_match is True
    assert rows["menu[0].nm"].error_type == "format_only" and rows["menu[0].nm"].numeric_match is None
    assert rows["menu[0].price"].error_type == "numeric_off" and rows["menu[0].price"].numeric_match is False
    assert rows["menu[2].nm"].error_type == "extra" and rows["menu[2].nm"].gold is None
    assert rows["menu[2].price"].error_type == "extra"
    assert rows["total.total_price"].error_type == "format_only"
    assert rows["total.total_price"].numeric_match is True and not rows["total.total_price"].exact
    assert rows["total.tax"].error_type == "missing" and rows["total.tax"].numeric_match is False
    assert rows["store"].error_type == "extra"


def test_wrong_value_and_positional_pairing() -> None:
    pred = {"menu": list(reversed(GOLD["menu"])), "total": {"total_price": "oops", "tax": "10"}, "date": "2024-01-02"}
    rows = rows_by_path(pred, order_insensitive=False)
    assert rows["menu[0].nm"].error_type == "wrong_value"  # paired by position with the other item
    assert rows["total.total_price"].error_type == "wrong_value"
    assert rows["total.total_price"].numeric_match is False
    assert rows["total.tax"].exact


def test_items_against_plain_values_and_empty_sides() -> None:
    rows = rows_by_path({"menu": "just text"}, {"menu": [{"nm": "a"}, {"nm": "b"}]})
    assert rows["menu[0].nm"].error_type == "missing" and rows["menu[1].nm"].error_type == "missing"
    assert rows["menu[2]"].error_type == "extra" and rows["menu[2]"].pred == "just text"
    assert compare_fields({}, {}) == []
    assert [row.error_type for row in compare_fields({}, {"a": "1", "b": ["2", "3"]})] == ["missing"] * 3
