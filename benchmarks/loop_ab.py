"""A/B of the closed loop: does mining (`--strategy hard`) beat spending the same budget on the
initial mix (`--strategy uniform`)?

    python benchmarks/loop_ab.py --out /tmp/loop_ab [--profile default] [--iterations 3] [--seed 0] [--budget N]
                                 [--base RUN] [--json ab.json] [--compare-only]

Iteration 0 (evaluation sets, base training mix, base model, its evaluation) does not depend on the
strategy, so it runs once (OUT/base, `engine run --iterations 1`) and is copied to OUT/hard and
OUT/uniform; each arm then continues to `--iterations` with its strategy. Both arms therefore
share the seed, the evaluation sets and the base model, and differ only in what later
iterations generate.

Slices "mined as weak" are the weak slices of the hard arm's plans (it001 is mined from the shared
base evaluation, so it is the same for both arms). Each slice is scored on the last iteration's
evaluation of the audit set (drawn like the in-distribution set, never mined; the in-distribution
set when the profile has no `audit_docs`): Donut field F1 (the metric of the iterations table) over the slice's
pages, or over one field's leaves for a field slice; TEDS for slices whose pages are all tables
(kind = table). A layout-choice slice (`choice.total_label` = JUMLAH) is scored like a page slice when
it was mined as weak, and left out of "elsewhere" otherwise (so "elsewhere" means what it meant before
choices were slice columns). `--compare-only` prints the comparison of runs already made. The target (issue
8): hard − uniform ≥ +10 points on the mined-weak slices, ≥ −1 point elsewhere. One run, one seed:
read the spread of the per-slice deltas before reading much into a mean.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation.gold import has_view, load_gold
from docfactory.engine.loop.run import eval_name, evalset_dir
from docfactory.engine.loop.state import iterations
from docfactory.engine.mining import CHOICE, SLICE_COLUMNS
from docfactory.evaluate.fields import flatten, normalize_dict

TARGET_WEAK, TARGET_OTHER = 0.10, -0.01
ENGINE = [sys.executable, "-m", "docfactory.cli", "run"]

TEDS_SQL = """
SELECT {expr} AS value, avg(coalesce(e.teds, 0)) AS teds
FROM table_errors e JOIN slices s ON s.doc_id = e.doc_id AND s.page = e.page AND s."copy" IS NOT DISTINCT FROM e."copy"
WHERE e.name = ? GROUP BY 1
"""
PAGE_COLUMNS = [c for c in SLICE_COLUMNS if c not in ("field", "error_type")]  # slices of pages


def engine_run(out: Path, iterations_: int, profile: str, seed: int, strategy: str, budget: int | None) -> float:
    started = time.perf_counter()
    cmd = [*ENGINE, "--out", str(out), "--iterations", str(iterations_), "--profile", profile, "--seed", str(seed),
           "--strategy", strategy, *(["--budget", str(budget)] if budget else [])]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


class Scores:
    """One arm's last in-distribution evaluation as per-page counts, so that any set of pages (a
    slice, a bootstrap resample of documents) is scored by sums: Donut F1 = tp / (tp + errors / 2)
    (leaves match as a multiset within a page), TEDS = mean over the tables."""

    def __init__(self, run: Path, iteration: int, evalset: str = "in_dist"):
        name = eval_name(iteration)
        preds = {}
        for line in (run / "loop" / "predictions" / f"{name}-{evalset}.jsonl").read_text().splitlines():
            row = json.loads(line) if line.strip() else {}
            if row and row.get("copy") is None:
                preds[(row["doc_id"], row["page"])] = row.get("fields") or {}
        with open_catalog(evalset_dir(run, evalset), read_only=True) as catalog:
            gold = {key: page.tree for key, page in load_gold(catalog).items()}
            self.pages = sorted(gold)
            index = {key: i for i, key in enumerate(self.pages)}
            self.fields: dict[str, list[tuple[int, int]]] = {}  # Donut leaf key -> per page (tp, errors)
            self.all = []
            for key in self.pages:
                per_key = _counts(flatten(normalize_dict(preds.get(key, {}))), flatten(normalize_dict(gold[key])))
                self.all.append(tuple(map(sum, zip((0, 0), *per_key.values()))))
                for leaf_key, counts in per_key.items():
                    self.fields.setdefault(leaf_key, [(0, 0)] * len(self.pages))[index[key]] = counts
            self.teds = [(0.0, 0)] * len(self.pages)  # per page (sum of TEDS, tables)
            for doc_id, page, total, n in catalog.sql(
                    'SELECT doc_id, page, sum(coalesce(teds, 0)), count(*) FROM table_errors WHERE name = ? AND "copy" IS NULL '
                    "GROUP BY ALL", [name]).fetchall():
                if (doc_id, page) in index:
                    self.teds[index[(doc_id, page)]] = (total, n)
            self.slices: dict[tuple[str, str], list[int]] = {}
            self.table_only: dict[tuple[str, str], bool] = {}
            for column in PAGE_COLUMNS:
                for doc_id, page, value, kind in catalog.sql(f"SELECT s.doc_id, s.page, {SLICE_COLUMNS[column][0]}, s.kind "
                                                             'FROM slices s WHERE s."copy" IS NULL').fetchall():
                    if value is not None and (doc_id, page) in index:
                        self.slices.setdefault((column, str(value)), []).append(index[(doc_id, page)])
                        self.table_only[(column, str(value))] = self.table_only.get((column, str(value)), True) and kind == "table"
            if has_view(catalog, "slices", ("choices",)):  # every recorded layout choice: choice.NAME = option
                for doc_id, page, choices, kind in catalog.sql('SELECT s.doc_id, s.page, s.choices, s.kind FROM slices s '
                                                               'WHERE s."copy" IS NULL').fetchall():
                    for name, value in json.loads(choices or "{}").items() if (doc_id, page) in index else ():
                        key = (CHOICE + name, value)
                        self.slices.setdefault(key, []).append(index[(doc_id, page)])
                        self.table_only[key] = self.table_only.get(key, True) and kind == "table"
            patterns = catalog.sql("SELECT DISTINCT field_pattern FROM field_errors WHERE name = ?", [name]).fetchall()
        # field slices by their pattern; "items.amount" (a predicted dict where the gold has a list) is
        # the same Donut leaf key as "items.*.amount"
        self.field_of: dict[tuple[str, str], str] = {}
        for (pattern,) in sorted(patterns, key=lambda p: (-p[0].count("*"), p[0])):
            key = ".".join(part for part in pattern.split(".") if part != "*")
            if key in self.fields and key not in self.field_of.values():
                self.field_of[("field", pattern)] = key
        self.docs = sorted({doc_id for doc_id, _ in self.pages})

    def metrics(self, weights: list[int] | None = None) -> dict[tuple[str, str], dict]:
        """(column, value) -> {support, metric, value}; `weights`: a multiplicity per page."""
        w = weights or [1] * len(self.pages)
        out = {}
        for key, members in self.slices.items():
            support = sum(w[i] * (self.all[i][0] + self.all[i][1]) for i in members)
            tables = sum(w[i] * self.teds[i][1] for i in members)
            if self.table_only[key] and tables:
                value = sum(w[i] * self.teds[i][0] for i in members) / tables
                out[key] = {"support": support, "metric": "teds", "value": value}
            elif any(w[i] for i in members):
                out[key] = {"support": support, "metric": "field_f1", "value": _f1([(w[i], self.all[i]) for i in members])}
        for key, leaf_key in self.field_of.items():
            counts = self.fields[leaf_key]
            support = sum(w[i] * (counts[i][0] + counts[i][1]) for i in range(len(w)))
            if support:
                out[key] = {"support": support, "metric": "field_f1", "value": _f1(list(zip(w, counts)))}
        out[("overall", "field_f1")] = {"support": 0, "metric": "field_f1", "value": _f1(list(zip(w, self.all)))}
        return out

    def resample(self, rng: random.Random) -> list[int]:
        """Page multiplicities of one bootstrap resample of the evaluation documents."""
        drawn = collections.Counter(rng.choice(self.docs) for _ in self.docs)
        return [drawn[doc_id] for doc_id, _ in self.pages]


def _counts(pred: list, gold: list) -> dict[str, tuple[int, int]]:
    """Donut's cal_f1 matching on one page, per leaf key: (true positives, errors)."""
    remaining = list(gold)
    out: dict[str, list[int]] = {}
    for leaf in pred:
        entry = out.setdefault(leaf[0], [0, 0])
        if leaf in remaining:
            entry[0] += 1
            remaining.remove(leaf)
        else:
            entry[1] += 1
    for leaf in remaining:
        out.setdefault(leaf[0], [0, 0])[1] += 1
    return {k: (tp, err) for k, (tp, err) in out.items()}


