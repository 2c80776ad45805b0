"""Sample document specs: every random choice comes from (run seed, doc id), so a spec — and the
document built from it — does not depend on worker count, order or timing.

`weights` tilt the choices (the mining loop's plan): {"template": {...}, "locale": {...}, ...};
a value missing from a weight table keeps weight 1. A template's layout alternatives (template.yaml
`choices`) are drawn here too, after the knobs, and tilted by a nested table:
weights["choice"][NAME][str(option)] = weight (0: never drawn, while some other option weighs more).
A plan may also list hard variants, weights["variants"] = [{"template", "knobs", "push",
"choices"}, ...]: document `index` < len(variants) keeps that template, those knobs with `push`
applied (n_items clamped to the template's range) and those choices (one the weights rule out, or
the template no longer has, is drawn again); only its seed is new (the doc id's, as for every
document).
"""

from __future__ import annotations

import hashlib
import random
from typing import Mapping

from docfactory.generators.locales import CURRENCIES, LOCALES
from docfactory.records import DocSpec, Knobs
from docfactory.templates import Template

DISCOUNT_RATES = ("0", "0", "0", "0.05", "0.1", "0.15")
DEFAULT_DPI = 120
SPLIT_RATIOS = (("train", 0.8), ("val", 0.1), ("test", 0.1))


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts: stable across processes and Python versions (no hash())."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def doc_id_for(index: int, prefix: str = "doc") -> str:
    return f"{prefix}-{index:07d}"


def _choose(rng: random.Random, options, weights: Mapping | None):
    options = list(options)
    if not weights:
        return rng.choice(options)
    w = [float(weights.get(str(o), 1.0)) for o in options]
    return rng.choices(options, weights=w)[0] if sum(w) > 0 else rng.choice(options)


def draw_choices(rng: random.Random, template: Template, weights: Mapping[str, Mapping] | None = None,
                 keep: Mapping[str, str] | None = None) -> dict[str, str]:
    """One option per template.yaml choice, as str(option), in declaration order; weights["choice"]
    tilts each. `keep` (a variant's choices) is kept where the template still has that option and
    the weights do not rule it out."""
    tables = (weights or {}).get("choice") or {}
    out = {}
    for name, options in template.config.choices.items():
        table = tables.get(name) or {}
        drawn = str(_choose(rng, options, table))
        kept = (keep or {}).get(name)
        usable = kept is not None and kept in {str(o) for o in options} and float(table.get(kept, 1.0)) > 0
        out[name] = kept if usable else drawn
    return out


def sample_spec(run_seed: int, index: int, templates: list[Template], *, prefix: str = "doc",
                weights: Mapping[str, Mapping] | None = None, dpi: tuple[int, ...] = (DEFAULT_DPI,)) -> DocSpec:
    weights = weights or {}
    doc_id = doc_id_for(index, prefix)
    seed = derive_seed(run_seed, doc_id)
    rng = random.Random(seed)
    ordered = sorted(templates, key=lambda t: t.name)
    by_name = {t.name: t for t in ordered}
    variants = weights.get("variants") or []
    if index < len(variants):
        return _variant_spec(doc_id, seed, variants[index], by_name, weights)
    template = by_name[_choose(rng, by_name, weights.get("template"))]
    honours = set(template.config.knobs)
    locales = template_locales(template)
    locale = _choose(rng, locales, weights.get("locale")) if "locale" in honours else \
        (locales[0] if template.config.locales else "en_US")
    loc = LOCALES[locale]
    if "currency" in honours and rng.random() < 0.2:
        currency = _choose(rng, sorted(CURRENCIES), weights.get("currency"))
    else:
        currency = loc.default_currency
    low, high = template.config.n_items
    n_items = _choose(rng, range(low, high + 1), weights.get("n_items")) if "n_items" in honours else low
    tax_rate = _choose(rng, loc.tax_rates[:2], weights.get("tax_rate")) if "tax_rate" in honours else loc.tax_rates[0]
    discount = _choose(rng, DISCOUNT_RATES, weights.get("discount_rate")) if "discount_rate" in honours else "0"
    font = _choose(rng, template.config.fonts, weights.get("font")) if "font" in honours else template.config.fonts[0]
    knobs = Knobs(locale=locale, currency=currency, n_items=n_items, tax_rate=tax_rate, discount_rate=discount,
                  font=font, dpi=_choose(rng, dpi, weights.get("dpi")) if "dpi" in honours else dpi[0])
    return DocSpec(doc_id=doc_id, template=template.name, seed=seed, knobs=knobs,
                   choices=draw_choices(rng, template, weights))


def template_locales(template: Template) -> list[str]:
    """The locales a template prints (template.yaml `locales`), or every locale; an unknown name is
    an error that lists the known ones (`engine templates validate` reports it with its line)."""
    unknown = sorted(set(template.config.locales) - set(LOCALES))
    if unknown:
        raise ValueError(f"template {template.name}: unknown locales {unknown} (known: {', '.join(sorted(LOCALES))})")
    return sorted(template.config.locales or LOCALES)


def _variant_spec(doc_id: str, seed: int, variant: Mapping, by_name: Mapping[str, Template],
                  weights: Mapping[str, Mapping]) -> DocSpec:
    template = by_name.get(variant["template"])
    if template is None:
        raise ValueError(f"variant of {variant.get('source')}: unknown template {variant['template']!r} "
                         f"(known here: {', '.join(by_name)})")
    knobs = {**variant["knobs"], **variant.get("push", {})}
    low, high = template.config.n_items
    knobs["n_items"] = min(high, max(low, int(knobs["n_items"])))
    choices = draw_choices(random.Random(seed), template, weights, keep=variant.get("choices"))
    return DocSpec(doc_id=doc_id, template=template.name, seed=seed, knobs=Knobs(**knobs), choices=choices)


def assign_split(doc_id: str, ratios=SPLIT_RATIOS) -> str:
    """Split by document (never by page), from the id alone: stable when runs grow."""
    u = derive_seed("split", doc_id) / 2**63
    acc = 0.0
    for name, share in ratios:
        acc += share
        if u < acc:
            return name
    return ratios[-1][0]
