"""`page_height: fit`: a slip's page is cut to its content (real WeasyPrint layout, PyMuPDF raster).
The page ends one bottom margin below the last ink, the boxes and labels are those of the same
document on the declared (long) page, verification passes, and the same seed gives the same bytes.
A declared page shorter than the slip is measured on a long roll; a forced page break is an error
naming template.yaml and its line."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from docfactory.generators import generate_pages, sample_spec
from docfactory.templates import BUILTIN_DIR, TemplateRegistry

MM = 1 / 25.4
BOTTOM_MARGIN_MM = {"receipt_thermal": 4, "receipt_shop": 5}  # their style.css @page margins


def last_ink_row(png: bytes) -> int:
    gray = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return int(np.flatnonzero((gray < 200).any(axis=1))[-1])


def copy_with(tmp_path: Path, source: str, name: str, css: tuple[str, str] | None = None,
              yaml: tuple[str, str] | None = None, html: tuple[str, str] | None = None) -> TemplateRegistry:
    folder = tmp_path / "tpl" / name
    shutil.copytree(BUILTIN_DIR / source, folder)
    for file, edit in (("style.css", css), ("template.yaml", yaml), ("template.html.j2", html)):
        if edit:
            text = (folder / file).read_text()
            assert edit[0] in text, edit[0]
            (folder / file).write_text(text.replace(*edit))
    return TemplateRegistry([folder.parent])


@pytest.mark.parametrize("name", sorted(BOTTOM_MARGIN_MM))
def test_a_slip_ends_a_bottom_margin_below_its_content(registry, name):
    template = registry.get(name)
    assert template.config.page_height == "fit"
    specs = [sample_spec(run_seed=31, index=i, templates=[template]) for i in range(6)]
    records, rejected = generate_pages(specs, registry)
    assert rejected == [], [r.reason for r in rejected]
    assert all(r.n_pages == 1 for r in records)
    for r in records:
        margin_px = BOTTOM_MARGIN_MM[name] * MM * r.dpi
        gap = r.height - 1 - last_ink_row(r.image)
        # The margin, plus what lies below the last line's ink inside its line box (under 2 mm at these
        # font sizes), less a pixel of rounding; an uncut page would leave hundreds of pixels.
        assert margin_px - 1 <= gap <= margin_px + 2 * MM * r.dpi, (r.doc_id, gap, margin_px)
    heights = {r.height for r in records}
    assert len(heights) > 1  # each slip its own length
    again, _ = generate_pages(specs[:2], registry)
    assert [r.image for r in again] == [r.image for r in records[:2]]


def test_fitting_moves_no_box(tmp_path):
    # The same documents on the declared 1000 mm page: every field box is where it was.
    registry = copy_with(tmp_path, "receipt_thermal", "thermal_long", yaml=("page_height: fit", "page_height: css"))
    specs = [sample_spec(run_seed=32, index=i, templates=[registry.get("receipt_thermal")]) for i in range(3)]
    fitted, _ = generate_pages(specs, registry)
    long, rejected = generate_pages([s.__class__(s.doc_id, "thermal_long", s.seed, s.knobs) for s in specs], registry)
    assert rejected == []
    for a, b in zip(fitted, long):
        assert abs(b.height - 1000 * MM * b.dpi) <= 1 and a.height < b.height / 2
        assert [(f.name, f.value, f.boxes) for f in a.fields] == [(f.name, f.value, f.boxes) for f in b.fields]
        assert [w.text for w in a.words] == [w.text for w in b.words]


def test_a_declared_page_shorter_than_the_slip_is_measured_on_a_long_roll(tmp_path):
    registry = copy_with(tmp_path, "receipt_thermal", "thermal_short",
                         css=("size: 80mm 1000mm", "size: 80mm 60mm"))
    spec = sample_spec(run_seed=33, index=0, templates=[registry.get("receipt_thermal")])
    (fitted,), _ = generate_pages([spec], registry)
    (short,), rejected = generate_pages([spec.__class__(spec.doc_id, "thermal_short", spec.seed, spec.knobs)], registry)
    assert rejected == [] and short.n_pages == 1
    assert short.height == fitted.height and short.image == fitted.image


def test_a_forced_page_break_is_an_error_naming_page_height(tmp_path):
    registry = copy_with(tmp_path, "receipt_thermal", "thermal_break",
                         html=("<footer>", '<footer style="break-before: page">'))
    spec = sample_spec(run_seed=34, index=0, templates=[registry.get("thermal_break")])
    records, rejected = generate_pages([spec], registry)
    assert records == [] and rejected[0].stage == "template"
    yaml_path = registry.get("thermal_break").folder / "template.yaml"
    line = next(i for i, l in enumerate(yaml_path.read_text().splitlines(), 1) if l.startswith("page_height"))
    assert f"{yaml_path}:{line}:" in rejected[0].reason and "breaks into 2 pages" in rejected[0].reason


def _both_ways(monkeypatch, registry, specs):
    """(cut in place, laid out again at the fitted height) records of the same specs."""
    from docfactory.generators import fit_page

    cut, cut_rejected = generate_pages(specs, registry)
    monkeypatch.setattr(fit_page, "CUT_IN_PLACE", False)
    again, again_rejected = generate_pages(specs, registry)
    assert cut_rejected == again_rejected == []
    return cut, again


@pytest.mark.parametrize("name", sorted(BOTTOM_MARGIN_MM))
def test_cutting_the_page_in_place_draws_what_a_second_layout_draws(monkeypatch, registry, name):
    from docfactory.generators import fit_page

    cuts = []
    real_cut = fit_page._cut
    monkeypatch.setattr(fit_page, "_cut", lambda page, height: (cuts.append(height), real_cut(page, height)))
    specs = [sample_spec(run_seed=35, index=i, templates=[registry.get(name)]) for i in range(4)]
    cut, again = _both_ways(monkeypatch, registry, specs)
    assert len(cuts) == len(specs)  # the built-in slips depend on nothing below their content
    for a, b in zip(cut, again):
        assert (a.width, a.height, a.image) == (b.width, b.height, b.image)
        assert [(f.name, f.boxes) for f in a.fields] == [(f.name, f.boxes) for f in b.fields]
        assert a.words == b.words and a.tables == b.tables


@pytest.mark.parametrize("css", [
    "footer { position: absolute; bottom: 0; }",  # placed from the page's bottom
    "@page { @bottom-center { content: 'page ' counter(page); } }",  # a page-margin box
    "html { min-height: 100%; }",  # sized from the page's height
    "body { min-height: 90vh; }",  # a viewport unit
])
def test_a_page_that_depends_on_its_height_is_laid_out_again(monkeypatch, tmp_path, css):
    from docfactory.generators import fit_page

    registry = copy_with(tmp_path, "receipt_thermal", "thermal_dependent", css=("@page {", css + "\n@page {"))
    monkeypatch.setattr(fit_page, "_cut", lambda page, height: pytest.fail("cut a height-dependent page"))
    spec = sample_spec(run_seed=36, index=0, templates=[registry.get("thermal_dependent")])
    (record,), rejected = generate_pages([spec], registry)
    # Laid out again at its measured height (which, for content placed from the page's bottom or
    # sized from its height, is the declared page's): one page, labels verified.
    assert rejected == [] and record.n_pages == 1 and record.fields
