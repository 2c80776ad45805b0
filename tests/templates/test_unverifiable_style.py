"""CSS that changes the glyphs drawn but not the text layer is refused on labelled values: the image
would read "BRYANT LLC" while the PDF text and the label say "Bryant LLC", and verification (which
reads the text layer) could not see it. Each such property is its own case; the same CSS on an
unlabelled element is fine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docfactory.cli import app

BUILTIN = Path(__file__).resolve().parents[2] / "docfactory" / "templates"
LABELLED = '<div class="brand-name" data-field="store.name">'


def styled_copy(tmp_path: Path, css: str, labelled: bool = True) -> Path:
    folder = tmp_path / "tpl" / "receipt_styled"
    shutil.copytree(BUILTIN / "receipt_shop", folder)
    html = folder / "template.html.j2"
    text = html.read_text()
    assert LABELLED in text
    if labelled:
        text = text.replace(LABELLED, LABELLED.replace('data-field', f'style="{css}" data-field'))
    else:
        text = text.replace(LABELLED, f'<div style="{css}">Thank you</div>' + LABELLED)
    html.write_text(text)
    return folder


@pytest.mark.parametrize("css, prop", [
    ("font-variant: all-small-caps", "font-variant-caps: all-small-caps"),
    ("font-variant-caps: small-caps", "font-variant-caps: small-caps"),
    ("font-feature-settings: 'smcp'", "font-feature-settings: smcp 1"),
    ("letter-spacing: 0.4em", "letter-spacing"),
])
def test_glyph_changing_css_on_a_labelled_value_is_refused(tmp_path, css, prop):
    folder = styled_copy(tmp_path, css)
    result = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["templates", "validate", str(folder), "--samples", "1"])
    assert result.exit_code == 1
    assert 'data-field="store.name" has ' + prop in result.output
    line = next(i for i, l in enumerate((folder / "template.html.j2").read_text().splitlines(), 1) if 'data-field="store.name"' in l)
    assert f"template.html.j2:{line}" in result.output


def test_the_same_css_on_an_unlabelled_element_is_fine(tmp_path):
    folder = styled_copy(tmp_path, "font-variant: all-small-caps; letter-spacing: 0.4em", labelled=False)
    result = CliRunner().invoke(app, ["templates", "validate", str(folder), "--samples", "1"])
    assert result.exit_code == 0, result.output
