"""The assembler's reading of tag probabilities on pages laid out like real receipts: values as they
are printed (lines, typed values, required fields), checked on hand-made words and probabilities.

Words sit on lines 20 px high; a word's x advances 10 px a character plus a 6 px space, so two
words of one phrase are adjacent and a second column 200 px away is not.
"""

from __future__ import annotations

import numpy as np
import pytest

from docfactory.train.layout.assemble import assemble_fields
from docfactory.train.layout.value_rules import amount_like, typed_cleanup
from docfactory.train.layout.features import PageExample, is_slip, reframed
from docfactory.train.layout.tags import TagSet

PATTERNS = ("date", "items.*.description", "store.address", "store.company", "subtotal", "total")
TAGSET = TagSet(PATTERNS, 4)
TYPES = {"date": "date", "items.*.description": "text", "store.address": "address", "store.company": "text",
         "subtotal": "money", "total": "money"}


def page(lines: list[list[str]], gap_after: dict[tuple[int, int], float] | None = None) -> list[dict]:
    """Words in reading order with boxes and visual lines; gap_after[(line, k)] widens the space after word k."""
    words = []
    for n, line in enumerate(lines):
        x = 10.0
        for k, text in enumerate(line):
            words.append({"text": text, "box": {"x0": x, "y0": 30.0 * n, "x1": x + 10 * len(text), "y1": 30.0 * n + 20},
                          "vline": n})
            x += 10 * len(text) + 6 + (gap_after or {}).get((n, k), 0.0)
    return words


def probs(words: list[dict], tags: dict[int, tuple[str, bool, float]], soft: dict[int, dict[str, float]] | None = None) -> np.ndarray:
    """One row per word: O unless `tags` gives (pattern, begins, probability); `soft` adds probability
    mass for a pattern's begin tag without making it the word's best tag."""
    out = np.zeros((len(words), TAGSET.sizes()["field"]), dtype=np.float32)
    out[:, 0] = 1.0
    for i, (pattern, begins, p) in tags.items():
        out[i, 0] = 1.0 - p
        out[i, TAGSET.field_tag(pattern, begins)] = p
    for i, mass in (soft or {}).items():
        for pattern, p in mass.items():
            out[i, TAGSET.field_tag(pattern, True)] = p
            out[i, 0] -= p
    return out


def fields(words, field_probs, required=()):
    return assemble_fields(words, field_probs, TAGSET, {}, TYPES, list(required))[0]


def test_a_name_takes_its_untagged_neighbours_on_its_line_but_not_a_label():
    words = page([["LIGHTROOM", "GALLERY", "SDN", "BHD"], ["CASHIER", "ANGELA"]])
    # The tagger is sure of "SDN BHD", unsure of the unseen words before them (some mass, not the argmax);
    # "ANGELA" is the company by its best tag but "CASHIER" is a label it is sure is no value.
    p = probs(words, {2: ("store.company", True, 0.9), 3: ("store.company", False, 0.9)},
              soft={0: {"store.company": 0.2}, 1: {"store.company": 0.1}})
    assert fields(words, p)["store"]["company"] == "LIGHTROOM GALLERY SDN BHD"


def test_an_address_fills_its_lines_but_not_another_column():
    words = page([["NO.23", "BATU", "10,", "TAMAN", "SENTOSA,", "TOTAL", "9.00"]], gap_after={(0, 4): 200.0})
    p = probs(words, {0: ("store.address", True, 0.9), 3: ("store.address", False, 0.8),
                      4: ("store.address", False, 0.8)})
    assert fields(words, p)["store"]["address"] == "NO.23 BATU 10, TAMAN SENTOSA,"


def test_a_list_item_keeps_the_words_it_was_tagged_with():
    words = page([["9556939040118", "KF", "MODELLING", "CLAY"]])
    p = probs(words, {1: ("items.*.description", True, 0.9), 2: ("items.*.description", False, 0.9),
                      3: ("items.*.description", False, 0.9)})
    assert fields(words, p)["items"] == [{"description": "KF MODELLING CLAY"}]


