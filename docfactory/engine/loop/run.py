"""`engine run`: the closed loop. Iteration 0 generates the training mix and the fixed evaluation
sets, augments, trains the base model, predicts and evaluates; each later iteration mines the
previous evaluation, saves a plan, generates `budget` new documents with the plan's weights,
augments, finetunes (LoRA, new pages + replay share), predicts and evaluates on the same sets.

The fixed evaluation sets are run folders of their own (RUN/evalsets/in_dist, holdout, audit and
real): training never reads them, and `engine evaluate` scores every page of a run, so each set's
evaluation covers exactly that set. in_dist holds new documents of the trained templates; holdout
the `holdout_templates`, which no iteration generates for training, and the held-out layout family
(`holdout_choices`: choice options no training, in_dist or audit document draws, and every holdout
document of a template that has them does; loop/holdout.py); audit (`audit_docs`) is
drawn like in_dist but never mined, so an A/B of strategies is scored on pages mining never read;
real is an imported labelled real set (`real_eval`). Mining reads in_dist (and real's weak fields):
a template the model is never meant to learn is not something more training data can fix. Every
evaluation's rows are also copied into the loop catalog's eval_* tables (column `evalset`), so one
catalog answers across sets and iterations.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from docfactory.engine.lock import locks_run
from docfactory.engine.loop import state
from docfactory.engine.loop.profile import LoopProfile, load_profile

EVAL_SETS = ("in_dist", "holdout", "audit", "real")
STEPS_FIRST = ("eval_sets", "generate", "augment", "train", "predict", "evaluate", "record")
STEPS_LATER = ("plan", "generate", "augment", "train", "predict", "evaluate", "record")


class LoopError(ValueError):
    pass


@dataclass
class LoopRequest:
    iterations: int
    profile: str = "default"
    strategy: str = "hard"  # hard | uniform
    budget: int | None = None  # default: the profile's
    seed: int = 0
    real_eval: str | None = None  # "DIR[:FORMAT]": a labelled real set (overrides the profile's real_eval)
    template_dirs: list[str] = field(default_factory=list)  # --templates: a team's template folders, trained on too


class Reporter:
    """Progress callbacks; the CLI's shows a live rich line, the default is silent."""

    def stage(self, iteration: int, step: str, skipped: bool = False) -> None: ...

    def advance(self, done: int, total: int | None) -> None: ...

    def log(self, message: str) -> None: ...


