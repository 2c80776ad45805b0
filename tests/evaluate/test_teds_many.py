"""teds_many: failures and timeouts become error rows; everything else is scored, in order."""

from __future__ import annotations

from docfactory.evaluate import TedsResult, teds, teds_many


def grid(rows: int, cols: int, word: str = "value") -> str:
    cells = "".join("<tr>" + "".join(f"<td>r{r}c{c} {word}</td>" for c in range(cols)) + "</tr>" for r in range(rows))
    return f"<table>{cells}</table>"


SMALL = [(grid(2, 2, "a"), grid(2, 2, "b")), (grid(3, 2), grid(3, 3)), (grid(1, 1), grid(1, 1))]


def test_exception_and_timeout_become_error_rows_and_the_rest_is_scored() -> None:
    # 300x10 takes about a second (~5x the limit); the small tables about a millisecond (~200x under).
    big = (grid(300, 10, "value"), grid(300, 10, "valeu"))
    pairs = [SMALL[0], (None, SMALL[0][1]), big, SMALL[1], (SMALL[2][0], "<p>no table</p>"), SMALL[2]]
    results = teds_many(pairs, workers=2, timeout_s=0.2)
    assert [r.index for r in results] == list(range(len(pairs)))
    by_index = {r.index: r for r in results}
    for index in (0, 3, 5):
        pred, gold = pairs[index]
        assert by_index[index] == TedsResult(index, teds(pred, gold), None, by_index[index].seconds)
    assert by_index[1].teds is None and by_index[1].error.startswith("TypeError")
    assert by_index[2].teds is None and by_index[2].error.startswith("timeout")
    assert by_index[4].teds is None and "gold HTML has no <table>" in by_index[4].error


def test_unpicklable_input_is_an_error_row() -> None:
    results = teds_many([(lambda: None, "x"), SMALL[2]], workers=1, timeout_s=10)
    assert results[0].teds is None and "cannot send" in results[0].error
    assert results[1].teds == 1.0


def test_in_process_mode_and_structure_only() -> None:
    results = teds_many(SMALL + [(1, 2)], workers=0, structure_only=True)
    assert [r.teds for r in results[:3]] == [teds(p, g, structure_only=True) for p, g in SMALL]
    assert results[3].teds is None and results[3].error.startswith("TypeError")
    assert teds_many([], workers=2) == []
