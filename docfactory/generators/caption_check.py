"""Captions a template prints that nothing translates into a locale it prints in.

`t()` prints an unknown caption as written, so a German receipt would silently carry an English
word. `engine templates validate` warns instead, naming the template file, the line and the caption.
Two sources, because neither sees every caption alone: the `t("...")` literals in the template's
.j2 files (every branch, with their lines, even one no sample takes), and the captions one rendered
document per locale asks for (those built from variables, `t(choice.total_label)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import nodes

from docfactory.generators.locales import LOCALES, translator
from docfactory.generators.spec import template_locales
from docfactory.records import DocSpec, Knobs
from docfactory.templates import Template, TemplateError


@dataclass(frozen=True)
class UnknownCaption:
    path: Path
    line: int | None
    caption: str
    locales: tuple[str, ...]

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return (f"{where}: caption {self.caption!r} has no {', '.join(self.locales)} translation (built in or in "
                "captions.yaml): it prints as written")


def unknown_captions(template: Template, seed: int = 0) -> list[UnknownCaption]:
    """Every caption some locale of the template has no translation for, in source order."""
    try:
        locales = printed_locales(template)
    except ValueError:
        return []  # an unknown locale is an error that `validate` reports already
    where = literal_captions(template)
    missing: dict[str, list[str]] = {}
    for locale in locales:
        asked = translator(locale, template.captions)
        _render_sample(template, locale, asked, seed)
        for caption in [*where, *sorted(asked.unknown)]:
            if not asked.knows(caption) and locale not in missing.get(caption, []):
                missing.setdefault(caption, []).append(locale)
    out = []
    for caption, missed in missing.items():
        path, line = where.get(caption) or _first_mention(template, caption)
        out.append(UnknownCaption(path, line, caption, tuple(missed)))
    return out


def printed_locales(template: Template) -> list[str]:
    """The locales its documents are drawn in: as sample_spec draws them (one, when the template
    does not honour the `locale` knob)."""
    locales = template_locales(template)
    if "locale" in template.config.knobs:
        return locales
    return [locales[0] if template.config.locales else "en_US"]


def literal_captions(template: Template) -> dict[str, tuple[Path, int]]:
    """caption -> (file, line) of its first `t("...")` with a literal argument, over the folder's .j2 files."""
    found: dict[str, tuple[Path, int]] = {}
    for path in sorted(template.folder.glob("*.j2"), key=lambda p: (p != template.html_path, p.name)):
        tree = template.env.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if (isinstance(call.node, nodes.Name) and call.node.name == "t" and call.args
                    and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str)):
                found.setdefault(call.args[0].value, (path, call.lineno))
    return found


def _render_sample(template: Template, locale: str, t, seed: int) -> None:
    """Render one document in `locale` with `t` (which notes the captions it did not know)."""
    from docfactory.generators.document import ContentRejected, build_content, render_html

    loc = LOCALES[locale]
    low, high = template.config.n_items
    knobs = Knobs(locale=locale, currency=loc.default_currency, n_items=max(low, min(high, 3)),
                  tax_rate=loc.tax_rates[0], discount_rate="0.05", font=template.config.fonts[0], dpi=72)
    spec = DocSpec(doc_id=f"captions-{locale}", template=template.name, seed=seed, knobs=knobs)
    try:
        render_html(spec, template, build_content(spec, template), t=t)
    except (TemplateError, ContentRejected):
        pass  # a template that does not render is reported by validate's own samples


def _first_mention(template: Template, caption: str) -> tuple[Path, int | None]:
    for number, text in enumerate(template.html_path.read_text(encoding="utf-8").splitlines(), 1):
        if caption in text:
            return template.html_path, number
    return template.html_path, None
