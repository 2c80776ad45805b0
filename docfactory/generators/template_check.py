"""Checks a template before it is used: its fonts exist, and a sample document renders with every
declared field visible and every data-field declared. Errors name the file and line."""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache

import tinycss2

from docfactory.generators.locales import LOCALES
from docfactory.generators.spec import template_locales
from docfactory.records import DocSpec, Knobs
from docfactory.templates import Template, TemplateError
from docfactory.templates.registry import CSS_FILE, YAML_FILE, yaml_line

GENERIC_FAMILIES = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "inherit", "initial"}


@lru_cache(maxsize=1)
def installed_families() -> frozenset[str]:
    out = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False).stdout
    return frozenset(name.strip().lower() for line in out.splitlines() for name in line.split(","))


def css_font_families(css: str) -> list[tuple[str, int]]:
    """(family, line) for every font-family declaration in the sheet, nested rules included."""
    found = []

    def visit(nodes):
        for node in nodes:
            if node.type == "qualified-rule" or (node.type == "at-rule" and node.content is not None):
                for decl in tinycss2.parse_blocks_contents(node.content, skip_whitespace=True, skip_comments=True):
                    if decl.type == "declaration" and decl.lower_name == "font-family":
                        for fam in tinycss2.serialize(decl.value).split(","):
                            found.append((fam.strip().strip("\"'"), decl.source_line))
                    elif decl.type in ("qualified-rule", "at-rule"):
                        visit([decl])

    visit(tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True))
    return found


def check_fonts(template: Template) -> None:
    known = installed_families()
    for family, line in css_font_families(template.css):
        if family and family.lower() not in known and family.lower() not in GENERIC_FAMILIES:
            raise TemplateError(template.folder / CSS_FILE, f"unknown font family {family!r} (installed: "
                                f"{', '.join(sorted(known))})", line)
    text = (template.folder / YAML_FILE).read_text(encoding="utf-8")
    for family in template.config.fonts:
        if family.lower() not in known and family.lower() not in GENERIC_FAMILIES:
            raise TemplateError(template.folder / YAML_FILE, f"unknown font family {family!r} in fonts",
                                yaml_line(text, ["fonts"]))


def check_locales(template: Template) -> str:
    """The locale a sample is rendered in: the template's first, or en_US; unknown ones are an error."""
    try:
        locales = template_locales(template)
    except ValueError as exc:
        text = (template.folder / YAML_FILE).read_text(encoding="utf-8")
        raise TemplateError(template.folder / YAML_FILE, str(exc), yaml_line(text, ["locales"])) from None
    return locales[0] if template.config.locales else "en_US"


def check_template(template: Template, seed: int = 0) -> None:
    """Raise TemplateError if the template cannot produce a verified document."""
    from docfactory.generators.document import build_content, render_html
    from docfactory.generators.pipeline import check_field_coverage, template_labels, template_layout

    check_fonts(template)
    locale = check_locales(template)
    low, high = template.config.n_items
    loc = LOCALES[locale]
    knobs = Knobs(locale=locale, currency=loc.default_currency, n_items=max(low, min(high, 3)),
                  tax_rate=loc.tax_rates[0] if template.config.locales else "0.08",
                  discount_rate="0.05", font=template.config.fonts[0], dpi=72)
    spec = DocSpec(doc_id="template-check", template=template.name, seed=seed, knobs=knobs)
    content = build_content(spec, template)
    html, content = render_html(spec, template, content)
    pages = template_labels(template, template_layout(template, html, knobs.font))
    check_field_coverage(template, content, pages, html)
