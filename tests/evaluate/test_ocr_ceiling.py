"""The OCR ceiling: presence of gold values in OCR words, counted by hand."""

from __future__ import annotations

import pytest

from docfactory.evaluate.ocr_ceiling import ceiling, value_present

WORDS = ["BOOK", "TA", ".K", "(TAMAN", "DAYA)", "SDN", "BHD", "Total", ":", "9.00", "227\u00a0077,76"]


@pytest.mark.parametrize("value, present", [
    ("BOOK TA .K (TAMAN DAYA) SDN BHD", True),   # spans words
    ("book ta .k (taman daya)", True),           # case is ignored
    ("  SDN\n BHD ", True),                      # gold whitespace collapsed
    ("9.00", True),
    ("227 077,76", True),                        # a merged number's no-break space is a space
    ("9.0", True),                               # a substring, not a whole word: the check is lenient
    ("SDN. BHD", False),
    ("TAMAN DAYA SDN", False),                   # ")" is missing
    ("BHDTotal", False),                         # words are joined by a space
    ("", False),                                 # nothing to find
])
def test_value_present(value, present):
    assert value_present(value, WORDS) is present


def test_value_present_in_no_words():
    assert not value_present("9.00", [])


def test_ceiling_counts_by_hand():
    pairs = [
        ({"total": "9.00", "date": "25/12/2018", "company": "ABC"}, ["ABC", "25/12/2018", "9.00"]),
        ({"total": "4.50", "date": "01/01/2019", "company": "XYZ"}, ["XYZ", "4.5"]),
        ({"total": "3.00", "date": "", "company": "Q"}, ["q", "3.00"]),  # an empty date is not counted
    ]
    result = ceiling(pairs)
    assert result["pages"] == 3
    assert result["total"] == {"total": 3, "date": 2, "company": 3}
    assert result["present"] == {"total": 2, "date": 1, "company": 3}
    assert result["per_key"] == pytest.approx({"total": 2 / 3, "date": 1 / 2, "company": 1.0})
    assert result["mean"] == pytest.approx((2 / 3 + 1 / 2 + 1.0) / 3)


def test_ceiling_of_nothing():
    assert ceiling([]) == {"per_key": {}, "present": {}, "total": {}, "mean": 0.0, "pages": 0}
