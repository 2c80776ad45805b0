"""`engine run`'s display: a live rich line per stage (iteration, step, progress, elapsed), the
trainer's log above it, and a table of the iterations at the end. The command stays thin."""

from __future__ import annotations

import json
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from docfactory.engine.loop.run import Reporter


class RichReporter(Reporter):
    def __init__(self, progress: Progress):
        self.progress, self.task = progress, None

    def stage(self, iteration: int, step: str, skipped: bool = False) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total or 1, total=self.progress.tasks[-1].total or 1)
            self.progress.stop_task(self.task)
        label = f"it{iteration:03d} {step}" + (" (done earlier)" if skipped else "")
        self.task = self.progress.add_task(label, total=None if not skipped else 1, completed=1 if skipped else 0)
        if skipped:
            self.progress.stop_task(self.task)
            self.task = None

    def advance(self, done: int, total: int | None) -> None:
        if self.task is not None:
            if total is None:
                self.progress.advance(self.task, done)
            else:
                self.progress.update(self.task, completed=done, total=total)

    def log(self, message: str) -> None:
        self.progress.console.print(f"  {message}", highlight=False, soft_wrap=True, style="dim")


def run_command(out: Path, iterations: int, profile: str, strategy: str, budget: int | None, seed: int,
                console, err, fail, real_eval: str | None = None, template_dirs: list[str] | None = None) -> None:
    from docfactory.engine.catalog import StepConfigMismatch
    from docfactory.engine.loop import LoopError, LoopRequest, ProfileError, run_loop
    from docfactory.templates import TemplateError

    request = LoopRequest(iterations=iterations, profile=profile, strategy=strategy, budget=budget, seed=seed,
                          real_eval=real_eval, template_dirs=list(template_dirs or []))
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=False) as progress:
            rows = run_loop(out, request, RichReporter(progress))
    except (LoopError, ProfileError, StepConfigMismatch, TemplateError, ValueError, RuntimeError, FileNotFoundError) as exc:
        fail(str(exc).strip("'\""))
    real = any(r.get("real_field_f1") is not None for r in rows)
    table = Table("iteration", "strategy", "train pages (new/total)", "field F1", "TEDS", "holdout F1",
                  *(("real F1", "real match") if real else ()), "seconds", title=f"engine run {out}")
    for r in rows:
        extra = (_num(r.get("real_field_f1")), _num(r.get("real_match"))) if real else ()
        table.add_row(str(r["iteration"]), r["strategy"], f"{r['n_train']}/{r['n_train_total']}", _num(r["field_f1"]),
                      _num(r["teds"]), _num(r["holdout_field_f1"]), *extra, f"{r['wall_seconds']:.0f}")
    console.print(table)
    console.print(f"report: engine report {out}; plans: {out}/plans/; "
                  f"engine query {out} \"SELECT * FROM iterations\"", highlight=False, soft_wrap=True)


def _num(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def mine_command(run: Path, name: str | None, iteration: int | None, min_support: int, budget: int, limit: int,
                 console, fail) -> None:
    """`engine mine`: the ranked weak slices, the least sure answers and the plan they give. On a
    loop run folder it mines the in-distribution evaluation set with the loop's predictions
    (confidences) and shows the plan the loop stored for the next iteration, hard variants included."""
    from docfactory.engine.catalog import open_catalog
    from docfactory.engine.loop.run import evalset_dir, eval_name
    from docfactory.engine.mining import (Plan, latest_evaluation, low_confidence, mine_plan, overall_failure_rate,
                                          weak_slices)
    from docfactory.engine.plan_tables import grouped_weights, weight_tables

    loop_run = (evalset_dir(run, "in_dist") / "catalog.duckdb").exists()
    catalog_dir = evalset_dir(run, "in_dist") if loop_run else run
    with open_catalog(catalog_dir, read_only=True) as catalog:
        name = name or (eval_name(iteration) if iteration is not None else latest_evaluation(catalog))
        if name is None:
            fail(f"{run}: no evaluation to mine (run engine evaluate first)")
        base, n = overall_failure_rate(catalog, name)
        if n == 0:
            fail(f"{run}: no field comparisons for evaluation {name!r}")
        predictions = _predictions_of(run, catalog_dir, name, loop_run)
        stored = run / "plans" / f"it{int(name[2:]) + 1:03d}.json" if loop_run and name[2:].isdigit() else None
        if stored is not None and stored.exists():
            plan = Plan(**json.loads(stored.read_text()))
            if predictions is not None:
                from docfactory.engine.mining import join_confidences

                join_confidences(catalog, predictions)
            slices, low = weak_slices(catalog, name, min_support=min_support), low_confidence(catalog, name)
        else:
            plan = mine_plan(catalog, name, (iteration or 0) + 1, budget, min_support=min_support, predictions=predictions)
            slices, low = weak_slices(catalog, name, min_support=min_support), plan.low_confidence
    console.print(f"evaluation {name}: {n} field comparisons, overall failure rate {base:.3f}"
                  + ("" if predictions else " (no confidences: predictions file not found)"), highlight=False)
    table = Table("rank", "slice", "value", "support", "failure", "95% CI", "score", "confidence", title="weak slices")
    for i, s in enumerate(slices[:limit], 1):
        table.add_row(str(i), s.column, s.value, str(s.support), f"{s.failure_rate:.3f}",
                      f"{s.lower:.3f}-{s.upper:.3f}", f"{s.score:+.3f}", _num(s.confidence))
    console.print(table)
    if low:
        answers = Table("doc_id", "page", "field", "gold", "prediction", "error", "confidence", title="least sure answers")
        for a in low[:limit]:
            answers.add_row(a["doc_id"], str(a["page"]), a["field"], _short(a["gold"]), _short(a["pred"]),
                            a["error_type"] or "ok", f"{a['confidence']:.3f}")
        console.print(answers)
    source = f"stored plan {stored}" if stored is not None and stored.exists() else "plan"
    console.print(f"{source} for the next batch ({plan.strategy}): {plan.budget} documents, replay share "
                  f"{plan.replay_share:.0%}; knob values not listed weigh 1", highlight=False, soft_wrap=True)
    weights = Table("knob", "value", "weight")
    for knob, values in weight_tables(plan.weights):
        for value, w in grouped_weights(values):
            weights.add_row(knob, value, f"{w:.2f}")
    console.print(weights)
    if plan.variants:
        variants = Table("#", "varies", "template", "knobs", "pushed", "why", title=f"{len(plan.variants)} hard variants")
        for i, v in enumerate(plan.variants[:limit]):
            knobs = ", ".join(f"{k}={v['knobs'][k]}" for k in ("locale", "currency", "n_items", "font"))
            variants.add_row(str(i), v["source"], v["template"], knobs, json.dumps(v["push"]) if v["push"] else "-",
                             v["reason"])
        console.print(variants)


def _predictions_of(run: Path, catalog_dir: Path, name: str, loop_run: bool) -> Path | None:
    """The predictions file an evaluation scored: the loop's own, else the one its summary names."""
    if loop_run:
        path = run / "loop" / "predictions" / f"{name}-in_dist.jsonl"
        return path if path.exists() else None
    summary = catalog_dir / "eval" / name / "summary.json"
    if summary.exists():
        path = Path(json.loads(summary.read_text()).get("predictions") or "")
        return path if path.is_file() else None
    return None


def _short(value, width: int = 40) -> str:
    text = "-" if value is None else str(value).replace("\n", " | ")
    return text if len(text) <= width else text[: width - 1] + "…"
