"""Printing a value in capitals: `| caps` / `| upper` on a field value prints the cased text and the
label records it (value upper case, normalized unchanged), so verification passes on the page. A
value printed in two cases, or cased only in an unlabelled copy, is refused with a reason."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from docfactory.generators import generate_pages, sample_spec
from docfactory.templates import BUILTIN_DIR, TemplateRegistry

NAME_ELEMENT = '<div class="brand-name" data-field="store.name">{{ doc.store.name }}</div>'
CASHIER_ELEMENT = '<td data-field="cashier">{{ doc.cashier }}</td>'


def shop_copy(tmp_path: Path, name: str, *edits: tuple[str, str]) -> TemplateRegistry:
    folder = tmp_path / "tpl" / name
    shutil.copytree(BUILTIN_DIR / "receipt_shop", folder)
    html = folder / "template.html.j2"
    text = html.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    html.write_text(text)
    return TemplateRegistry([folder.parent])


def specs(registry: TemplateRegistry, name: str, n: int = 4):
    return [sample_spec(run_seed=11, index=i, templates=[registry.get(name)]) for i in range(n)]


def test_caps_and_upper_label_what_is_printed(tmp_path):
    registry = shop_copy(tmp_path, "receipt_caps",
                         (NAME_ELEMENT, NAME_ELEMENT.replace("doc.store.name }}", "doc.store.name | caps }}")),
                         (CASHIER_ELEMENT, CASHIER_ELEMENT.replace("doc.cashier }}", "doc.cashier | upper }}")))
    capped, rejected = generate_pages(specs(registry, "receipt_caps"), registry)
    assert rejected == [], [r.reason for r in rejected]
    # The same documents from the built-in template (same seeds, same content): only the case differs.
    plain, _ = generate_pages([replace(s, template="receipt_shop") for s in specs(registry, "receipt_caps")], registry)
    for cased, original in zip(capped, plain):
        by_name = {f.name: f for f in cased.fields}
        before = {f.name: f for f in original.fields}
        for name in ("store.name", "cashier"):
            assert by_name[name].value == before[name].value.upper()
            assert by_name[name].normalized == before[name].normalized  # the value is the same value
        assert by_name["total"].value == before["total"].value  # only the cased fields change
        gold = json.loads(cased.ground_truth)
        assert gold["store"]["name"] == by_name["store.name"].value and gold["cashier"] == by_name["cashier"].value
    assert any(f.value != f.normalized for r in capped for f in r.fields if f.name == "cashier")


def test_case_filters_on_plain_strings_are_jinjas(tmp_path):
    # `.text | upper` is a plain string: printed in capitals, the label untouched (an unlabelled copy).
    registry = shop_copy(tmp_path, "receipt_textcase",
                         ('<div class="thanks">', '<div>{{ doc.store.name.text | upper }} {{ "ab" | title }}</div>\n<div class="thanks">'))
    records, rejected = generate_pages(specs(registry, "receipt_textcase", 1), registry)
    assert rejected == []
    name = next(f for f in records[0].fields if f.name == "store.name")
    assert name.value.upper().split()[0] in [w.text for w in records[0].words]
    assert name.value == name.normalized


def test_a_value_printed_in_two_cases_is_a_template_error_with_its_line(tmp_path):
    registry = shop_copy(tmp_path, "receipt_twocase",
                         (NAME_ELEMENT, NAME_ELEMENT.replace("doc.store.name }}", "doc.store.name | upper }}")),
                         ('<div class="thanks">', '<div>{{ doc.store.name | lower }}</div>\n<div class="thanks">'))
    _, rejected = generate_pages(specs(registry, "receipt_twocase", 1), registry)
    assert len(rejected) == 1 and rejected[0].stage == "template"
    html = registry.get("receipt_twocase").html_path
    line = next(i for i, l in enumerate(html.read_text().splitlines(), 1) if 'data-field="store.name"' in l)
    assert f"{html}:{line}:" in rejected[0].reason and "| lower and | upper" in rejected[0].reason


def test_a_cased_unlabelled_copy_fails_verification_with_a_hint(tmp_path):
    registry = shop_copy(tmp_path, "receipt_copycase",
                         ('<div class="thanks">', '<div>{{ doc.cashier | upper }}</div>\n<div class="thanks">'))
    records, rejected = generate_pages(specs(registry, "receipt_copycase", 4), registry)
    # A name already in capitals prints the same either way; every other document is refused.
    assert rejected and all(r.stage == "verify" and "field cashier" in r.reason for r in rejected)
    assert "prints this value with | upper somewhere" in rejected[0].reason
