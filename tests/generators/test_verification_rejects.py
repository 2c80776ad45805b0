"""Verification is what makes a label trustworthy, so it is tested by breaking labels: a field value, a
table cell's text and a field's box tampered after layout must each be rejected at stage `verify` with a
reason naming the label; and, as a seeded property, every stored label's text is the PDF text inside its
boxes (re-read here from the page's words, independently of the pipeline's own check)."""

from __future__ import annotations

import dataclasses

import pymupdf
import pytest

from docfactory.field_types import Field, normalize_text
from docfactory.generators import generate_pages, sample_spec
from docfactory.generators.pipeline import Rejection, _finish, _prepare
from docfactory.records import Box


def prepared(registry, template: str, index: int = 0):
    spec = sample_spec(run_seed=11, index=index, templates=[registry.get(template)])
    return _prepare(spec, registry)


def finish(p):
    pdf = p.document.write_pdf(uncompressed_pdf=True)
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return _finish(p, list(doc))


def test_untampered_documents_pass(registry):
    for template in ("receipt_shop", "statement_report"):
        assert not isinstance(finish(prepared(registry, template)), Rejection)


def test_a_tampered_field_value_is_rejected(registry):
    p = prepared(registry, "invoice_classic")
    total = p.content.paths["total"]
    p.content.paths["total"] = Field(total.type, total.text + "1", total.normalized)
    result = finish(p)
    assert isinstance(result, Rejection) and result.stage == "verify"
    assert result.reason.startswith("field total: label") and repr(total.text + "1") in result.reason


def test_a_tampered_cell_text_is_rejected(registry):
    p = prepared(registry, "statement_report")
    page = next(pg for pg in p.pages if pg.tables)
    name, cells = next(iter(page.tables.items()))
    k = next(i for i, c in enumerate(cells) if c.text)
    cells[k] = dataclasses.replace(cells[k], text=cells[k].text + "X")
    result = finish(p)
    assert isinstance(result, Rejection) and result.stage == "verify"
    assert f"table {name} cell ({cells[k].row},{cells[k].col})" in result.reason


def test_a_moved_field_box_is_rejected(registry):
    p = prepared(registry, "receipt_shop")
    page = next(pg for pg in p.pages if "total" in pg.fields)
    box = page.fields["total"][0]
    height = box.y1 - box.y0
    page.fields["total"] = [Box(box.x0, box.y0 + 2 * height, box.x1, box.y1 + 2 * height)]  # onto the next line
    result = finish(p)
    assert isinstance(result, Rejection) and result.stage == "verify" and result.reason.startswith("field total:")


def _words_in(words, boxes) -> str:
    """The stored words whose centres fall inside any of the boxes, in stored order."""
    out = []
    for w in words:
        cx, cy = (w.box.x0 + w.box.x1) / 2, (w.box.y0 + w.box.y1) / 2
        if any(b.x0 - 1 <= cx <= b.x1 + 1 and b.y0 - 1 <= cy <= b.y1 + 1 for b in boxes):
            out.append(w.text)
    return " ".join(out)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_stored_label_is_the_pdf_text_in_its_boxes(registry, seed):
    templates = [registry.get(n) for n in registry.names()]
    specs = [sample_spec(run_seed=seed, index=i, templates=templates) for i in range(2 * len(templates))]
    records, rejected = generate_pages(specs, registry)
    assert not rejected
    checked = 0
    for record in records:
        for f in record.fields:
            found = _words_in(record.words, f.boxes)
            # words are whole: compare without spaces (a value's word may be glued to a bracket or colon)
            assert normalize_text(f.value).replace(" ", "") in normalize_text(found).replace(" ", ""), (record.doc_id, f.name)
            checked += 1
        for table in record.tables:
            for c in table.cells:
                if c.text:
                    assert normalize_text(c.text).replace(" ", "") in normalize_text(_words_in(record.words, [c.box])).replace(" ", "")
                    checked += 1
    assert checked > 100
