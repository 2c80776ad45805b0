"""RapidOCR as a word source: real receipts, the real engine, offline.

Two SROIE receipts are read once per module (about 2 s each on one core); the network is closed while
the engine loads and reads, so a model fetched at run time fails the test instead of passing quietly.
"""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest
from PIL import Image

from docfactory.train import rapid_ocr
from docfactory.train.base import PageInput
from docfactory.train.layout.words import WordSourceError, page_words
from docfactory.train.ocr import BadImage, MemoryCache, OcrSettings, image_key, ocr_images, read_words

SROIE = Path(__file__).resolve().parents[3] / "shared/data/sroie"
RECEIPTS = ("000", "001")  # totals 9.00 and 60.30: one small receipt, one with a rounding line
RAPID = OcrSettings(engine="rapidocr")

pytestmark = pytest.mark.skipif(not (SROIE / "img").is_dir(), reason=f"SROIE receipts not found at {SROIE}")


@pytest.fixture(scope="module")
def offline():
    """No connection may be opened: RapidOCR downloads a model when it is not pointed at one."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("network use attempted")

    patch = pytest.MonkeyPatch()
    patch.setattr(socket.socket, "connect", refuse)
    patch.setattr(socket, "create_connection", refuse)
    rapid_ocr._ENGINES.clear()  # load the models under the guard too
    yield
    patch.undo()


@pytest.fixture(scope="module")
def receipts(offline):
    out = {}
    for name in RECEIPTS:
        image = (SROIE / "img" / f"{name}.jpg").read_bytes()
        gold = json.loads((SROIE / "key" / f"{name}.json").read_text(encoding="utf-8"))
        out[name] = (image, gold, read_words(image, RAPID))
    return out


@pytest.mark.parametrize("name", RECEIPTS)
def test_words_contain_the_gold_total(receipts, name):
    _image, gold, words = receipts[name]
    assert gold["total"] in {w["text"] for w in words}


@pytest.mark.parametrize("name", RECEIPTS)
def test_words_have_tesseract_shape_and_boxes_inside_the_image(receipts, name):
    image, _gold, words = receipts[name]
    width, height = Image.open(io.BytesIO(image)).size
    assert len(words) > 30
    for w in words:
        assert set(w) == {"text", "box", "conf", "line"} and w["text"].strip() == w["text"] != ""
        b = w["box"]
        assert -1 <= b["x0"] < b["x1"] <= width + 1 and -1 <= b["y0"] < b["y1"] <= height + 1
        assert 0.0 <= w["conf"] <= 1.0
    lines = [w["line"] for w in words]
    assert lines == sorted(lines)  # words come line by line, lines top to bottom


def test_words_are_the_same_when_read_again(receipts, offline):
    image, _gold, words = receipts["000"]
    assert read_words(image, RAPID) == words


def test_two_workers_read_what_one_reads(receipts):
    """Worker threads share the one engine: concurrent pages must not change each other's words."""
    images = [receipts[name][0] for name in RECEIPTS]
    assert ocr_images(images, RAPID, workers=2) == [receipts[name][2] for name in RECEIPTS]


def test_words_of_a_line_split_its_box_in_order():
    quad = [(10.0, 20.0), (110.0, 20.0), (110.0, 40.0), (10.0, 40.0)]
    words = rapid_ocr.split_line("ab cd", quad, 0.9, 3)
    assert [w["text"] for w in words] == ["ab", "cd"]
    assert [(w["box"]["x0"], w["box"]["x1"]) for w in words] == [(10.0, 50.0), (70.0, 110.0)]
    assert all(w["box"]["y0"] == 20.0 and w["box"]["y1"] == 40.0 and w["line"] == 3 for w in words)


def test_a_tilted_line_gives_each_word_its_own_height():
    quad = [(0.0, 0.0), (90.0, 45.0), (90.0, 55.0), (0.0, 10.0)]  # 10 px high, falls 45 px over its width
    first, last = rapid_ocr.split_line("aaaa bbbb", quad, 1.0, 0)
    # Each word spans its own 20 px of the fall (plus the line's height), not the line's whole 55 px.
    assert (first["box"]["y0"], first["box"]["y1"]) == pytest.approx((0.0, 30.0))
    assert (last["box"]["y0"], last["box"]["y1"]) == pytest.approx((25.0, 55.0))


def test_cache_keys_of_the_two_engines_differ(receipts):
    image = receipts["000"][0]
    rapid, tess = image_key(image, RAPID), image_key(image, OcrSettings())
    assert rapid != tess and "rapidocr-" in rapid and "tesseract-" in tess
    assert rapid_ocr.MODEL in rapid


def test_unknown_engine_lists_the_known_ones():
    with pytest.raises(ValueError, match="known: tesseract, rapidocr"):
        OcrSettings(engine="easyocr")


def test_unreadable_image_is_a_bad_image():
    with pytest.raises(BadImage):
        read_words(b"not an image at all", RAPID)


def test_page_words_with_the_rapidocr_source(receipts):
    """The top of a receipt (its header) through page_words: the source overrides the settings' engine."""
    image = receipts["000"][0]
    with Image.open(io.BytesIO(image)) as img:
        top = img.crop((0, 0, img.width, 240))
        buf = io.BytesIO()
        top.save(buf, format="PNG")
    page = PageInput(doc_id="sroie-000", page=0, image=buf.getvalue(), width=top.width, height=top.height)
    cache = MemoryCache()
    (words,) = page_words([page], "rapidocr", OcrSettings(), cache)
    assert "BHD" in {w["text"] for w in words} and all("vline" in w for w in words)
    assert [k.split(":", 1)[1].startswith("rapidocr-") for k in cache.entries] == [True]


def test_unknown_source_lists_the_known_ones():
    with pytest.raises(WordSourceError, match="known: auto, pdf, ocr, tesseract, rapidocr"):
        page_words([], "easyocr", OcrSettings())
