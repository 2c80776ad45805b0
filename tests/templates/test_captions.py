"""A template's captions.yaml: its own caption translations, merged over the built-in ones for that
template only; a caption with no translation for a locale the template prints is a warning from
`engine templates validate` naming the file, line and caption, not a silent English word."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.generators import generate_pages
from docfactory.generators.caption_check import unknown_captions
from docfactory.generators.locales import LOCALES
from docfactory.records import DocSpec, Knobs
from docfactory.templates import BUILTIN_DIR, TemplateError, TemplateRegistry

FOOTER = '<div class="thanks">'
CAPTIONS = """\
Loyalty card:
  de_DE: Kundenkarte
Total:             # over the built-in "Gesamt", for this template only
  de_DE: Summe
"""


def loyalty_copy(tmp_path: Path, captions: str | None = CAPTIONS) -> Path:
    """receipt_shop printing two new captions: one translated in its captions.yaml, one nowhere."""
    folder = tmp_path / "tpl" / "receipt_loyal"
    shutil.copytree(BUILTIN_DIR / "receipt_shop", folder)
    html = folder / "template.html.j2"
    html.write_text(html.read_text().replace(FOOTER, '<div>{{ t("Loyalty card") }}</div>\n'
                                                     '<div>{{ t("Members save more") }}</div>\n  ' + FOOTER))
    if captions is not None:
        (folder / "captions.yaml").write_text(captions, encoding="utf-8")
    return folder


def page_text(registry: TemplateRegistry, name: str, locale: str) -> str:
    loc = LOCALES[locale]
    knobs = Knobs(locale=locale, currency=loc.default_currency, n_items=3, tax_rate=loc.tax_rates[0],
                  discount_rate="0", font="Liberation Sans", dpi=72)
    records, rejected = generate_pages([DocSpec(f"cap-{name}-{locale}", name, 4, knobs)], registry)
    assert rejected == [], [r.reason for r in rejected]
    return " ".join(line.text for line in records[0].lines)


def test_captions_yaml_translates_for_its_template_only(tmp_path):
    registry = TemplateRegistry([loyalty_copy(tmp_path)])
    german = page_text(registry, "receipt_loyal", "de_DE")
    assert "Kundenkarte" in german and "Summe" in german and "Gesamt" not in german
    assert "Members save more" in german  # unknown: printed as written (and warned about, below)
    assert "Gesamt" in page_text(registry, "receipt_shop", "de_DE")  # the built-in table is untouched
    assert "Loyalty card" in page_text(registry, "receipt_loyal", "fr_FR")  # no fr_FR text: as written


def test_validate_warns_about_unknown_captions_with_file_and_line(tmp_path):
    folder = loyalty_copy(tmp_path)
    result = CliRunner(env={"COLUMNS": "300"}).invoke(app, ["templates", "validate", str(folder), "--samples", "1"])
    assert result.exit_code == 0, result.output  # a warning: the pages still verify
    output = result.output.replace("\n", "")
    line = next(i for i, l in enumerate((folder / "template.html.j2").read_text().splitlines(), 1) if "Members save" in l)
    assert (f"warning: {folder}/template.html.j2:{line}: caption 'Members save more' has no de_DE, fr_FR "
            "translation") in output
    assert "caption 'Loyalty card' has no fr_FR translation" in output
    assert "caption 'Total'" not in output  # built in for fr_FR, and in captions.yaml for de_DE


def test_a_caption_asked_for_by_a_variable_is_found_by_rendering(tmp_path):
    folder = loyalty_copy(tmp_path, captions=None)
    yaml_path = folder / "template.yaml"
    yaml_path.write_text(yaml_path.read_text() + "choices:\n  greeting: [Welcome back]\n")
    html = folder / "template.html.j2"
    html.write_text(html.read_text().replace(FOOTER, "<div>{{ t(choice.greeting) }}</div>\n  " + FOOTER))
    gaps = {gap.caption: gap for gap in unknown_captions(TemplateRegistry([folder.parent]).get("receipt_loyal"))}
    assert set(gaps) == {"Loyalty card", "Members save more", "Welcome back"}
    assert gaps["Welcome back"].locales == ("de_DE", "fr_FR") and gaps["Welcome back"].path == html


def test_every_builtin_caption_has_its_translations(registry):
    for name in registry.names():
        assert unknown_captions(registry.get(name)) == [], name


@pytest.mark.parametrize("text, where, message", [
    ("Loyalty card: Kundenkarte\n", 1, "expected a mapping of locale -> text"),
    ("Loyalty card:\n  german: Kundenkarte\n", 2, "locale names look like de_DE"),
    ("Loyalty card:\n  de_DE: ''\n", 2, "must be a non-empty string"),
    ("- Loyalty card\n", None, "expected a mapping: caption -> {locale: text}"),
])
def test_a_malformed_captions_yaml_names_its_file_and_line(tmp_path, text, where, message):
    folder = loyalty_copy(tmp_path, captions=text)
    registry = TemplateRegistry([folder.parent])
    with pytest.raises(TemplateError) as error:
        registry.get("receipt_loyal")
    assert error.value.path == str(folder / "captions.yaml") and error.value.line == where
    assert message in error.value.message