def _f1(weighted: list[tuple[int, tuple[int, int]]]) -> float:
    tp = sum(w * c[0] for w, c in weighted)
    errors = sum(w * c[1] for w, c in weighted)
    return 1.0 if tp == errors == 0 else tp / (tp + errors / 2)


def mined_weak(run: Path, n_iterations: int) -> dict[tuple[str, str], int]:
    """The hard arm's weak slices -> the first plan that named them."""
    out: dict[tuple[str, str], int] = {}
    for k in range(1, n_iterations):
        plan = json.loads((run / "plans" / f"{eval_name(k)}.json").read_text())
        for s in plan["weak_slices"]:
            out.setdefault((s["column"], s["value"]), k)
    return out


def _summary(hard: dict, uniform: dict, weak: dict, min_support: int) -> dict:
    deltas = {"weak": [], "other": []}
    for key in set(hard) & set(uniform):
        if key[0] == "overall" or (key not in weak and (hard[key]["support"] < min_support or key[0].startswith(CHOICE))):
            continue
        deltas["weak" if key in weak else "other"].append(hard[key]["value"] - uniform[key]["value"])
    overall = hard[("overall", "field_f1")]["value"] - uniform[("overall", "field_f1")]["value"]
    return {"weak": statistics.fmean(deltas["weak"]) if deltas["weak"] else None,
            "other": statistics.fmean(deltas["other"]) if deltas["other"] else None, "overall": overall}


