"""Mining: find the slices a model fails on, with enough support that the failure is not noise,
and turn them into a plan for the next batch of documents.

A field comparison fails when its error_type is not NULL. For each slice column (template, locale,
preset, …) and value, the failure rate gets a Wilson score interval; a slice is *weak* when its
lower bound is above the overall failure rate (so a handful of unlucky pages is not chased) and it
has at least `min_support` comparisons. The ranked list is what `engine mine` prints; the same SQL
is in the README.

When the predictions carry per-field confidences (the layout predictor writes the lowest tag
probability of a value's words), they are joined to the comparisons (TEMP table
`field_confidence`): each slice shows its mean confidence, the least sure answers are listed, and
documents are ranked for hard variants by failures first, then by how unsure the model was.

A template's layout alternatives (template.yaml `choices`, recorded per document) are slice
columns too, one per name: `choice.total_label` = 'JUMLAH' is weak when the pages that print JUMLAH
fail more. Their weights go to the spec sampler as weights["choice"][NAME][option].

The plan (a) tilts knob weights toward weak slices — the surest weak knob value weighs 1 + tilt,
the others in proportion to their score, unlisted values 1, and a weak field (no knob of its own)
tilts the templates its failures come from and, where a template says which choices change how the
field prints (template.yaml `choice_fields`, e.g. total_label -> total), the options of those
choices its pages failed it most under — so a weak template takes a clearly larger share of
the batch; (b) orders hard variants: the worst documents again, same
template, knobs and choices, a new seed, and more items when items are what failed. The generator's spec
sampler reads both (`generators/spec.py`); the replay share goes to the finetune.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

from docfactory.engine.catalog import Catalog
from docfactory.engine.evaluation.gold import has_view
from docfactory.engine.mining_sql import (CHOICE, CHOICE_MINING_SQL, CONFIDENCE_JOIN, FIELD_CHOICES_SQL,
                                          FIELD_TEMPLATES_SQL, JOIN, LOW_CONFIDENCE_SQL, MINING_SQL,
                                          WORST_DOCS_SQL)

# slice column -> (SQL expression over slices s and field_errors e, the generator knob it maps to)
SLICE_COLUMNS: dict[str, tuple[str, str | None]] = {
    "template": ("s.template", "template"),
    "kind": ("s.kind", None),
    "locale": ("s.locale", "locale"),
    "currency": ("s.currency", "currency"),
    "font": ("s.font", "font"),
    "preset": ("s.preset", "augment_preset"),
    "severity_bucket": ("CAST(floor(s.severity * 10) / 10 AS VARCHAR)", None),
    "n_items_bucket": ("CAST(5 * (s.n_items // 5) AS VARCHAR) || '-' || CAST(5 * (s.n_items // 5) + 4 AS VARCHAR)", "n_items"),
    "has_spans": ("CAST(s.has_spans AS VARCHAR)", None),
    "field": ("e.field_pattern", None),
    "error_type": ("coalesce(e.error_type, 'ok')", None),
}

@dataclass
class Slice:
    column: str
    value: str
    support: int
    failure_rate: float
    lower: float  # Wilson lower bound of the failure rate
    upper: float
    score: float  # lower bound minus the overall failure rate: how surely this slice is worse
    confidence: float | None = None  # mean confidence of its answers (None: predictions had none)
    evalset: str = "in_dist"  # the evaluation set it was mined on ("real": an imported real set)

    @property
    def knob(self) -> str | None:
        """The weights table it tilts: a knob, `choice.NAME` (weights["choice"][NAME]), or None."""
        return self.column if self.column.startswith(CHOICE) else SLICE_COLUMNS[self.column][1]


@dataclass
class Variant:
    """A hard variant of a failed document: its template, knobs and choices, a new seed (the new
    doc id's), `push` applied on top (the failing factor pushed harder)."""

    source: str  # the evaluation document it varies
    template: str
    knobs: dict
    push: dict  # knob -> new value, e.g. {"n_items": 12}
    reason: str
    choices: dict = field(default_factory=dict)  # its layout alternatives, name -> str(option)


@dataclass
class Plan:
    iteration: int
    strategy: str  # hard | uniform
    budget: int
    replay_share: float
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    weak_slices: list[dict] = field(default_factory=list)
    variants: list[dict] = field(default_factory=list)  # the first len(variants) documents of the batch
    low_confidence: list[dict] = field(default_factory=list)  # the least sure answers, for the analyst

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def generator_weights(self) -> dict:
        """What the spec sampler takes: the weight tables, plus the variants to make first."""
        return {**self.weights, "variants": self.variants} if self.variants else dict(self.weights)


def wilson(failures: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a rate: honest at small n, unlike the normal approximation."""
    if n == 0:
        return 0.0, 1.0
    p = failures / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def has_confidences(catalog: Catalog) -> bool:
    return catalog.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'field_confidence'").fetchone()[0] > 0


def _sql(template: str, catalog: Catalog, **extra: str) -> str:
    joined = has_confidences(catalog)
    join = JOIN.format(confidence_join=CONFIDENCE_JOIN if joined else "")
    return template.format(join=join, confidence="c.confidence" if joined else "CAST(NULL AS DOUBLE)", **extra)


def join_confidences(catalog: Catalog, predictions: Path | str) -> int:
    """Load the per-field confidences of a predictions JSONL into TEMP table `field_confidence`,
    under the field names field_errors uses (a page's item 0 is the document's item k). Returns
    the rows loaded (0: the predictor wrote none). A TEMP table works on a read-only catalog."""
    from docfactory.engine.evaluation.gold import load_gold

    gold = load_gold(catalog)
    rows = []
    for line in Path(predictions).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        pred = json.loads(line)
        page = gold.get((pred.get("doc_id"), pred.get("page")))
        if page is None or not isinstance(pred.get("confidence"), dict):
            continue
        for name, conf in pred["confidence"].items():
            rows.append((page.doc_id, page.page, pred.get("copy"), page.document_path(name), float(conf)))
    catalog.sql("CREATE OR REPLACE TEMP TABLE field_confidence (doc_id VARCHAR, page INTEGER, \"copy\" INTEGER, "
                "field VARCHAR, confidence DOUBLE)")
    if rows:
        catalog.con.executemany("INSERT INTO field_confidence VALUES (?, ?, ?, ?, ?)", rows)
    return len(rows)


def overall_failure_rate(catalog: Catalog, name: str) -> tuple[float, int]:
    row = catalog.sql("SELECT avg(CAST(error_type IS NOT NULL AS DOUBLE)), count(*) FROM field_errors WHERE name = ?",
                      [name]).fetchone()
    return (row[0] or 0.0), row[1]


def weak_slices(catalog: Catalog, name: str, min_support: int = 20, columns: list[str] | None = None) -> list[Slice]:
    """Every slice whose failure rate is surely above the overall rate, strongest evidence first.
    `columns`: SLICE_COLUMNS names, and "choice" for every choice.NAME (default: all but error_type)."""
    base, _ = overall_failure_rate(catalog, name)
    columns = columns or [c for c in SLICE_COLUMNS if c != "error_type"] + ["choice"]
    groups = []
    for column in columns:
        if column == "choice":
            if has_view(catalog, "slices", ("choices",)):  # evaluations made before choices were recorded have none
                groups += catalog.sql(_sql(CHOICE_MINING_SQL, catalog), [name]).fetchall()
            continue
        expr, _ = SLICE_COLUMNS[column]
        groups += [(column, *row) for row in catalog.sql(_sql(MINING_SQL, catalog, expr=expr), [name]).fetchall()]
    out = []
    for column, value, support, rate, conf in groups:
        if value is None or support < min_support:
            continue
        lower, upper = wilson(rate * support, support)
        if lower > base:
            out.append(Slice(column, str(value), support, rate, lower, upper, lower - base,
                             None if conf is None else round(conf, 4)))
    return sorted(out, key=lambda s: (-s.score, s.column, s.value))


def low_confidence(catalog: Catalog, name: str, below: float = 0.5, limit: int = 20) -> list[dict]:
    """The answers the model was least sure of (right or wrong), least sure first."""
    if not has_confidences(catalog):
        return []
    keys = ("doc_id", "page", "field", "gold", "pred", "error_type", "confidence")
    return [dict(zip(keys, row)) for row in catalog.sql(_sql(LOW_CONFIDENCE_SQL, catalog), [name, below, limit]).fetchall()]


def hard_variants(catalog: Catalog, name: str, n: int, templates: list[str] | None = None,
                  items_step: float = 0.5) -> list[Variant]:
    """`n` variants of the documents that failed most (failure rate at least the overall one; a
    model that fails everything gets variants of its least sure documents), the worst first and
    round-robin when there are fewer documents than variants. Items are pushed
    (n_items x (1 + items_step), at least +2) when list items are where the document failed; the
    sampler clamps to the template's range."""
    if n <= 0:
        return []
    base, _ = overall_failure_rate(catalog, name)
    docs = catalog.sql(_sql(WORST_DOCS_SQL, catalog), [name, base]).fetchall()
    docs = [d for d in docs if templates is None or d[1] in templates]
    if not docs:
        return []
    choices = "choices" if has_view(catalog, "documents", ("choices",)) else "NULL"
    knobs = {doc_id: (k, json.loads(c or "{}")) for doc_id, k, c in catalog.sql(
        f"SELECT DISTINCT ON (doc_id) doc_id, knobs, {choices} FROM documents ORDER BY doc_id").fetchall()}
    out = []
    for j in range(n):
        doc_id, template, support, rate, item_rate, conf = docs[j % len(docs)]
        doc_knobs, doc_choices = dict(knobs[doc_id][0]), knobs[doc_id][1]
        push = {}
        if item_rate >= 0.5 * rate:  # most failures are list items: more of them
            push["n_items"] = doc_knobs["n_items"] + max(2, round(doc_knobs["n_items"] * items_step))
        conf_text = "" if conf is None else f", mean confidence {conf:.2f}"
        out.append(Variant(doc_id, template, doc_knobs, push,
                           f"{rate:.0%} of {support} fields failed ({item_rate:.0%} list items){conf_text}", doc_choices))
    return out


def field_templates(catalog: Catalog, name: str, fields: list[str]) -> dict[str, dict[str, float]]:
    """field pattern -> {template: the field's failure rate there / its worst template's}. Rates,
    not failure counts: a field failing alike everywhere tilts every template alike (no template
    gains by merely being frequent in the evaluation set); one that only a template has, or fails
    only in one, tilts that template."""
    out: dict[str, dict[str, float]] = {}
    for field_pattern, template, rate in catalog.sql(FIELD_TEMPLATES_SQL, [name, fields]).fetchall():
        out.setdefault(field_pattern, {})[template] = rate
    return {f: {t: r / max(by.values()) for t, r in by.items() if r > 0} for f, by in out.items() if max(by.values()) > 0}


def field_choices(catalog: Catalog, name: str, fields: list[str],
                  choice_fields: dict[str, dict[str, set[str]]]) -> dict[str, dict[str, dict[str, float]]]:
    """field pattern -> `choice.NAME` -> {option: how surely the field fails under it / the surest
    option's}, over the choices that print the field (`choice_fields`: template -> choice -> the
    field patterns it changes, template.yaml's). The Wilson lower bound of each option's failure
    rate, not the rate: an option a single failed page printed is not chased."""
    if not fields or not has_view(catalog, "slices", ("choices",)):
        return {}
    counts: dict[tuple[str, str, str], list[int]] = {}
    for field_pattern, template, choice, option, n, failures in catalog.sql(FIELD_CHOICES_SQL, [name, fields]).fetchall():
        if field_pattern in choice_fields.get(template, {}).get(choice, ()):
            pooled = counts.setdefault((field_pattern, CHOICE + choice, option), [0, 0])
            pooled[0], pooled[1] = pooled[0] + failures, pooled[1] + n
    sure: dict[str, dict[str, dict[str, float]]] = {}
    for (field_pattern, column, option), (failures, n) in counts.items():
        sure.setdefault(field_pattern, {}).setdefault(column, {})[option] = wilson(failures, n)[0]
    return {f: {c: {o: v / max(by.values()) for o, v in by.items() if v > 0} for c, by in columns.items() if max(by.values()) > 0}
            for f, columns in sure.items()}


def knob_scores(slices: list[Slice], by_field: dict[str, dict[str, float]] | None = None,
                by_kind: dict[str, list[str]] | None = None,
                by_choice: dict[str, dict[str, dict[str, float]]] | None = None) -> dict[str, dict[str, float]]:
    """knob -> value -> score (a choice's table under `choice.NAME`). A weak field counts for the
    templates it fails in (its score x the relative failure rate there, summed over fields), when
    that beats the template's own slice, and likewise for the options of the choices that print it
    (`by_choice`, field_choices); a weak kind (of a real set) counts for every template of that kind
    (`by_kind`)."""
    scores: dict[str, dict[str, float]] = {}
    via_fields: dict[str, float] = {}
    via_choices: dict[str, dict[str, float]] = {}
    for s in slices:
        if s.knob is not None:
            table = scores.setdefault(s.knob, {})
            values = [s.value]
            if s.knob == "n_items":
                low, high = (int(v) for v in s.value.split("-"))
                values = [str(n) for n in range(low, high + 1)]
            for value in values:
                table[value] = max(table.get(value, 0.0), s.score)
        elif s.column == "field":
            for template, share in (by_field or {}).get(s.value, {}).items():
                via_fields[template] = via_fields.get(template, 0.0) + s.score * share
            for column, options in (by_choice or {}).get(s.value, {}).items():
                table = via_choices.setdefault(column, {})
                for option, share in options.items():
                    table[option] = table.get(option, 0.0) + s.score * share
        elif s.column == "kind" and s.evalset == "real":
            for template in (by_kind or {}).get(s.value, []):
                via_fields[template] = via_fields.get(template, 0.0) + s.score
    templates = scores.setdefault("template", {})
    for template, score in via_fields.items():
        templates[template] = max(templates.get(template, 0.0), score)
    for column, options in via_choices.items():
        table = scores.setdefault(column, {})
        for option, score in options.items():
            table[option] = max(table.get(option, 0.0), score)
    return {knob: table for knob, table in scores.items() if table}


def make_plan(slices: list[Slice], iteration: int, budget: int, strategy: str = "hard",
              replay_share: float = 0.2, tilt: float = 4.0, variants: list[Variant] | None = None,
              low_conf: list[dict] | None = None, by_field: dict[str, dict[str, float]] | None = None,
              by_kind: dict[str, list[str]] | None = None,
              by_choice: dict[str, dict[str, dict[str, float]]] | None = None) -> Plan:
    """Tilt knob weights toward weak slices: the surest weak knob value of all weighs 1 + tilt,
    another 1 + tilt * its score / that top score (a barely weak locale is not pushed as hard as a
    failing template), every value not listed 1. `by_field` (field_templates) lets weak fields tilt
    their templates, `by_choice` (field_choices) the options of the choices that print them; a
    choice's table goes to weights["choice"][NAME]. `uniform` keeps the initial mix and orders no
    variants, as the control arm."""
    plan = Plan(iteration=iteration, strategy=strategy, budget=budget, replay_share=replay_share,
                weak_slices=[asdict(s) for s in slices], low_confidence=list(low_conf or []))
    if strategy == "uniform":
        return plan
    plan.variants = [asdict(v) for v in variants or []][:budget]
    scores = knob_scores(slices, by_field, by_kind, by_choice)
    top = max((v for table in scores.values() for v in table.values()), default=0.0)
    if top <= 0:
        return plan
    for knob, table in scores.items():
        tilted = {value: round(1.0 + tilt * score / top, 4) for value, score in sorted(table.items(), key=lambda kv: -kv[1])}
        if knob.startswith(CHOICE):
            plan.weights.setdefault("choice", {})[knob[len(CHOICE):]] = tilted
        else:
            plan.weights[knob] = tilted
    return plan


def mine_plan(catalog: Catalog, name: str, iteration: int, budget: int, strategy: str = "hard", *,
              min_support: int = 20, replay_share: float = 0.2, tilt: float = 4.0, variant_share: float = 0.25,
              templates: list[str] | None = None, predictions: Path | str | None = None,
              real_slices: list[Slice] | None = None, template_dirs: Sequence[str] = ()) -> Plan:
    """Mine evaluation `name` (confidences joined from `predictions` when given) into a plan.
    `real_slices` (real_weak_slices of an imported real set) join the synthetic set's slices: a weak
    real field tilts the templates it fails in here, or, where it does not fail here, every trained
    template that prints it; a weak real kind tilts that kind's templates. `template_dirs`: the
    folders of `templates` that are not built in (`engine run --templates`)."""
    if predictions is not None and Path(predictions).exists():
        join_confidences(catalog, predictions)
    slices = weak_slices(catalog, name, min_support=min_support)
    n_variants = round(variant_share * budget) if strategy == "hard" else 0
    variants = hard_variants(catalog, name, n_variants, templates)
    real_slices = list(real_slices or [])
    fields = sorted({s.value for s in slices + real_slices if s.column == "field"})
    by_field = field_templates(catalog, name, fields)
    printing = _templates_printing(templates, template_dirs)
    for s in real_slices:
        if s.column == "field" and s.value not in by_field:
            by_field[s.value] = {t: 1.0 for t, patterns in printing.items() if s.value in patterns}
    by_kind = {kind: [t for t, k in _template_kinds(templates, template_dirs).items() if k == kind]
               for kind in {s.value for s in real_slices if s.column == "kind"}}
    by_choice = field_choices(catalog, name, fields, _choice_fields(templates, template_dirs))
    ranked = sorted(slices + real_slices, key=lambda s: (-s.score, s.evalset, s.column, s.value))
    return make_plan(ranked, iteration, budget, strategy, replay_share, tilt, variants, low_confidence(catalog, name),
                     by_field, by_kind, by_choice)


def real_weak_slices(catalog: Catalog, name: str, min_support: int = 20) -> list[Slice]:
    """The weak fields and kinds of evaluation `name` of an imported real set (its other slice
    columns, such as its template, are the dataset and no generator knob)."""
    return [replace(s, evalset="real") for s in weak_slices(catalog, name, min_support, columns=["field", "kind"])]


def _templates_printing(templates: list[str] | None, template_dirs: Sequence[str] = ()) -> dict[str, set[str]]:
    from docfactory.templates import TemplateRegistry

    registry = TemplateRegistry(template_dirs)
    return {t: set(registry.get(t).config.fields) for t in (templates or registry.names())}


def _choice_fields(templates: list[str] | None, template_dirs: Sequence[str] = ()) -> dict[str, dict[str, set[str]]]:
    """template -> choice -> the field patterns it changes the printed form of (template.yaml choice_fields)."""
    from docfactory.templates import TemplateRegistry

    registry = TemplateRegistry(template_dirs)
    return {t: {c: set(f) for c, f in registry.get(t).config.choice_fields.items()} for t in (templates or registry.names())}


def _template_kinds(templates: list[str] | None, template_dirs: Sequence[str] = ()) -> dict[str, str]:
    from docfactory.templates import TemplateRegistry

    registry = TemplateRegistry(template_dirs)
    return {t: registry.get(t).kind for t in (templates or registry.names())}


def save_plan(run_dir: Path | str, plan: Plan) -> Path:
    """RUN/plans/it###.json, written atomically."""
    path = Path(run_dir) / "plans" / f"it{plan.iteration:03d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(plan.to_json(), encoding="utf-8")
    os.replace(tmp, path)
    return path


def latest_evaluation(catalog: Catalog) -> str | None:
    """The name of the most recently listed evaluation, or None."""
    row = catalog.sql("SELECT path FROM shards WHERE kind = 'field_errors' ORDER BY created_at DESC LIMIT 1").fetchone()
    return row[0].split("/")[2] if row else None
