"""Find templates: the built-in folders beside this file plus any user folders.

A template is a folder holding template.yaml, template.html.j2 and style.css (and optionally
captions.yaml, its own caption translations: captions.py). A user directory
may be one template folder or a folder of them. A template that fails to load is kept as an
error (file and line) so one broken template never hides the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml
from jinja2 import FunctionLoader, StrictUndefined, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape
from pydantic import ValidationError

from docfactory.templates.captions import load_captions
from docfactory.templates.casing import case_filters
from docfactory.templates.schema import TemplateConfig

BUILTIN_DIR = Path(__file__).resolve().parent
HTML_FILE, CSS_FILE, YAML_FILE = "template.html.j2", "style.css", "template.yaml"


class TemplateError(Exception):
    """A problem in a template's files: always names the file, and the line when there is one."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        self.path, self.message, self.line = str(path), message, line
        super().__init__(f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}")


class UnknownTemplate(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


MAX_SEQUENCE = 1_000_000  # longest string or list a template may build with `*` (a page is ~20 KB of HTML)
MAX_EXPONENT = 256  # largest `**` exponent on an integer: 7 ** 100000000 has 84 million digits


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (no attributes starting with '_', no mutating methods, no
    str.format escapes), plus limits on the two operators that can exhaust memory or CPU alone."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, int) and right > MAX_EXPONENT and isinstance(left, int) and abs(left) > 1:
            raise SecurityError(f"exponent {right} is too large (limit {MAX_EXPONENT})")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
                    raise SecurityError(f"repeating a {type(seq).__name__} of {len(seq)} x {times} is too large "
                                        f"(limit {MAX_SEQUENCE})")
        return super().call_binop(context, operator, left, right)


def _sandbox(folder: Path) -> ImmutableSandboxedEnvironment:
    # Only the folder's own .j2 files can be loaded (so `{% include %}` reaches nothing else); the
    # loader reports real paths so runtime errors point at the template file and line.
    allowed = {p.name: p for p in folder.glob("*.j2")}

    def load(name: str):
        if "/" in name or "\\" in name or name.startswith(".."):
            raise SecurityError(f"{name!r} is outside the template folder: include, import and extend "
                                f"can only name this folder's .j2 files ({', '.join(sorted(allowed))})")
        path = allowed.get(name)
        if path is None:
            return None
        return _read_text(path), str(path), lambda: True

    env = _Sandbox(loader=FunctionLoader(load), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["br"] = _line_breaks
    env.filters.update(case_filters())  # `| upper` on a value: its label records the capitals
    return env


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(path, f"not UTF-8 text (byte {exc.start})", data[:exc.start].count(b"\n") + 1) from None


def _line_breaks(value) -> Markup:
    """`{{ doc.buyer.address | br }}`: a multi-line value printed with <br> between its lines."""
    return Markup("<br>").join(escape(line) for line in str(value).split("\n"))


@dataclass
class Template:
    name: str
    folder: Path
    config: TemplateConfig
    css: str
    env: ImmutableSandboxedEnvironment = field(repr=False)
    captions: dict[str, dict[str, str]] = field(default_factory=dict)  # captions.yaml: caption -> {locale: text}

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def html_path(self) -> Path:
        return self.folder / HTML_FILE

    def render_html(self, **context) -> str:
        """Run the Jinja template; a runtime error becomes a TemplateError with file and line."""
        try:
            return self.env.get_template(HTML_FILE).render(**context)
        except TemplateError:
            raise
        except Exception as exc:  # Jinja's UndefinedError, SecurityError, TypeError from a filter…
            raise TemplateError(self.html_path, f"{type(exc).__name__}: {exc}{_hint(exc)}",
                                _template_line(exc, self.html_path)) from exc


def _hint(exc: BaseException) -> str:
    """What to do instead, for the sandbox errors an author meets first."""
    text = str(exc)
    if isinstance(exc, SecurityError) and "is unsafe" in text and any(m in text for m in ("append", "update", "extend",
                                                                                            "insert", "pop", "setdefault")):
        return ("; templates run in Jinja's immutable sandbox: lists and dicts cannot be changed. Build a new one "
                "instead ({% set xs = xs + [x] %}), or keep a counter in a namespace ({% set ns = namespace(n=0) %}"
                "{% set ns.n = ns.n + 1 %})")
    return ""


def _template_line(exc: BaseException, path: Path) -> int | None:
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def load_template(folder: Path) -> Template:
    folder = Path(folder).resolve()
    for required in (YAML_FILE, HTML_FILE, CSS_FILE):
        if not (folder / required).is_file():
            raise TemplateError(folder / required, "missing: a template folder needs template.yaml, template.html.j2 and style.css")
    config = _read_config(folder / YAML_FILE)
    env = _sandbox(folder)
    try:
        env.get_template(HTML_FILE)  # compile now: syntax errors surface at load, with their line
    except TemplateSyntaxError as exc:
        raise TemplateError(folder / HTML_FILE, f"Jinja syntax error: {exc.message}", exc.lineno) from exc
    except (RecursionError, SyntaxError) as exc:  # Jinja's parser recurses per nesting level; Python's compiler
        # then allows ~100 nested blocks in the code Jinja generates
        raise TemplateError(folder / HTML_FILE, "Jinja: blocks or expressions nested too deeply to compile "
                            f"({type(exc).__name__})") from None
    return Template(folder.name, folder, config, _read_text(folder / CSS_FILE), env, load_captions(folder))


def _read_config(path: Path) -> TemplateConfig:
    text = _read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateError(path, f"invalid YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None) from exc
    except RecursionError:
        raise TemplateError(path, "invalid YAML: nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise plain errors: version: 2020-13-45
        raise TemplateError(path, f"invalid YAML value: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateError(path, "expected a mapping of keys (kind, version, fonts, fields, ...)")
    try:
        return TemplateConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return_line = yaml_line(text, [str(p) for p in err["loc"]])
        raise TemplateError(path, f"{where}: {err['msg']}", return_line) from exc


def yaml_line(text: str, keys: list[str]) -> int | None:
    """Best-effort line of a nested key in a YAML file (the last key that can be found)."""
    line = None
    start = 0
    lines = text.splitlines()
    for key in keys:
        pattern = re.compile(r"^\s*['\"]?" + re.escape(key) + r"['\"]?\s*:")
        for i in range(start, len(lines)):
            if pattern.match(lines[i]):
                line, start = i + 1, i + 1
                break
    return line


class TemplateRegistry:
    """All templates by name. `get` raises with the known names; `errors` holds broken ones."""

    def __init__(self, extra_dirs: Iterable[Path | str] = (), include_builtin: bool = True):
        self.templates: dict[str, Template] = {}
        self.errors: dict[str, TemplateError] = {}
        self._first: dict[str, Path] = {}  # name -> the folder that registered it first
        roots = ([BUILTIN_DIR] if include_builtin else []) + [Path(d) for d in extra_dirs]
        for root in roots:
            if not root.is_dir():
                raise TemplateError(root, "template directory not found")
            folders = [root] if (root / YAML_FILE).exists() else sorted(p for p in root.iterdir() if (p / YAML_FILE).exists())
            for folder in folders:
                self._add(folder)

    def _add(self, folder: Path) -> None:
        name = folder.name
        if self._first.get(name) == folder.resolve():
            return  # the same folder reached twice (e.g. --templates . inside the built-in folder): one template
        if name in self.templates or name in self.errors:
            first = self._first.get(name)
            hint = ""
            if first is not None and first.parent == BUILTIN_DIR:
                hint = (f"; {name!r} is a built-in template: rename your copy (engine templates new NAME --from "
                        f"{name}), and give --templates the folder holding your templates, not the built-in one")
            self.errors[name] = TemplateError(folder, f"duplicate template name {name!r} (also in {first or 'another folder'})"
                                                      f": names must be unique across directories{hint}")
            self.templates.pop(name, None)
            return
        self._first[name] = folder.resolve()
        try:
            self.templates[name] = load_template(folder)
        except TemplateError as exc:
            self.errors[name] = exc

    def names(self) -> list[str]:
        return sorted(self.templates)

    def get(self, name: str) -> Template:
        if name in self.errors:
            raise self.errors[name]
        try:
            return self.templates[name]
        except KeyError:
            raise UnknownTemplate(f"unknown template {name!r} (known: {', '.join(self.names())})") from None
