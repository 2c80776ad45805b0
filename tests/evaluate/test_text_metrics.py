"""CER, WER, normalised edit distance and their edge cases."""

from __future__ import annotations

import pytest

from docfactory.evaluate import cer, corpus_cer, corpus_wer, normalized_edit_distance, wer


def test_cer() -> None:
    assert cer("hello", "hello") == 0.0
    assert cer("helo", "hello") == pytest.approx(1 / 5)
    assert cer("hello world!!", "hello") == pytest.approx(8 / 5)  # can exceed 1


def test_wer() -> None:
    assert wer("the cat sat", "the cat sat") == 0.0
    assert wer("the cat  sat on", "the cat sat") == pytest.approx(1 / 3)  # whitespace runs split once
    assert wer("a dog sat", "the cat sat") == pytest.approx(2 / 3)


def test_normalized_edit_distance() -> None:
    assert normalized_edit_distance("abc", "abd") == pytest.approx(1 / 3)
    assert normalized_edit_distance("", "abcd") == 1.0
    assert normalized_edit_distance("", "") == 0.0
    assert normalized_edit_distance("Hello", "hello") == pytest.approx(1 / 5)  # no case folding


def test_empty_gold() -> None:
    assert cer("", "") == 0.0 and wer("", "") == 0.0 and wer("  ", "") == 0.0
    assert cer("x", "") == 1.0 and wer("some words", "") == 1.0


def test_corpus_rates_weigh_by_length() -> None:
    assert corpus_cer(["ab", "wxyz"], ["ab", "wxyq"]) == pytest.approx(1 / 6)
    assert corpus_wer(["a b", "c"], ["a b", "d"]) == pytest.approx(1 / 3)
    assert corpus_cer(["", ""], ["", ""]) == 0.0
    with pytest.raises(ValueError):
        corpus_cer(["a"], [])
