"""Every registered template, by name: seeded documents render, verify (every label against the PDF
text) and re-render byte-identical. A template added as a folder gets its own test case here."""

from __future__ import annotations

import pytest

from docfactory.generators import generate_pages, sample_spec
from docfactory.templates import TemplateRegistry

NAMES = TemplateRegistry().names()


@pytest.mark.parametrize("name", NAMES)
def test_template_renders_verifies_and_rerenders(registry, name):
    template = registry.get(name)
    specs = [sample_spec(run_seed=23, index=i, templates=[template]) for i in range(3)]
    records, rejected = generate_pages(specs, registry)
    assert rejected == [], [r.reason for r in rejected]
    assert {r.template for r in records} == {name} and {r.doc_id for r in records} == {s.doc_id for s in specs}
    assert all(r.fields for r in records if r.page == 0)
    again, _ = generate_pages(specs[:1], registry)
    first = [r for r in records if r.doc_id == specs[0].doc_id]
    assert [r.image for r in again] == [r.image for r in first]
    assert [r.to_row()["fields"] for r in again] == [r.to_row()["fields"] for r in first]


def test_the_sweep_sees_every_builtin_template():
    assert {"invoice_classic", "invoice_modern", "receipt_shop", "receipt_thermal", "statement_report"} <= set(NAMES)
