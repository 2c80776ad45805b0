"""`engine run`'s display: a live rich line per stage (iteration, step, progress, elapsed), the
trainer's log above it, and a table of the iterations at the end. The command stays thin."""

from __future__ import annotations

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
                console, err, fail) -> None:
    from docfactory.engine.catalog import StepConfigMismatch
    from docfactory.engine.loop import LoopError, LoopRequest, ProfileError, run_loop

    request = LoopRequest(iterations=iterations, profile=profile, strategy=strategy, budget=budget, seed=seed)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=False) as progress:
            rows = run_loop(out, request, RichReporter(progress))
    except (LoopError, ProfileError, StepConfigMismatch, ValueError, RuntimeError, FileNotFoundError) as exc:
        fail(str(exc).strip("'\""))
    table = Table("iteration", "strategy", "train pages (new/total)", "field F1", "TEDS", "holdout F1", "seconds",
                  title=f"engine run {out}")
    for r in rows:
        table.add_row(str(r["iteration"]), r["strategy"], f"{r['n_train']}/{r['n_train_total']}", _num(r["field_f1"]),
                      _num(r["teds"]), _num(r["holdout_field_f1"]), f"{r['wall_seconds']:.0f}")
    console.print(table)
    console.print(f"report: engine report {out}; plans: {out}/plans/; "
                  f"engine query {out} \"SELECT * FROM iterations\"", highlight=False, soft_wrap=True)


def _num(value) -> str:
    return "-" if value is None else f"{value:.3f}"
