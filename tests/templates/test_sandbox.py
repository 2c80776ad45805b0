"""The Jinja sandbox and the layout engine: a template cannot read files, environment variables
or Python internals, cannot fetch URLs, and cannot exhaust memory with one operator. Each attempt
is rejected with one TemplateError naming the template file and line, and no file outside the
template folder is ever opened."""

from __future__ import annotations

import re
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.generators.template_check import check_template
from docfactory.templates import BUILTIN_DIR, TemplateError, load_template

ANCHOR = "<h1>"  # the payload goes right after the invoice title

# payload -> what the error says (after the file and line)
JINJA_ESCAPES = {
    "include_absolute": ("{% include '/etc/passwd' %}", "SecurityError: '/etc/passwd' is outside the template folder"),
    "include_parent": ("{% include '../invoice_modern/template.html.j2' %}", "SecurityError: '../invoice_modern"),
    "include_choice": ("{% include ['missing.j2', '/etc/hostname'] %}", "SecurityError: '/etc/hostname'"),
    "import": ("{% import '/etc/passwd' as p %}", "SecurityError: '/etc/passwd'"),
    "from_import": ("{% from '../../engine/config.py' import x %}", "SecurityError: '../../engine/config.py'"),
    "extends": ("{% extends '/proc/self/environ' %}", "SecurityError: '/proc/self/environ'"),
    "str_mro": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "SecurityError: access to attribute '__class__'"),
    "cycler_globals": ("{{ cycler.__init__.__globals__.os.environ }}", "SecurityError: access to attribute '__init__'"),
    "joiner_globals": ("{{ joiner.__init__.__globals__ }}", "SecurityError: access to attribute '__init__'"),
    "namespace_globals": ("{{ namespace.__init__.__globals__ }}", "SecurityError: access to attribute '__init__'"),
    "lipsum_globals": ("{{ lipsum.__globals__['os'].environ }}", "SecurityError: access to attribute '__globals__'"),
    "template_reference": ("{{ self._TemplateReference__context }}", "SecurityError: access to attribute '_TemplateReference__context'"),
    "translator_globals": ("{{ t.__call__.__globals__ }}", "SecurityError: access to attribute '__call__'"),
    "translator_table": ("{{ t._table.update({}) }}", "SecurityError: access to attribute '_table'"),
    "translator_unknown": ("{{ t.unknown.add('x') }}", "SecurityError: access to attribute 'add'"),
    "record_class": ("{{ knobs.__class__.__init__.__globals__ }}", "SecurityError: access to attribute '__"),
    "format_escape": ("{{ '{0.__class__.__mro__}'.format(knobs) }}", "SecurityError: access to attribute '__class__'"),
    "attr_filter": ("{{ knobs|attr('__class__') }}", "SecurityError: access to attribute '__class__'"),
    "mutate_content": ("{{ doc['items'].append(1) }}", "SecurityError: access to attribute 'append'"),
    "mutate_dict": ("{{ doc.update({}) }}", "SecurityError: access to attribute 'update'"),
    "memory_repeat": ("{{ 'x' * 10 ** 9 }}", "SecurityError: repeating a str of 1 x 1000000000 is too large"),
    "cpu_power": ("{{ 7 ** 100000000 }}", "SecurityError: exponent 100000000 is too large"),
    "range_bomb": ("{{ range(10 ** 9) | list }}", "OverflowError: Range too big"),
}
UNDEFINED = ["config", "request", "os", "environ", "__builtins__", "self.__dict__", "cycler.__module__"]
# A template may not make WeasyPrint read a file or fetch a URL: (file, payload, where it goes).
FETCHES = {
    "img_file": ("template.html.j2", '<img src="file:///etc/passwd">', ANCHOR),
    "img_relative": ("template.html.j2", '<img src="secret.png">', ANCHOR),  # resolved against the cwd
    "stylesheet_link": ("template.html.j2", '<link rel="stylesheet" href="/etc/passwd">', ANCHOR),
    "img_http": ("template.html.j2", '<img src="http://127.0.0.1:9/pixel.png">', ANCHOR),
    "css_import": ("style.css", "@import url(/etc/passwd);\n", ""),
    "css_background": ("style.css", "h1 { background: url(file:///etc/hostname); }\n", ""),
}