def compare(out: Path, n_iterations: int, min_support: int, resamples: int = 200, seed: int = 0) -> dict:
    last = n_iterations - 1
    # Scored on the audit set (drawn like in_dist, never mined) when the profile makes one: scoring on
    # the set mining read would reward a plan for fitting the very pages it was mined from.
    evalset = "audit" if (evalset_dir(out / "hard", "audit") / "catalog.duckdb").exists() else "in_dist"
    scores = {"hard": Scores(out / "hard", last, evalset), "uniform": Scores(out / "uniform", last, evalset)}
    hard, uniform = (scores[a].metrics() for a in ("hard", "uniform"))
    base = Scores(out / "hard", 0, evalset).metrics()
    weak = mined_weak(out / "hard", n_iterations)
    rows = []
    for key in sorted(set(hard) & set(uniform)):
        h, u, b = hard[key], uniform[key], base.get(key)
        if key[0] == "overall" or (key not in weak and (h["support"] < min_support or key[0].startswith(CHOICE))):
            continue  # too small to say anything about "elsewhere"; a choice counts only where mined
        rows.append({"column": key[0], "value": key[1], "support": h["support"], "metric": h["metric"],
                     "weak": key in weak, "base": b["value"] if b else None, "hard": h["value"], "uniform": u["value"],
                     "delta": h["value"] - u["value"]})
    # The noise floor: the same comparison on bootstrap resamples of the evaluation documents.
    rng, boot = random.Random(seed), []
    for _ in range(resamples):
        w = scores["hard"].resample(rng)
        boot.append(_summary(scores["hard"].metrics(w), scores["uniform"].metrics(w), weak, min_support))
    interval = {k: _interval([b[k] for b in boot if b[k] is not None]) for k in ("weak", "other", "overall")}
    runs = {arm: iterations(out / arm) for arm in ("hard", "uniform")}
    overall = {arm: {k: rs[-1][k] for k in ("field_f1", "teds", "holdout_field_f1", "holdout_teds")} for arm, rs in runs.items()}
    return {"rows": rows, "overall": overall, "evalset": evalset, "weak": _stats([r["delta"] for r in rows if r["weak"]]),
            "other": _stats([r["delta"] for r in rows if not r["weak"]]), "bootstrap_95": interval,
            "bootstrap_resamples": resamples,
            "per_iteration": {arm: [{k: r[k] for k in ("iteration", "strategy", "n_train", "field_f1", "teds", "wall_seconds")}
                                    for r in rs] for arm, rs in runs.items()}}


def _interval(values: list[float]) -> list[float] | None:
    if not values:
        return None
    values = sorted(values)
    return [values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]]


