"""A template's layout alternatives (template.yaml `choices`) are drawn with the spec from its seed,
recorded on the page, tilted by a plan's weights["choice"], kept by hard variants, and checked when a
template declares them (real WeasyPrint, seeded)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from pydantic import ValidationError

from docfactory.generators import generate_pages, sample_spec
from docfactory.generators.document import build_content
from docfactory.records import DocSpec
from docfactory.templates.schema import TemplateConfig

JUMLAH = {"choice": {"total_label": {"JUMLAH": 50}}}


def _total_line(record) -> str:
    """The words printed level with the total's value: its label, on a till slip."""
    box = next(f for f in record.fields if f.name == "total").boxes[0]
    level = [w for w in record.words if box.y0 <= (w.box.y0 + w.box.y1) / 2 <= box.y1]
    return " ".join(w.text for w in sorted(level, key=lambda w: w.box.x0))


def test_choices_are_drawn_with_the_spec_from_its_seed(registry):
    template = registry.get("receipt_pos")
    specs = [sample_spec(9, i, [template]) for i in range(30)]
    assert all(set(s.choices) == set(template.config.choices) for s in specs)
    assert all(isinstance(v, str) for s in specs for v in s.choices.values())  # as str(option): "80", "False"
    assert sample_spec(9, 3, [template]) == specs[3]
    assert len({s.choices["total_label"] for s in specs}) > 3 and {s.choices["paper"] for s in specs} == {"80", "58"}
    # the template still reads the option as template.yaml writes it
    content = build_content(specs[0], template)
    assert content.choices["paper"] in (80, 58) and content.choices["barcode"] in (True, False)
    # drawn after the knobs: tilting a choice moves no knob
    assert all(sample_spec(9, i, [template], weights=JUMLAH).knobs == specs[i].knobs for i in range(30))
    assert sample_spec(9, 0, [registry.get("invoice_classic")]).choices == {}  # a template without choices


def test_a_plan_that_tilts_a_choice_changes_the_printed_label(registry):
    template = registry.get("receipt_pos")
    specs = [sample_spec(4, i, [template], weights=JUMLAH) for i in range(8)]
    records, rejected = generate_pages(specs, registry)
    assert rejected == []
    labels = Counter(r.choices["total_label"] for r in records)
    assert labels["JUMLAH"] >= 6, labels  # 50 against 1 each: almost every slip
    for record in records:
        assert record.choices == specs[[s.doc_id for s in specs].index(record.doc_id)].choices
        assert record.choices["total_label"] in _total_line(record), (_total_line(record), record.choices)
    untilted = [sample_spec(4, i, [template]).choices["total_label"] for i in range(8)]
    assert Counter(untilted)["JUMLAH"] < labels["JUMLAH"]


def test_zero_weight_never_draws_and_the_same_seed_gives_the_same_page(registry):
    template = registry.get("receipt_pos")
    weights = {"choice": {"rule": {"equals": 0}, "total_label": {"GRAND TOTAL": 0.0}}}
    drawn = [sample_spec(2, i, [template], weights=weights).choices for i in range(200)]
    assert all(c["rule"] != "equals" and c["total_label"] != "GRAND TOTAL" for c in drawn)
    spec = sample_spec(2, 0, [template], weights=JUMLAH)
    first, _ = generate_pages([spec], registry)
    again, _ = generate_pages([sample_spec(2, 0, [template], weights=JUMLAH)], registry)
    assert [r.image for r in first] == [r.image for r in again]
    assert json.loads(first[0].to_row()["choices"]) == spec.choices


def test_a_spec_without_choices_draws_them_from_its_seed_and_a_stale_option_is_rejected(registry):
    template = registry.get("receipt_pos")
    spec = sample_spec(6, 1, [template])
    bare = DocSpec(spec.doc_id, spec.template, spec.seed, spec.knobs)  # made by hand, as template checks do
    assert build_content(bare, template).choices == build_content(bare, template).choices
    stale = DocSpec(spec.doc_id, spec.template, spec.seed, spec.knobs, {**spec.choices, "total_label": "SUMA"})
    records, rejected = generate_pages([stale], registry)
    assert records == [] and rejected[0].stage == "template" and "total_label='SUMA'" in rejected[0].reason


def test_hard_variants_keep_their_choices_unless_the_weights_rule_one_out(registry):
    template = registry.get("receipt_pos")
    source = sample_spec(3, 0, [template])
    knobs = {k: getattr(source.knobs, k) for k in ("locale", "currency", "n_items", "tax_rate", "discount_rate", "font", "dpi")}
    choices = {**source.choices, "total_label": "GRAND TOTAL"}
    variant = {"source": "eval-1", "template": "receipt_pos", "knobs": knobs, "push": {}, "choices": choices}
    kept = sample_spec(8, 0, [template], prefix="it001", weights={"variants": [variant]})
    assert kept.choices == choices and kept.seed != source.seed
    ruled_out = sample_spec(8, 0, [template], prefix="it001",
                            weights={"variants": [variant], "choice": {"total_label": {"GRAND TOTAL": 0}}})
    assert ruled_out.choices["total_label"] != "GRAND TOTAL"
    assert {k: v for k, v in ruled_out.choices.items() if k != "total_label"} == \
        {k: v for k, v in choices.items() if k != "total_label"}


def _config(**extra) -> dict:
    return {"kind": "receipt", "version": "1", "fonts": ["DejaVu Sans"], "fields": {"total": {"type": "money"}},
            "choices": {"total_label": ["TOTAL", "JUMLAH"]}, **extra}


@pytest.mark.parametrize("extra, message", [
    ({"choice_fields": {"total_labl": ["total"]}}, "'total_labl' is not a choice"),
    ({"choice_fields": {"total_label": ["totl"]}}, r"\['totl'\] are not declared fields"),
    ({"choices": {"paper": [80, "80"]}}, "read alike"),
])
def test_choice_fields_and_options_are_checked(extra, message):
    assert TemplateConfig(**_config(choice_fields={"total_label": ["total"]})).choice_fields == {"total_label": ["total"]}
    with pytest.raises(ValidationError, match=message):
        TemplateConfig(**_config(**extra))