def _template(tmp_path: Path, file: str, payload: str, anchor: str = ANCHOR) -> Path:
    folder = tmp_path / "sandboxed"
    shutil.copytree(BUILTIN_DIR / "invoice_classic", folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    if anchor:
        assert anchor in text
        text = text.replace(anchor, anchor + payload, 1)
    else:
        text = payload + text
    path.write_text(text, encoding="utf-8")
    return folder


def _line_of(path: Path, payload: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if payload.strip() in line)


_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    # An audit hook cannot be removed; it records only while a test listens.
    if _opened is not None and event == "open" and isinstance(args[0], str):
        _opened.append(args[0])
    elif _opened is not None and event in ("urllib.Request", "socket.connect"):
        _opened.append(f"URL {event}: {args[0]!r}")


sys.addaudithook(_audit)


@contextmanager
def files_opened():
    global _opened
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None


def _outside(opened: list[str]) -> list[str]:
    """Files the check opened that a template could have asked for (not the Python, font and
    library files the process itself loads)."""
    watched = ("/etc/passwd", "/etc/hostname", "/proc/self/environ", "secret.png", "invoice_modern/template.html.j2")
    return [p for p in opened if p.startswith("URL ") or any(p.endswith(w) for w in watched)]


@pytest.mark.parametrize("case", sorted(JINJA_ESCAPES))
def test_jinja_escape_is_a_security_error_naming_the_file(case, tmp_path):
    payload, message = JINJA_ESCAPES[case]
    folder = _template(tmp_path, "template.html.j2", payload)
    html = folder / "template.html.j2"
    with files_opened() as opened, pytest.raises(TemplateError) as raised:
        check_template(load_template(folder))
    assert str(raised.value).startswith(f"{html}:{_line_of(html, payload)}: "), raised.value
    assert message in str(raised.value)
    assert _outside(opened) == []


@pytest.mark.parametrize("name", UNDEFINED)
def test_names_outside_the_context_are_undefined(name, tmp_path):
    payload = "{{ " + name + " }}"
    folder = _template(tmp_path, "template.html.j2", payload)
    html = folder / "template.html.j2"
    with pytest.raises(TemplateError) as raised:
        check_template(load_template(folder))
    assert str(raised.value).startswith(f"{html}:{_line_of(html, payload)}: "), raised.value
    assert re.search(r"(UndefinedError|SecurityError): ", str(raised.value)), raised.value


@pytest.mark.parametrize("case", sorted(FETCHES))
def test_layout_never_reads_a_file_or_fetches_a_url(case, tmp_path, monkeypatch):
    file, payload, anchor = FETCHES[case]
    folder = _template(tmp_path, file, payload, anchor)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.png").write_bytes(b"not for templates")
    with files_opened() as opened, pytest.raises(TemplateError) as raised:
        check_template(load_template(folder))
    path = folder / file
    assert str(raised.value).startswith(f"{path}:{_line_of(path, payload)}: "), raised.value
    assert "templates cannot load files or URLs" in str(raised.value)
    assert _outside(opened) == []


def test_the_audit_hook_sees_what_plain_weasyprint_would_read(tmp_path):
    """Why the layout needs its own URL fetcher, and proof that the hook above can see a read."""
    import weasyprint

    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for templates")
    with files_opened() as opened:
        weasyprint.HTML(string=f'<img src="{secret.as_uri()}"><p>x</p>').render()
    assert str(secret) in _outside(opened)


def test_an_inline_data_url_is_allowed(tmp_path):
    """data: URLs read nothing, so a template may embed a small image inline."""
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWj"
             "R9awAAAABJRU5ErkJggg==")
    folder = _template(tmp_path, "template.html.j2", f'<img src="{pixel}" alt="">')
    check_template(load_template(folder))


def test_a_sibling_template_file_may_still_be_included(tmp_path):
    folder = _template(tmp_path, "template.html.j2", "{% include 'title.j2' %}")
    (folder / "title.j2").write_text("{{ t('Invoice') }} ", encoding="utf-8")
    check_template(load_template(folder))


def test_cli_validate_prints_one_error_and_no_traceback(tmp_path):
    folder = _template(tmp_path, "template.html.j2", "{{ lipsum.__globals__ }}")
    result = CliRunner().invoke(app, ["templates", "validate", str(folder)])
    output = (result.stderr if hasattr(result, "stderr") else result.output)
    assert result.exit_code == 1
    assert "Traceback" not in output and output.count("error:") == 1, output
    assert f"{folder / 'template.html.j2'}:" in output.replace("\n", "") and "SecurityError" in output
