"""Each broken template gives one clear error naming its file (and line), exit != 0, nothing
written for it, and the other templates unaffected."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.catalog import open_catalog
from docfactory.templates import BUILTIN_DIR

runner = CliRunner()


def _broken(tmp_path: Path, name: str, file: str, old: str, new: str) -> Path:
    root = tmp_path / "user_templates"
    folder = root / name
    shutil.copytree(BUILTIN_DIR / "invoice_classic", folder)
    path = folder / file
    text = path.read_text()
    assert old in text, f"mutation anchor {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))
    return root


CASES = {
    # name: (file, old, new, file named in the error, expects a line number, message fragment)
    "jinja_syntax": ("template.html.j2", "{% for item in doc[\"items\"] %}", "{% for item in doc[\"items\"] %", "template.html.j2", True, "Jinja syntax error"),
    "undeclared_field": ("template.html.j2", 'data-field="seller.email"', 'data-field="seller.fax"', "template.html.j2", True, "not declared"),
    "never_rendered": ("template.html.j2", '<div class="small" data-field="seller.email">{{ doc.seller.email }}</div>', "", "template.yaml", True, "never rendered"),
    "unknown_type": ("template.yaml", "invoice_number: {type: id}", "invoice_number: {type: serial}", "template.yaml", True, "unknown field type"),
    "unknown_font": ("style.css", 'font-family: "Liberation Sans";', 'font-family: "Comic Papyrus";', "style.css", True, "unknown font family"),
    "python_internals": ("template.html.j2", "<h1>", "<h1>{{ doc.__class__.__mro__[1].__subclasses__() }}", "template.html.j2", True, "SecurityError"),
    "read_file": ("template.html.j2", "<h1>", "<h1>{% include '/etc/passwd' %}", "template.html.j2", True, "SecurityError"),
    "environment": ("template.html.j2", "<h1>", "<h1>{{ os.environ }}", "template.html.j2", True, "UndefinedError"),
    "unknown_locale": ("template.yaml", "kind: invoice\n", "kind: invoice\nlocales: [xx_XX]\n", "template.yaml", True, "unknown locales"),
    "locale_name": ("template.yaml", "kind: invoice\n", "kind: invoice\nlocales: [malay]\n", "template.yaml", True, "locale names look like"),
    "empty_choice": ("template.yaml", "kind: invoice\n", "kind: invoice\nchoices: {rule: []}\n", "template.yaml", True, "no options"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_names_file_and_line(case, tmp_path):
    file, old, new, named, has_line, fragment = CASES[case]
    name = f"broken_{case}"
    root = _broken(tmp_path, name, file, old, new)
    result = runner.invoke(app, ["templates", "validate", str(root / name)])
    assert result.exit_code != 0
    message = result.stderr if hasattr(result, "stderr") else result.output
    expected = re.escape(str((root / name / named).resolve())) + (r":\d+: " if has_line else ": ")
    assert re.search(expected, message.replace("\n", "")), message
    assert fragment in message.replace("\n", " "), message


@pytest.mark.parametrize("case", ["undeclared_field", "python_internals"])
def test_generate_skips_the_broken_template_and_keeps_the_others(case, tmp_path):
    file, old, new, *_ = CASES[case]
    name = f"broken_{case}"
    root = _broken(tmp_path, name, file, old, new)
    run = tmp_path / "run"
    result = runner.invoke(app, ["generate", "--n", "6", "--out", str(run), "--workers", "1", "--templates", str(root)])
    assert result.exit_code == 1, result.output
    assert name in (result.stderr if hasattr(result, "stderr") else result.output)
    with open_catalog(run, read_only=True) as catalog:
        templates = {t for (t,) in catalog.sql("SELECT DISTINCT template FROM documents").fetchall()}
        docs = catalog.sql("SELECT count(DISTINCT doc_id) FROM documents").fetchone()[0]
    assert name not in templates and docs == 6


def test_sandbox_blocks_file_and_internals_at_render(tmp_path):
    """The sandbox itself, not only validation: a direct render raises a TemplateError."""
    from docfactory.templates import TemplateError, load_template

    root = _broken(tmp_path, "sneaky", "template.html.j2", "<h1>", "<h1>{{ t.__globals__ }}")
    template = load_template(root / "sneaky")
    with pytest.raises(TemplateError, match="template.html.j2:"):
        template.render_html(doc={}, knobs=None, t=lambda s: s)


def test_unknown_template_name_lists_known_ones():
    result = runner.invoke(app, ["templates", "show", "no_such_template"])
    assert result.exit_code == 1
    assert "invoice_classic" in (result.stderr if hasattr(result, "stderr") else result.output)
