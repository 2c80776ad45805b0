"""engine run: the closed loop (its steps live in docfactory.engine.loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from docfactory.commands.common import TemplateDirs, _lock_run, console, err, fail


def run_loop_cmd(
    out: Annotated[Path, typer.Option("--out", help="Run folder (created; the same command resumes it).")],
    iterations: Annotated[int, typer.Option("--iterations", help="Loop iterations (0 = the base model).", min=1)] = 3,
    profile: Annotated[str, typer.Option(help="tiny | default | full, or a profile YAML file.")] = "default",
    strategy: Annotated[str, typer.Option(help="hard (mined plan) | uniform (the initial mix: the control arm).")] = "hard",
    budget: Annotated[Optional[int], typer.Option(help="New documents per later iteration (default: the profile's).", min=1)] = None,
    seed: Annotated[int, typer.Option(help="Run seed.")] = 0,
    real_eval: Annotated[Optional[str], typer.Option("--real-eval", help="DIR[:FORMAT] (FORMAT: sroie (default), donut, "
                         "funsd, json, pubtabnet): a labelled real set imported once into RUN/evalsets/real and scored "
                         "every iteration; mining takes its weak fields too. Never trained on.")] = None,
    templates: TemplateDirs = None,
) -> None:
    """The closed loop: generate, augment, train, predict, evaluate; then mine, plan, resynthesize, finetune.
    With --templates, a team's templates are generated, trained on and evaluated beside the built-in ones."""
    from docfactory.engine.loop.cli import run_command

    _lock_run(out, create=True)
    run_command(out, iterations, profile, strategy, budget, seed, console, err, fail, real_eval,
                [str(d.resolve()) for d in templates or []])
