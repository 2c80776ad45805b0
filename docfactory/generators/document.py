"""Spec -> content tree -> HTML: the template-independent half of building one document."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from docfactory.generators.content import builder_for, iter_fields, map_leaves, pattern_of, select
from docfactory.generators.content.context import ContentContext
from docfactory.field_types import Field, normalize_text
from docfactory.generators.locales import translator
from docfactory.generators.validate import check_values
from docfactory.records import DocSpec
from docfactory.templates import Template, TemplateError

# Faker methods that change the generator itself rather than produce a value.
_FORBIDDEN_PROVIDERS = {"seed", "seed_instance", "seed_locale", "add_provider", "get_providers", "provider",
                        "set_formatter", "format", "parse", "get_formatter", "set_arguments", "del_arguments"}


@dataclass
class BuiltContent:
    tree: dict  # full content (Field leaves) that the template sees as `doc`
    labelled: dict  # the declared subset: what is labelled and becomes the ground truth
    paths: dict[str, Field]  # dotted path -> Field, for every labelled leaf
    choices: dict = field(default_factory=dict)  # template.yaml `choices` drawn: the template's `choice`

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
    ctx = ContentContext.create(spec.seed, spec.knobs, template.config.options)
    tree = builder_for(template.kind)(ctx)
    # Drawn after the content, so a template's layout alternatives change none of its values.
    choices = {name: ctx.rng.choice(options) for name, options in template.config.choices.items()}
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


def render_html(spec: DocSpec, template: Template, content: BuiltContent) -> str:
    return template.render_html(doc=content.tree, knobs=spec.knobs, t=translator(spec.knobs.locale),
                                choice=content.choices)


def font_css(font: str) -> str:
    return f'body {{ font-family: "{font}"; }}'
