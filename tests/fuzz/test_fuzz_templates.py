"""A built-in template's Jinja, CSS and YAML, randomly mutated: the registry loads it or keeps one
TemplateError naming the file, and `engine templates validate DIR` accepts it or prints one error
naming the file — never a traceback, never a hang."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.templates import BUILTIN_DIR, TemplateRegistry

FUZZ = dict(derandomize=True, database=None)
BASE = BUILTIN_DIR / "invoice_classic"
NAME = "fuzzed"  # not a built-in name, so the folder is not a duplicate

JINJA = ["{{", "}}", "{%", "%}", "{#", "#}", "{% if doc.total %}", "{% endif %}", "{% for i in range(3) %}",
         "{% endfor %}", "{{ doc.total }}", "{{ doc.nope }}", "{{ doc['items'][99] }}", "{{ 1 / 0 }}",
         "{{ doc.total | nofilter }}", "{{ doc.total | br }}", "{% include 'template.html.j2' %}",
         "{% include 'missing.j2' %}", "{% extends 'template.html.j2' %}", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
         "{% set x = 1 %}", "{% raw %}", "{% endraw %}", "{{ ''.__class__ }}", "{{ range(100000) | join }}",
         "{{ 'x' * 100000 }}", 'data-field="', 'data-field="total"', 'data-field="nope"', 'data-table="items"',
         '"', "'", "<", ">", "</div>", "<div>", "<table>", "</table>", "<tr>", "<td>", "</td>", "<!--", "-->",
         '<img src="x.png">', "\x00", "é", "\n", "{{ knobs.font }}", "{{ t('Total') }}",
         '<div style="display:none" data-field="total">x</div>']
CSS = ["{", "}", ";", ":", "/*", "*/", "\\", "'", '"', 'font-family: "Nope Sans";', "font-family:",
       'font-family: "DejaVu Sans", serif;', "@media print {", "@page { size: 40mm 40mm; }", "display: none;",
       "visibility: hidden;", "position: absolute; left: -9999px;", "font-size: 0;", "font-size: 90px;",
       "overflow: hidden; height: 0;", "content: 'x';", "!important", "body { transform: rotate(45deg) }",
       "td { display: block }", "table { display: none }", "@import 'x.css';", "background: url(x.png);",
       "\x00", "é", "\n"]
YAML = ["\n", ": ", "- ", "  ", "\t", "[", "]", "{", "}", "&a ", "*a", "!!timestamp ", "!!int ", "2020-13-45",
        "~", "null", "type: money", "type: nope", "version: ", "kind: receipt", "kind: nope", "fonts: []",
        "n_items: [5, 1]", "knobs: [nope]", "extra_key: 1", "provider: nope", "provider: bothify",
        "args: {text: '##'}", "args: {nope: 1}", "'", '"', "#", "\x00", "é"]
TOKENS = {"template.html.j2": JINJA, "style.css": CSS, "template.yaml": YAML}
BYTES = [b"\xff", b"\xc3", b"\x80", b"\xfe\xff"]


@st.composite
def mutations(draw) -> tuple[str, bytes]:
    """(file, its mutated bytes): tokens inserted, spans deleted, lines duplicated, a cut, bad bytes."""
    file = draw(st.sampled_from(sorted(TOKENS)))
    data = (BASE / file).read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "insert", "insert", "delete", "duplicate_line", "truncate", "bytes"]))
        if action == "insert":
            data = data[:at] + draw(st.sampled_from(TOKENS[file])).encode("utf-8") + data[at:]
        elif action == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)):]
        elif action == "duplicate_line":
            start, end = data.rfind(b"\n", 0, at) + 1, data.find(b"\n", at)
            line = data[start:] if end < 0 else data[start:end + 1]
            data = data[:start] + line + data[start:]
        elif action == "truncate":
            data = data[:at]
        else:
            data = data[:at] + draw(st.sampled_from(BYTES)) + data[at:]
    return file, data


def _folder(tmp_path_factory, file: str, data: bytes) -> Path:
    folder = tmp_path_factory.mktemp("tpl") / NAME
    shutil.copytree(BASE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / file).write_bytes(data)
    return folder


def _names_a_file(message: str, folder: Path) -> bool:
    files = "|".join(re.escape(f) for f in TOKENS)
    return re.match(rf"{re.escape(str(folder))}/({files})(:\d+)?: \S", message) is not None


@settings(max_examples=100, deadline=5000, **FUZZ)
@given(mutation=mutations())
@example(mutation=("template.yaml", (BASE / "template.yaml").read_bytes().replace(b"version:", b"version: 2020-13-45 #")))
@example(mutation=("template.yaml", b"\xff" + (BASE / "template.yaml").read_bytes()))  # found: UnicodeDecodeError
@example(mutation=("style.css", b"\xc3" + (BASE / "style.css").read_bytes()))  # found: UnicodeDecodeError
@example(mutation=("template.html.j2", (BASE / "template.html.j2").read_bytes() + b"\x80"))  # found: UnicodeDecodeError
@example(mutation=("template.html.j2", (BASE / "template.html.j2").read_bytes().replace(
    b"<h1>", b"<h1>" + b"{% if 1 %}" * 400 + b"{% endif %}" * 400, 1)))  # found: RecursionError crashed the registry
@example(mutation=("template.html.j2", (BASE / "template.html.j2").read_bytes().replace(
    b"<h1>", b"<h1>{{ 1" + b" + 1" * 3000 + b" }}", 1)))  # found: RecursionError crashed the registry
def test_registry_loads_it_or_keeps_one_error_naming_the_file(mutation, tmp_path_factory, time_limit):
    folder = _folder(tmp_path_factory, *mutation)
    with time_limit(20):
        registry = TemplateRegistry([folder], include_builtin=False)
    assert set(registry.templates) | set(registry.errors) == {NAME}
    event("loaded" if NAME in registry.templates else str(registry.errors[NAME]).split(": ", 1)[1][:30])
    if NAME in registry.errors:
        assert _names_a_file(str(registry.errors[NAME]), folder), registry.errors[NAME]


@settings(max_examples=12, deadline=None, **FUZZ)
@given(mutation=mutations())
@example(mutation=("style.css", b"@import url(/etc/passwd);\n" + (BASE / "style.css").read_bytes()))  # found: InvalidValues
@example(mutation=("template.yaml", (BASE / "template.yaml").read_bytes().replace(b"{type: id}", b"{type: id, provider: nope}", 1)))
def test_validate_accepts_it_or_prints_one_error_naming_the_file(mutation, tmp_path_factory, time_limit):
    folder = _folder(tmp_path_factory, *mutation)
    with time_limit(60):
        result = CliRunner().invoke(app, ["templates", "validate", str(folder)])
    output = (result.stderr if hasattr(result, "stderr") else result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output
    event("accepted" if result.exit_code == 0 else output.replace("\n", "").split(": ", 2)[-1][:40])
    if result.exit_code == 0:
        assert f"ok {NAME}" in result.output
    else:
        assert result.exit_code == 1
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, output
        assert _names_a_file(output.replace("\n", "").removeprefix("error: "), folder), output


def test_the_engine_command_itself_prints_one_line_per_broken_template(tmp_path):
    """The real `engine` process (no test runner in between), under a subprocess time limit: one
    `error:` line per broken template, each naming its file, and no traceback."""
    import subprocess
    import sys

    root = tmp_path / "templates"
    broken = {"not_utf8": ("template.yaml", b"\xff"), "too_deep": ("template.html.j2", b"{% if 1 %}" * 400),
              "bad_date": ("template.yaml", b"version: 2020-13-45\n")}
    for name, (file, data) in broken.items():
        shutil.copytree(BASE, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        (root / name / file).write_bytes(data + (BASE / file).read_bytes())
    engine = Path(sys.executable).with_name("engine")
    done = subprocess.run([str(engine), "templates", "validate", str(root)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == len(broken), done.stderr
    for name, (file, _) in broken.items():
        assert f"{root / name / file}" in done.stderr.replace("\n", ""), done.stderr