def test_a_continuation_lines_away_starts_a_value_of_its_own_and_the_surer_whole_wins():
    words = page([["tan", "woon"], [], [], ["INDAH", "GIFT", "&", "HOME", "DECO"]])
    p = probs(words, {0: ("store.company", True, 0.6), 1: ("store.company", False, 0.5),
                      2: ("store.company", False, 0.7), 3: ("store.company", False, 0.8),
                      4: ("store.company", False, 0.8), 5: ("store.company", False, 0.8),
                      6: ("store.company", False, 0.8)})
    assert fields(words, p)["store"]["company"] == "INDAH GIFT & HOME DECO"


def test_words_another_field_took_inside_a_name_rejoin_it_and_so_do_its_line_ends():
    words = page([["PERNIAGAAN", "MR", "D.I.Y.", "(JOHOR)", "SDN", "BHD", "ENTERPRISE", "DECO"],
                  ["27,", "JALAN", "DEDAP"]])
    # "D.I.Y." and "(JOHOR)" went to the address, the line's first and last words too, each with some
    # company probability; the company holds most of the line, so its ends are the company's as well.
    p = probs(words, {0: ("store.address", True, 0.7), 1: ("store.company", True, 0.8),
                      2: ("store.address", True, 0.6), 3: ("store.address", False, 0.8),
                      4: ("store.company", False, 0.9), 5: ("store.company", False, 0.9),
                      6: ("store.company", False, 0.9), 7: ("store.address", False, 0.6),
                      8: ("store.address", True, 0.9), 9: ("store.address", False, 0.9),
                      10: ("store.address", False, 0.9)},
              soft={0: {"store.company": 0.2}, 2: {"store.company": 0.3}, 3: {"store.company": 0.05},
                    7: {"store.company": 0.2}})
    assert fields(words, p)["store"] == {"company": "PERNIAGAAN MR D.I.Y. (JOHOR) SDN BHD ENTERPRISE DECO",
                                         "address": "27, JALAN DEDAP"}


def test_a_line_end_the_name_gave_no_probability_stays_with_its_field():
    words = page([["ACME", "TRADING", "SDN", "BHD", "(123456-X)"]])
    p = probs(words, {0: ("store.company", True, 0.9), 1: ("store.company", False, 0.9),
                      2: ("store.company", False, 0.9), 3: ("store.company", False, 0.9),
                      4: ("store.address", True, 0.95)}, soft={4: {"store.company": 0.02}})
    assert fields(words, p)["store"] == {"company": "ACME TRADING SDN BHD", "address": "(123456-X)"}


@pytest.mark.parametrize("text, reads", [
    ("9.00", True), ("RM1.25", True), ("$8.20", True), ("170,85 €", True), ("1,234.50", True), ("3100", True),
    ("9556939040118", False), ("R000002902", False), ("23-01-2019", False), ("SR=35T@6%", False), ("313.5C", False),
])
def test_an_amount_reads_as_one(text, reads):
    assert amount_like(text) is reads


def test_a_barcode_tagged_as_the_total_gives_way_to_the_likeliest_amount():
    words = page([["9556939040118"], ["TOTAL", "9.00"]])
    p = probs(words, {0: ("total", True, 0.6)}, soft={2: {"total": 0.3}})
    assert fields(words, p, required=["total"])["total"] == "9.00"


def test_a_total_read_below_the_subtotal_is_read_again_among_larger_amounts():
    words = page([["SUBTOTAL", "15.00"], ["GST", "0.85"], ["TOTAL", "15.85"]])
    p = probs(words, {1: ("subtotal", True, 0.9), 3: ("total", True, 0.6)}, soft={5: {"total": 0.3}})
    assert fields(words, p)["total"] == "15.85"
    kept = probs(words, {1: ("subtotal", True, 0.9), 5: ("total", True, 0.6)})
    assert fields(words, kept)["total"] == "15.85"


def test_a_document_number_tagged_as_the_date_gives_way_to_the_likeliest_whole_date():
    words = page([["100100000006-"], ["05", "MAR", "2018", "18:22"], ["19/10/2018"]])
    p = probs(words, {0: ("date", True, 0.7), 2: ("items.*.description", True, 0.6)},
              soft={1: {"date": 0.2}, 5: {"date": 0.1}})
    assert fields(words, p)["date"] == "19/10/2018"  # "05" alone is no date; the whole one is the likeliest
    pieces = probs(words, {1: ("date", True, 0.7), 2: ("items.*.description", True, 0.6)})
    assert fields(words, pieces)["date"] == "05 MAR 2018"  # its month taken back from the item it went to