def evalset_dir(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / "evalsets" / name


def eval_name(iteration: int) -> str:
    return f"it{iteration:03d}"


def doc_prefix(iteration: int) -> str:
    return "doc" if iteration == 0 else f"it{iteration:03d}"  # a new doc-id prefix per iteration


@locks_run(create=True)
def run_loop(run_dir: Path | str, request: LoopRequest, reporter: Reporter | None = None) -> list[dict]:
    """Run (or resume) the loop up to `request.iterations`; returns the `iterations` rows."""
    if request.strategy not in ("hard", "uniform"):
        raise LoopError(f"unknown strategy {request.strategy!r} (known: hard, uniform)")
    profile = with_real_eval(load_profile(request.profile), request.real_eval)
    run_dir = Path(run_dir).resolve()
    reporter = reporter or Reporter()
    loop = _Loop(run_dir, profile, request, reporter)
    # Iteration 0 depends on neither the strategy nor the budget (no plan yet), so those are claimed
    # apart and only once a later iteration is asked for: a run stopped after iteration 0 can be
    # copied and continued with either strategy or budget (benchmarks/loop_ab.py); a run that
    # mixes them is still refused.
    claimed = profile.model_dump()
    for key in ("real_eval", "audit_docs", "holdout_choices"):  # runs made before these keys existed claimed none
        if not claimed[key]:
            del claimed[key]
    del claimed["executor"]["task_timeout"]  # how long a task may run, not what it makes: a resume may change it
    loop_claim = {"profile": claimed, "seed": request.seed}
    if request.template_dirs:  # claimed only when given, so runs made without --templates resume as before
        loop_claim["template_dirs"] = list(request.template_dirs)
    state.init(run_dir, loop_claim)
    if request.iterations > 1:
        state.claim(run_dir, "loop/later", {"strategy": request.strategy, "budget": loop.budget})
    from docfactory.engine.executor import make_executor

    with make_executor(profile.executor.options(), profile.executor.workers) as executor:
        loop.executor = executor
        for k in range(request.iterations):
            loop.iteration(k)
    return state.iterations(run_dir)


def with_real_eval(profile: LoopProfile, spec: str | None) -> LoopProfile:
    """The profile with `--real-eval DIR[:FORMAT]` in place of its own real_eval (FORMAT default sroie)."""
    if not spec:
        return profile
    from docfactory.engine.loop.profile import RealEvalOptions
    from docfactory.engine.real_sets import READERS

    src, _, fmt = spec.rpartition(":") if spec.rsplit(":", 1)[-1] in READERS else (spec, "", "sroie")
    if not Path(src).exists():
        raise LoopError(f"--real-eval {spec}: {src} not found")
    return profile.model_copy(update={"real_eval": RealEvalOptions(src=str(Path(src).resolve()), format=fmt)})


class _Loop:
    def __init__(self, run_dir: Path, profile: LoopProfile, request: LoopRequest, reporter: Reporter):
        self.run_dir, self.profile, self.request, self.reporter = run_dir, profile, request, reporter
        self.budget = request.budget or profile.budget
        self.executor = None
        from docfactory.templates import TemplateRegistry

        registry = TemplateRegistry(request.template_dirs)
        if registry.errors:  # a broken team template would otherwise just not be trained on
            raise LoopError("; ".join(str(exc) for exc in registry.errors.values()))
        known = registry.names()
        unknown = sorted(set(profile.holdout_templates) - set(known))
        if unknown:
            raise LoopError(f"holdout_templates: unknown template(s) {', '.join(unknown)} (known: {', '.join(known)})")
        self.train_templates = [t for t in known if t not in profile.holdout_templates]
        from docfactory.engine.loop.holdout import HoldoutFamily

        try:
            self.family = HoldoutFamily.of(profile.holdout_choices, [registry.get(t) for t in self.train_templates],
                                           [registry.get(t) for t in profile.holdout_templates])
        except ValueError as exc:
            raise LoopError(str(exc)) from None
        unknown = sorted(set(profile.initial_weights.get("template", {})) - set(self.train_templates))
        if unknown:
            raise LoopError(f"initial_weights.template: {', '.join(unknown)} not among the trained templates "
                            f"({', '.join(self.train_templates)})")

    def iteration(self, k: int) -> None:
        done = state.done_steps(self.run_dir)
        for step in STEPS_FIRST if k == 0 else STEPS_LATER:
            if (k, step) in done:
                self.reporter.stage(k, step, skipped=True)
                continue
            self.reporter.stage(k, step)
            if step in ("predict", "evaluate"):  # they read the evaluation sets' documents: refuse a corrupt one
                from docfactory.engine.shards import verify_listed

                for name in self.eval_sets():
                    verify_listed(evalset_dir(self.run_dir, name), ("documents",))
            started = time.perf_counter()
            getattr(self, f"_{step}")(k)
            state.mark_done(self.run_dir, k, step, round(time.perf_counter() - started, 3))

    # -- steps --------------------------------------------------------------------------------
    def _eval_sets(self, k: int) -> None:
        p = self.profile
        trained = self.family.excluded({})  # the held-out family is no more in_dist than in training
        self._generate_into(evalset_dir(self.run_dir, "in_dist"), p.eval_docs, self.train_templates, "eval", 0, trained)
        held = sorted(set(p.holdout_templates) | set(self.family.templates))
        if held and p.holdout_docs:
            self._generate_into(evalset_dir(self.run_dir, "holdout"), p.holdout_docs, held, "holdout", 0,
                                self.family.forced() if self.family else {})
        if p.audit_docs:  # drawn like in_dist (new doc ids: new documents), never mined: what an A/B is scored on
            self._generate_into(evalset_dir(self.run_dir, "audit"), p.audit_docs, self.train_templates, "audit", 0, trained)
        if p.real_eval is not None:
            from docfactory.engine.real_sets import ImportRequest, import_set

            r = p.real_eval
            request = ImportRequest(src=Path(r.src), fmt=r.format, field_map=r.field_map, word_source=r.word_source,
                                    workers=p.executor.workers)
            import_set(evalset_dir(self.run_dir, "real"), request, on_page=lambda done, total: self.reporter.advance(done, total))

    def _plan(self, k: int) -> None:
        from docfactory.engine.mining import save_plan

        real = evalset_dir(self.run_dir, "real") if self.profile.real_eval and self.profile.real_eval.mine else None
        plan = plan_from(evalset_dir(self.run_dir, "in_dist"), eval_name(k - 1), k, self.budget, self.request.strategy,
                         self.profile, predictions=self.predictions(k - 1, "in_dist"), templates=self.train_templates,
                         real=real if real is not None and "real" in self.eval_sets() else None,
                         template_dirs=self.request.template_dirs)
        save_plan(self.run_dir, plan)
        self.reporter.log(f"iteration {k}: {len(plan.weak_slices)} weak slices, {len(plan.variants)} hard variants; "
                          f"plan weights {json.dumps(plan.weights)}")

    def _generate(self, k: int) -> None:
        n = self.profile.initial_docs if k == 0 else self.budget
        self._generate_into(self.run_dir, n, self.train_templates, doc_prefix(k), k, self.plan_weights(k))

    def _augment(self, k: int) -> None:
        from docfactory.engine.augment import AugmentConfig, run_augment

        a = self.profile.augment
        weights = {key: v for key, v in self.plan_weights(k).items() if key.startswith("augment_")}
        if a.preset_weights:
            weights["augment_preset"] = {**a.preset_weights, **weights.get("augment_preset", {})}
        cfg = AugmentConfig(preset=a.preset, copies=a.copies, seed=self.request.seed, workers=self.profile.executor.workers,
                            weights=weights, iteration=k, levels=tuple(a.levels))
        summary = run_augment(self.run_dir, cfg, on_shard=lambda info, pages: self._tick(info.rows), executor=self.executor)
        _fail_on(summary.failed_shards, "augment")

    def _train(self, k: int) -> None:
        from docfactory.engine.train_step import TrainRequest, models_dir, run_train

        if (models_dir(self.run_dir, self.profile.model) / eval_name(k) / "done.json").exists():
            return  # trained, killed before the step was recorded
        request = TrainRequest(model=self.profile.model, iteration=k, profile=self.profile.trainer_profile,
                               options=self.profile.train_options(), argv=["engine", "run", str(self.run_dir)])
        run_train(self.run_dir, request, log=self.reporter.log)

    def _predict(self, k: int) -> None:
        from docfactory.engine.predict_step import PredictRequest, run_predict
        from docfactory.engine.train_step import models_dir

        for name in self.eval_sets():
            request = PredictRequest(model=self.profile.model, out=self.predictions(k, name),
                                     checkpoint=models_dir(self.run_dir, self.profile.model), iteration=k,
                                     profile=self.profile.trainer_profile, word_source="pdf")
            run_predict(evalset_dir(self.run_dir, name), request, on_page=lambda done, total: self.reporter.advance(done, total))

    def _evaluate(self, k: int) -> None:
        from docfactory.engine.evaluation import evaluate_run

        for name in self.eval_sets():
            rule = self.profile.real_eval.rule() if name == "real" and self.profile.real_eval else None
            evaluate_run(evalset_dir(self.run_dir, name), self.predictions(k, name), name=eval_name(k), match=rule)
            state.copy_evaluation(self.run_dir, name, evalset_dir(self.run_dir, name), eval_name(k))

    def _record(self, k: int) -> None:
        from docfactory.engine.catalog import open_catalog

        summaries = {name: json.loads((evalset_dir(self.run_dir, name) / "eval" / eval_name(k) / "summary.json").read_text())
                     for name in self.eval_sets()}
        with open_catalog(self.run_dir, read_only=True) as catalog:
            n_new, n_total = catalog.sql(
                "SELECT count(*) FILTER (WHERE starts_with(doc_id, ?)), count(*) FROM documents WHERE split = 'train'",
                [doc_prefix(k) + "-"]).fetchone()
        seconds = {step: s for (i, step), s in state.done_steps(self.run_dir).items() if i == k}
        overall = {name: _headline(s, self.gold_tables(name)) for name, s in summaries.items()}
        state.record_iteration(self.run_dir, {
            "iteration": k, "strategy": "base" if k == 0 else self.request.strategy, "n_train": n_new, "n_train_total": n_total,
            "field_f1": overall["in_dist"]["field_f1"], "teds": overall["in_dist"]["teds"],
            "holdout_field_f1": overall.get("holdout", {}).get("field_f1"), "holdout_teds": overall.get("holdout", {}).get("teds"),
            "real_field_f1": overall.get("real", {}).get("field_f1"), "real_match": overall.get("real", {}).get("match_mean"),
            "audit_field_f1": overall.get("audit", {}).get("field_f1"),
            "metrics": overall, "slices": {name: s["slices"] for name, s in summaries.items()},
            "stage_seconds": seconds, "wall_seconds": round(sum(seconds.values()), 3)})

    # -- helpers ------------------------------------------------------------------------------
    def eval_sets(self) -> list[str]:
        return [n for n in EVAL_SETS if (evalset_dir(self.run_dir, n) / "catalog.duckdb").exists()]

    def gold_tables(self, name: str) -> int:
        from docfactory.engine.catalog import open_catalog

        with open_catalog(evalset_dir(self.run_dir, name), read_only=True) as catalog:
            return catalog.sql("SELECT coalesce(sum(len(tables)), 0) FROM documents").fetchone()[0]

    def predictions(self, k: int, name: str) -> Path:
        return self.run_dir / "loop" / "predictions" / f"{eval_name(k)}-{name}.jsonl"

    def plan_weights(self, k: int) -> dict:
        """The spec sampler's weights for iteration k: the profile's initial mix, with the knobs a
        plan sets replaced by the plan's (a uniform plan sets none, so it keeps the initial mix), and
        the held-out family's options at 0."""
        initial = {knob: dict(table) for knob, table in self.profile.initial_weights.items()}
        if k == 0:
            return self.family.excluded(initial)
        plan = json.loads((self.run_dir / "plans" / f"{eval_name(k)}.json").read_text())
        weights = self.family.excluded({**initial, **plan["weights"]})
        return {**weights, "variants": plan["variants"]} if plan.get("variants") else weights

    def _generate_into(self, folder: Path, n: int, templates: list[str], prefix: str, k: int, weights: dict) -> None:
        from docfactory.engine.generate import GenerateConfig, run_generate

        cfg = GenerateConfig(n=n, seed=self.request.seed, templates=templates, workers=self.profile.executor.workers,
                             shard_docs=self.profile.shard_docs, prefix=prefix, iteration=k, weights=weights,
                             template_dirs=list(self.request.template_dirs),
                             task_timeout=self.profile.executor.task_timeout or None)
        self.reporter.advance(0, n)
        count = [0]

        def on_shard(info, docs, pages) -> None:
            count[0] += docs
            self.reporter.advance(count[0], n)

        summary = run_generate(folder, cfg, on_shard=on_shard, executor=self.executor)
        if summary.template_errors:
            raise LoopError("; ".join(summary.template_errors))
        _fail_on(summary.failed_shards, "generate")

    def _tick(self, rows: int) -> None:
        self.reporter.advance(rows, None)


def plan_from(evalset: Path, name: str, iteration: int, budget: int, strategy: str, profile: LoopProfile,
              predictions: Path | None = None, templates: list[str] | None = None, real: Path | None = None,
              template_dirs: list[str] = ()):
    """Mine evaluation `name` of an evaluation set (with the confidences of `predictions`) into
    the next plan; hard variants only of `templates` (those the loop trains on; `template_dirs`:
    where those not built in are). With `real` (an imported real set evaluated under the same
    name), its weak fields and kinds join the slices and tilt the trained templates that print them."""
    from docfactory.engine.catalog import open_catalog
    from docfactory.engine.mining import mine_plan, real_weak_slices

    extra = None
    if real is not None:
        with open_catalog(real, read_only=True) as catalog:
            extra = real_weak_slices(catalog, name, min_support=profile.min_support)
    with open_catalog(evalset, read_only=True) as catalog:
        return mine_plan(catalog, name, iteration, budget, strategy, min_support=profile.min_support,
                         replay_share=profile.replay_share, tilt=profile.tilt, variant_share=profile.variant_share,
                         templates=templates, predictions=predictions, real_slices=extra, template_dirs=template_dirs)


def _headline(summary: dict, gold_tables: int) -> dict:
    """The metrics the iterations table keeps. A set with no gold tables has no TEDS (None, shown
    as "-"), though its evaluation scores any predicted table as an extra one at 0. A set scored
    with a dataset match rule (a real set) keeps its per-field accuracy and their mean; every set
    keeps its OCR ceiling."""
    overall = summary["overall"]
    keys = ("pages", "field_f1", "field_exact_rate", "teds", "teds_s", "ted_acc", "field_errors", "table_errors")
    row = {key: overall.get(key) for key in keys}
    match = summary.get("match") or {}
    row["match_rule"], row["match_mean"] = match.get("rule"), match.get("mean_of_fields")
    row["match_fields"] = {f: v["accuracy"] for f, v in (match.get("fields") or {}).items()}
    row["ocr_ceiling"] = (summary.get("ocr_ceiling") or {}).get("overall")
    if gold_tables == 0:
        row["teds"] = row["teds_s"] = None
    return row


def _fail_on(failed: list[str], step: str) -> None:
    if failed:
        raise LoopError(f"{step}: {len(failed)} shard task(s) failed (rerun to make them): {failed[0]}")


__all__ = ["LoopError", "LoopRequest", "Reporter", "load_profile", "run_loop"]
