"""`engine templates validate` renders seeded samples and runs the full verification, so a template
that `generate` would reject never validates "ok"; and `generate` exits non-zero when a template had
every document rejected."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from docfactory.cli import app

BUILTIN = Path(__file__).resolve().parents[2] / "docfactory" / "templates"


def broken_copy(tmp_path: Path) -> Path:
    """receipt_shop whose total prints a character its label does not have: every document fails."""
    folder = tmp_path / "tpl" / "receipt_bang"
    shutil.copytree(BUILTIN / "receipt_shop", folder)
    html = folder / "template.html.j2"
    text = html.read_text()
    assert '<td data-field="total">{{ doc.total }}</td>' in text
    html.write_text(text.replace('<td data-field="total">{{ doc.total }}</td>', '<td data-field="total">{{ doc.total }}!</td>'))
    return folder


def test_validate_fails_where_generate_would_reject(tmp_path):
    folder = broken_copy(tmp_path)
    result = CliRunner(env={"COLUMNS": "300"}).invoke(app, ["templates", "validate", str(folder), "--samples", "2"])
    assert result.exit_code == 1
    assert "rejected at verify: field total: label" in result.output and "but the PDF has" in result.output
    assert "2 of 2 sample documents rejected" in result.output
    line = next(i for i, l in enumerate((folder / "template.html.j2").read_text().splitlines(), 1) if 'data-field="total"' in l)
    assert f"error: {folder}/template.html.j2:{line}: receipt_bang:" in result.output.replace("\n", "")
    ok = CliRunner().invoke(app, ["templates", "validate", "receipt_shop", "--samples", "2"])
    assert ok.exit_code == 0 and "2 sample documents verified" in ok.output


def test_generate_exits_non_zero_when_a_template_had_every_document_rejected(tmp_path):
    folder = broken_copy(tmp_path)
    out = tmp_path / "run"
    result = CliRunner(env={"COLUMNS": "300"}).invoke(app, ["generate", "--n", "2", "--out", str(out), "--templates",
                                                           str(folder.parent), "--template", "receipt_bang", "--workers", "1"])
    assert result.exit_code == 1
    assert "template receipt_bang: every one of its 2 documents was rejected" in result.output


def test_fields_lists_a_kinds_fields_with_types_and_examples():
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["templates", "fields", "receipt"])
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if "store.company" in l)
    assert "text" in line and "receipt_pos" in line and "receipt_shop" in line
    assert next(l for l in result.output.splitlines() if " total " in l).count("money") == 1
    bad = CliRunner().invoke(app, ["templates", "fields", "letter"])
    assert bad.exit_code == 1 and "unknown kind 'letter'" in bad.output


def test_the_sandbox_says_what_to_do_instead_of_append(tmp_path):
    folder = tmp_path / "tpl" / "receipt_append"
    shutil.copytree(BUILTIN / "receipt_shop", folder)
    html = folder / "template.html.j2"
    html.write_text("{% set xs = [] %}{{ xs.append(1) }}\n" + html.read_text())
    result = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["templates", "validate", str(folder), "--samples", "1"])
    assert result.exit_code == 1
    assert "immutable sandbox" in result.output and "namespace(" in result.output and "template.html.j2:1" in result.output


def test_the_builtin_folder_given_as_templates_is_not_a_duplicate(monkeypatch):
    monkeypatch.chdir(BUILTIN)
    result = CliRunner().invoke(app, ["templates", "validate", "receipt_shop", "--templates", ".", "--samples", "1"])
    assert result.exit_code == 0, result.output