def _stats(deltas: list[float]) -> dict:
    if not deltas:
        return {"n": 0}
    return {"n": len(deltas), "mean": statistics.fmean(deltas), "median": statistics.median(deltas),
            "min": min(deltas), "max": max(deltas), "share_positive": sum(d > 0 for d in deltas) / len(deltas)}


def show(result: dict) -> None:
    print(f"\n{'slice':48} {'metric':8} {'n':>5} {'base':>6} {'hard':>6} {'unif':>6} {'delta':>7}")
    for r in sorted(result["rows"], key=lambda r: (not r["weak"], -r["delta"])):
        tag = "W " if r["weak"] else "  "
        base = "-" if r["base"] is None else f"{r['base']:.3f}"
        print(f"{tag}{r['column'] + '=' + r['value']:46.46} {r['metric']:8} {r['support']:5d} {base:>6} "
              f"{r['hard']:6.3f} {r['uniform']:6.3f} {100 * r['delta']:+7.1f}")
    w, o = result["weak"], result["other"]
    print(f"\n(W: mined as weak by the hard arm's plans; deltas in points, hard - uniform, last iteration, "
          f"scored on the {result['evalset']} set)")
    for label, s, target, ok in (("mined-weak slices", w, f">= +{100 * TARGET_WEAK:.0f}", w.get("mean", -1) >= TARGET_WEAK),
                                 ("other slices", o, f">= {100 * TARGET_OTHER:.0f}", o.get("mean", 0) >= TARGET_OTHER)):
        if not s["n"]:
            print(f"{label}: none")
            continue
        print(f"{label:18}: n={s['n']}, mean {100 * s['mean']:+.1f}, median {100 * s['median']:+.1f}, "
              f"min {100 * s['min']:+.1f}, max {100 * s['max']:+.1f}, {s['share_positive']:.0%} positive; "
              f"target mean {target} points: {'met' if ok else 'NOT met'}")
    for arm, m in result["overall"].items():
        print(f"overall {arm:8}: field F1 {m['field_f1']:.3f}, TEDS {m['teds']:.3f}, holdout field F1 "
              f"{m['holdout_field_f1'] if m['holdout_field_f1'] is None else round(m['holdout_field_f1'], 3)}")
    d = {k: result["overall"]["hard"][k] - result["overall"]["uniform"][k] for k in ("field_f1", "teds")}
    print(f"overall delta     : field F1 {100 * d['field_f1']:+.1f} points, TEDS {100 * d['teds']:+.1f} points")
    ci = result["bootstrap_95"]
    print(f"noise floor (95% interval over {result['bootstrap_resamples']} resamples of the evaluation documents): "
          + ", ".join(f"{k} mean delta {100 * v[0]:+.1f} .. {100 * v[1]:+.1f}" for k, v in ci.items() if v))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, help="documents per later iteration (default: the profile's)")
    parser.add_argument("--base", type=Path, help="an iteration-0 run of the same profile and seed to start from "
                        "(default OUT/base, made when missing)")
    parser.add_argument("--min-support", type=int, default=20, help="fewest comparisons an 'other' slice needs")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--compare-only", action="store_true", help="compare the runs already in --out")
    args = parser.parse_args()
    if args.iterations < 2:
        parser.error("--iterations: at least 2 (iteration 0 is shared)")
    args.out.mkdir(parents=True, exist_ok=True)
    seconds = {arm: None for arm in ("base", "hard", "uniform")}
    if not args.compare_only:
        base = args.base or args.out / "base"
        seconds["base"] = engine_run(base, 1, args.profile, args.seed, "hard", None)
        for arm in ("hard", "uniform"):
            if not (args.out / arm).exists():
                shutil.copytree(base, args.out / arm)
            seconds[arm] = engine_run(args.out / arm, args.iterations, args.profile, args.seed, arm, args.budget)
    result = compare(args.out, args.iterations, args.min_support)
    result.update(seconds=seconds, command=" ".join(sys.argv), profile=args.profile, seed=args.seed, budget=args.budget,
                  iterations=args.iterations, targets={"weak_mean_delta": TARGET_WEAK, "other_mean_delta": TARGET_OTHER})
    show(result)
    walls = {arm: sum(r["wall_seconds"] for r in rows) for arm, rows in result["per_iteration"].items()}
    print(f"loop seconds (sum of stage times, iteration 0 included): hard {walls['hard']:.0f}, uniform {walls['uniform']:.0f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
