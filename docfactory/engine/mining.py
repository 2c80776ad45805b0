"""Mining: find the slices a model fails on, with enough support that the failure is not noise,
and turn them into a plan (knob weights) for the next batch of documents.

A field comparison fails when its error_type is not NULL. For each slice column (template, locale,
preset, …) and value, the failure rate gets a Wilson score interval; a slice is *weak* when its
lower bound is above the overall failure rate (so a handful of unlucky pages is not chased) and it
has at least `min_support` comparisons. The ranked list is what `engine mine` prints; the same SQL
is in the README.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from docfactory.engine.catalog import Catalog

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

MINING_SQL = """
WITH cmp AS (
    SELECT {expr} AS value, (e.error_type IS NOT NULL) AS failed
    FROM field_errors e JOIN slices s
      ON s.doc_id = e.doc_id AND s.page = e.page AND s."copy" IS NOT DISTINCT FROM e."copy"
    WHERE e.name = ?
)
SELECT value, count(*) AS support, avg(CAST(failed AS DOUBLE)) AS failure_rate
FROM cmp GROUP BY value
"""


@dataclass
class Slice:
    column: str
    value: str
    support: int
    failure_rate: float
    lower: float  # Wilson lower bound of the failure rate
    upper: float
    score: float  # lower bound minus the overall failure rate: how surely this slice is worse

    @property
    def knob(self) -> str | None:
        return SLICE_COLUMNS[self.column][1]


@dataclass
class Plan:
    iteration: int
    strategy: str  # hard | uniform
    budget: int
    replay_share: float
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    weak_slices: list[dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def wilson(failures: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a rate: honest at small n, unlike the normal approximation."""
    if n == 0:
        return 0.0, 1.0
    p = failures / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def overall_failure_rate(catalog: Catalog, name: str) -> tuple[float, int]:
    row = catalog.sql("SELECT avg(CAST(error_type IS NOT NULL AS DOUBLE)), count(*) FROM field_errors WHERE name = ?",
                      [name]).fetchone()
    return (row[0] or 0.0), row[1]


def weak_slices(catalog: Catalog, name: str, min_support: int = 20, columns: list[str] | None = None) -> list[Slice]:
    """Every slice whose failure rate is surely above the overall rate, strongest evidence first."""
    base, _ = overall_failure_rate(catalog, name)
    out = []
    for column in columns or [c for c in SLICE_COLUMNS if c != "error_type"]:
        expr, _ = SLICE_COLUMNS[column]
        for value, support, rate in catalog.sql(MINING_SQL.format(expr=expr), [name]).fetchall():
            if value is None or support < min_support:
                continue
            lower, upper = wilson(rate * support, support)
            if lower > base:
                out.append(Slice(column, str(value), support, rate, lower, upper, lower - base))
    return sorted(out, key=lambda s: (-s.score, s.column, s.value))


def make_plan(slices: list[Slice], iteration: int, budget: int, strategy: str = "hard",
              replay_share: float = 0.2, tilt: float = 4.0) -> Plan:
    """Tilt knob weights toward weak slices: weight = 1 + tilt * score (relative to weight 1 for
    every other value). `uniform` keeps the initial mix, as the control arm of the A/B."""
    plan = Plan(iteration=iteration, strategy=strategy, budget=budget, replay_share=replay_share,
                weak_slices=[asdict(s) for s in slices])
    if strategy == "uniform":
        return plan
    for s in slices:
        if s.knob is None:
            continue
        table = plan.weights.setdefault(s.knob, {})
        if s.knob == "n_items":
            low, high = (int(v) for v in s.value.split("-"))
            for n in range(low, high + 1):
                table[str(n)] = max(table.get(str(n), 1.0), 1.0 + tilt * s.score)
        else:
            table[s.value] = max(table.get(s.value, 1.0), 1.0 + tilt * s.score)
    return plan


def save_plan(run_dir: Path | str, plan: Plan) -> Path:
    """RUN/plans/it###.json, written atomically."""
    import os

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
