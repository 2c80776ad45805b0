"""TEDS on random HTML: malformed, nested or hostile input gives a float (or the documented
ValueError), never a crash or a hang; on well-formed tables it equals the APTED oracle of
tests/evaluate/test_teds.py, scores a table against itself 1.0, and is symmetric."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from docfactory.engine.evaluation.predictions import read_predictions
from docfactory.evaluate import teds, teds_many
from docfactory.evaluate.teds import _find_table, table_edit_distance


def _load_oracle():
    # The oracle lives in the TEDS tests (pytest imports test files by path, not as a package).
    path = Path(__file__).resolve().parents[1] / "evaluate" / "test_teds.py"
    spec = importlib.util.spec_from_file_location("teds_oracle", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


oracle = _load_oracle()
FUZZ = dict(derandomize=True, database=None)

GOLD = "<table><thead><tr><td>a</td><td>b</td></tr></thead><tbody><tr><td>1</td><td><b>2</b></td></tr></tbody></table>"
TOKENS = ["<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>", "</th>", "<thead>", "</thead>",
          "<tbody>", "</tbody>", "<b>", "</b>", "<i>", "<sup>", '<td colspan="2">', '<td rowspan="3">',
          '<td colspan="0">', '<td colspan="-4">', '<td rowspan="99999999999999999999">', "<br>", "<p>", "<div>",
          "<html>", "<body>", "</body>", "<!--", "-->", "<!-- x -->", "<", ">", "</", "&amp;", "&#0;", "&bogus;",
          "<![CDATA[x]]>", "<?xml version='1.0'?>", "<!DOCTYPE html>", "<script>", "</script>", "<unk>",
          "x", "1", " ", "\n", "\x00", "\x01", "\ufeff", "é", "\u202e", "\U000F0000", "\U000F0001", "\ud800"]

soup = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=40).map("".join)


def _nested(depth: int, inner: str) -> str:
    return "<table><tr><td>" * depth + inner + "</td></tr></table>" * depth


@settings(max_examples=150, deadline=5000, **FUZZ)
@given(html=soup)
@example(html='<?xml version="1.0" encoding="latin-1"?><table><tr><td>1</td></tr></table>')  # found: raised ValueError
@example(html="<table><tr><td>" + "<b>" * 3000 + "x" + "</b>" * 3000 + "</td></tr></table>")
@example(html=_nested(400, "x"))
@example(html="<table>" + "<tr>" * 2000 + "</table>")
def test_random_html_gives_a_score_or_the_documented_error(html, time_limit):
    with time_limit(10):
        for structure_only in (False, True):
            try:
                score = teds(html, GOLD, structure_only=structure_only)
            except ValueError as exc:
                # Documented: a span that is not an integer raises, like the reference.
                assert "invalid literal for int()" in str(exc), exc
                continue
            assert isinstance(score, float) and math.isfinite(score)
            assert score <= 1.0
            assert 0.0 <= teds(html, GOLD, structure_only=structure_only, clamp=True) <= 1.0
        try:
            self_score = teds(html, html)
        except ValueError as exc:
            assert "no <table>" in str(exc) or "invalid literal for int()" in str(exc), exc
        else:
            assert self_score == 1.0  # whatever parses to a table is identical to itself


@settings(max_examples=40, deadline=5000, **FUZZ)
@given(pairs=st.lists(st.tuples(soup, st.sampled_from([GOLD, "<table></table>", "<p>not a table</p>"])), max_size=6))
def test_batch_scoring_turns_every_failure_into_an_error_row(pairs, time_limit):
    """teds_many (what engine evaluate uses): one result per pair, a score or a reason, never a 0
    standing in for an error."""
    with time_limit(20):
        results = teds_many(pairs, workers=0)
    assert [r.index for r in results] == list(range(len(pairs)))
    for (pred, gold), r in zip(pairs, results):
        assert (r.teds is None) == (r.error is not None)
        if gold.startswith("<p>"):
            assert r.teds is None and "no <table>" in r.error


@settings(max_examples=60, deadline=5000, **FUZZ)
@given(html=soup)
@example(html='<?xml version="1.0" encoding="utf-8"?><table></table>')  # found: crashed the reader
def test_predictions_reader_never_raises_on_a_table(html, tmp_path_factory):
    """The predictions reader parses every predicted table up front: whatever it is, the line is
    read, and a table with nothing to score is an unparsable_html row, not a crash."""
    import json

    path = tmp_path_factory.mktemp("teds_preds") / "p.jsonl"
    path.write_text(json.dumps({"doc_id": "d", "page": 0, "tables": [html]}) + "\n", encoding="utf-8")
    read = read_predictions(path, {("d", 0)}, set())
    if any(0xD800 <= ord(c) <= 0xDFFF for c in html):
        assert [i.error for i in read.issues] == ["bad_json"]  # a lone surrogate is not text
    elif _find_table(html) is None:
        assert [i.error for i in read.issues] == ["unparsable_html"]
    else:
        assert read.issues == [] and read.predictions[0].bad_tables == set()


tables = st.integers(min_value=0, max_value=100_000).map(oracle.random_pair)


@settings(max_examples=40, deadline=5000, **FUZZ)
@given(tables, st.booleans())
def test_distance_equals_the_apted_oracle(pair, structure_only):
    pred, gold = pair
    ours = table_edit_distance(oracle.parse_table(pred), oracle.parse_table(gold), structure_only=structure_only)
    assert ours == pytest.approx(oracle.oracle_distance(pred, gold, structure_only), abs=1e-9)


@settings(max_examples=40, deadline=5000, **FUZZ)
@given(tables)
def test_identity_symmetry_and_bounds(pair):
    pred, gold = pair
    for table in pair:
        assert teds(table, table) == 1.0
    forward, backward = teds(pred, gold), teds(gold, pred)
    assert forward == pytest.approx(backward, abs=1e-12)
    # TED <= deleting one tree and inserting the other, so the score is at least 1 - (m + n) / max(m, n) >= -1.
    assert -1.0 <= forward <= 1.0
    assert teds(pred, gold, structure_only=True) >= forward - 1e-12
