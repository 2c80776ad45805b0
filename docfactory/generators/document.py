"""Spec -> content tree -> HTML: the template-independent half of building one document."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

from docfactory.generators.content import builder_for, iter_fields, map_leaves, pattern_of, select
from docfactory.generators.content.context import ContentContext
from docfactory.field_types import Field, normalize_text
from docfactory.generators.locales import Captions, translator
from docfactory.generators.spec import derive_seed, draw_choices
from docfactory.generators.validate import check_values
from docfactory.records import DocSpec
from docfactory.templates import Template, TemplateError
from docfactory.templates.casing import cased_text, noting_casings

# Faker methods that change the generator itself rather than produce a value.
_FORBIDDEN_PROVIDERS = {"seed", "seed_instance", "seed_locale", "add_provider", "get_providers", "provider",
                        "set_formatter", "format", "parse", "get_formatter", "set_arguments", "del_arguments"}


@dataclass
class BuiltContent:
    tree: dict  # full content (Field leaves) that the template sees as `doc`
    labelled: dict  # the declared subset: what is labelled and becomes the ground truth
    paths: dict[str, Field]  # dotted path -> Field, for every labelled leaf
    choices: dict = field(default_factory=dict)  # template.yaml `choices` drawn: the template's `choice`
    casings: dict[str, str] = field(default_factory=dict)  # path -> the case filter it is printed with (`upper`)

    def ground_truth(self) -> dict:
        """The extraction target with printed strings (Donut gt_parse nesting)."""
        return map_leaves(self.labelled, lambda f: f.text)

    def normalized(self) -> dict:
        return map_leaves(self.labelled, lambda f: f.normalized)

    def content_hash(self, template_version: str) -> str:
        blob = json.dumps([template_version, self.ground_truth(), self.normalized()], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class ContentRejected(ValueError):
    pass


def build_content(spec: DocSpec, template: Template) -> BuiltContent:
    choices = chosen_options(spec, template)  # first: a stale recorded option fails before any content
    ctx = ContentContext.create(spec.seed, spec.knobs, template.config.options)
    tree = builder_for(template.kind)(ctx)
    for name, decl in template.config.fields.items():
        if decl.provider:
            _set_path(tree, name, _provided(ctx, name, decl, template))
    declared = set(template.config.fields)
    labelled = select(tree, lambda path: pattern_of(path) in declared)
    paths = dict(iter_fields(labelled))
    missing = declared - {pattern_of(p) for p in paths}
    if missing:
        # An empty list legitimately has no item paths; anything else is a template problem.
        missing = {m for m in missing if "*" not in m}
        if missing:
            raise TemplateError(template.folder / "template.yaml",
                                f"declared fields {sorted(missing)} have no content: the {template.kind} builder "
                                f"does not produce them; give them a provider")
    violations = check_values(template.kind, map_leaves(tree, lambda f: f.normalized))
    if violations:
        v = violations[0]
        raise ContentRejected(f"arithmetic check failed: {v.relation} (expected {v.expected}, found {v.found})")
    return BuiltContent(tree, labelled, paths, choices)


def chosen_options(spec: DocSpec, template: Template) -> dict:
    """The template's `choice`: each option the spec names (str(option), as sample_spec draws and the
    record keeps it) as template.yaml writes it (80, not "80"). A spec made by hand, without choices,
    draws them from its seed; an option or name the template does not have is a TemplateError."""
    config = template.config
    unknown = sorted(set(spec.choices) - set(config.choices))
    if unknown:
        raise TemplateError(template.folder / "template.yaml", f"choices {unknown} are not the template's "
                            f"(choices: {', '.join(config.choices) or 'none'})")
    named = dict(spec.choices)
    if set(config.choices) - set(named):
        named = {**draw_choices(random.Random(derive_seed(spec.seed, "choices")), template), **named}
    out = {}
    for name, options in config.choices.items():
        by_text = {str(o): o for o in options}
        if named[name] not in by_text:
            raise TemplateError(template.folder / "template.yaml", f"choice {name}={named[name]!r} is not one of "
                                f"its options ({', '.join(repr(t) for t in by_text)})")
        out[name] = by_text[named[name]]
    return out


def _provided(ctx: ContentContext, name: str, decl, template: Template) -> Field:
    provider = decl.provider
    if provider.startswith("_") or provider in _FORBIDDEN_PROVIDERS or not callable(getattr(ctx.fake, provider, None)):
        raise TemplateError(template.folder / "template.yaml", f"field {name!r}: unknown provider {provider!r} "
                            "(use a Faker provider method name, e.g. sentence, bothify, company)")
    try:
        value = getattr(ctx.fake, provider)(**decl.args)
    except Exception as exc:
        raise TemplateError(template.folder / "template.yaml", f"field {name!r}: provider {provider}({decl.args}) failed: {exc}") from exc
    if isinstance(value, dt.date):
        return ctx.date(value)
    if isinstance(value, (int, Decimal)) and decl.type in ("integer", "number", "money"):
        return ctx.integer(int(value)) if decl.type == "integer" else ctx.number(Decimal(value))
    text = normalize_text(str(value))
    return Field(decl.type, text, text)


def _set_path(tree: dict, path: str, value: Field) -> None:
    parts = path.split(".")
    if "*" in parts:
        raise ValueError(f"a provider field cannot be a list pattern: {path}")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def render_html(spec: DocSpec, template: Template, content: BuiltContent, *,
                t: Captions | None = None) -> tuple[str, BuiltContent]:
    """The document's HTML, and its content labelled as printed: a value the template prints
    through a case filter (`{{ doc.store.name | upper }}`) is labelled with the cased text.
    `t`: the caption translator (default: the locale's, with the template's captions.yaml)."""
    t = t or translator(spec.knobs.locale, template.captions)
    with noting_casings() as noted:
        html = template.render_html(doc=content.tree, knobs=spec.knobs, t=t, choice=content.choices)
    return html, _as_printed(content, noted, template)


def _as_printed(content: BuiltContent, noted: dict, template: Template) -> BuiltContent:
    casings = {}
    for path, value in content.paths.items():
        seen = noted.get(id(value))
        if seen is None or seen[0] is not value:
            continue
        if len(seen[1]) > 1:  # the label could match one print only; say which, instead of a verify failure
            from docfactory.generators.pipeline import _source_line

            raise TemplateError(template.html_path, f"field {path!r} is printed with "
                                f"{' and '.join('| ' + c for c in sorted(seen[1]))}: a labelled value prints in one "
                                "case (case the text of an unlabelled copy: {{ doc.x.text | upper }})",
                                _source_line(template, path))
        casings[path] = next(iter(seen[1]))
    if not casings:
        return content
    relabel = {id(content.paths[p]): replace(content.paths[p], text=cased_text(content.paths[p], c))
               for p, c in casings.items()}
    return replace(content, labelled=map_leaves(content.labelled, lambda f: relabel.get(id(f), f)),
                   paths={p: relabel.get(id(f), f) for p, f in content.paths.items()}, casings=casings)


def font_css(font: str) -> str:
    return f'body {{ font-family: "{font}"; }}'