def test_a_name_begins_once_on_its_line():
    words = page([["TEO", "HENG", "STATIONERY", "&", "BOOKS"], ["NO.", "53,", "JALAN", "BESAR"]])
    p = probs(words, {0: ("store.company", True, 0.6), 1: ("store.company", False, 0.6),
                      2: ("store.company", True, 0.6), 3: ("store.company", False, 0.6),
                      4: ("store.company", False, 0.6), 5: ("store.address", True, 0.9),
                      6: ("store.address", False, 0.9), 7: ("store.address", False, 0.9),
                      8: ("store.address", False, 0.9)})
    assert fields(words, p)["store"] == {"company": "TEO HENG STATIONERY & BOOKS", "address": "NO. 53, JALAN BESAR"}


def test_an_address_ends_before_the_telephone_line_after_it():
    words = page([["NO.59", "JALAN", "PERMAS"], ["81760", "JOHOR", "BAHRU"], ["TEL:07-386", "7524"]])
    p = probs(words, {i: ("store.address", i == 0, 0.9) for i in range(8)})
    assert fields(words, p)["store"]["address"] == "NO.59 JALAN PERMAS\n81760 JOHOR BAHRU"


def test_a_required_field_comes_from_its_likeliest_plausible_word():
    words = page([["TOTAL", "9.00"], ["CASH", "10.00"], ["Thank", "you"]])
    # No word's best tag is total; "you" is likelier than "9.00" but holds no digit.
    p = probs(words, {}, soft={1: {"total": 0.3}, 3: {"total": 0.1}, 5: {"total": 0.4}})
    assert fields(words, p, required=["total"])["total"] == "9.00"
    assert "total" not in fields(words, p)  # not required: no best tag, no value
    faint = probs(words, {}, soft={1: {"total": 0.01}})
    assert "total" not in fields(words, faint, required=["total"])  # under 5 %: a guess, left missing


def test_a_typed_value_without_a_digit_is_dropped():
    words = page([["Vege", "12/03/2018"]])
    p = probs(words, {0: ("date", True, 0.9)}, soft={1: {"date": 0.3}})
    assert "date" not in fields(words, p)  # "Vege" tagged as the date is no date
    assert fields(words, p, required=["date"])["date"] == "12/03/2018"  # a required date: the likeliest one


def test_a_date_takes_its_day_and_month_words():
    words = page([["05", "Mar", "2018", "18:24"]])
    p = probs(words, {1: ("date", True, 0.9), 2: ("date", False, 0.9)})
    assert fields(words, p)["date"] == "05 Mar 2018"


@pytest.mark.parametrize("printed,kind,value", [
    ("Date:17/01/2018", "date", "17/01/2018"),          # a label OCR glued on
    ("19-03-201818:08:38", "date", "19-03-2018"),       # the time run into the date
    ("14/01/2018（Sn）12:06", "date", "14/01/2018"),
    (":12/28/2017", "date", "12/28/2017"),
    ("80.90:", "money", "80.90"),
    ("$8.20", "money", "$8.20"),                        # a currency printed with the amount stays
    ("TOTAL:9.00", "money", "9.00"),
    ("12:30:01", "time", "12:30:01"),
    ("SOON HUAT:", "text", "SOON HUAT:"),               # text keeps what it holds
])
def test_typed_cleanup(printed, kind, value):
    assert typed_cleanup(printed, kind) == value


def test_reframing_moves_a_slips_words_into_part_of_the_frame_and_keeps_the_tags():
    words = page([["TOTAL", "9.00"], ["CASH", "10.00"]] * 20)
    width, height = 300, int(max(w["box"]["y1"] for w in words)) + 10
    example = PageExample(words, width, height, labels={"field": list(range(len(words)))})
    assert is_slip(example) and not is_slip(PageExample(words, 840, 1188))
    moved = reframed(example, np.random.default_rng(3))
    assert moved.labels == example.labels and [w["text"] for w in moved.words] == [w["text"] for w in words]
    xs = [v for w in moved.words for v in (w["box"]["x0"], w["box"]["x1"])]
    ys = [v for w in moved.words for v in (w["box"]["y0"], w["box"]["y1"])]
    assert min(xs) >= -1 and max(xs) <= width + 1 and min(ys) >= -height * 0.05 and max(ys) <= height * 1.05
    assert moved.words != words
    again = reframed(example, np.random.default_rng(3))
    assert again.words == moved.words  # seeded
