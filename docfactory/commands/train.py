"""engine pretrain, train and predict: the model side (LeJEPA pretraining, registered models' training
and prediction)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from docfactory.commands.common import (ExecutorOpt, HoldoutOpt, RayAddressOpt, SetOpt, _executor, _lock_run, _verify,
                                        console, err, fail)


def pretrain(
    run: Annotated[Path, typer.Argument(help="Run folder with pretrain shards (engine emit).")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default RUN/models/lejepa/it000, where engine train --model lejepa writes); resumed if it holds a checkpoint.")] = None,
    scale: Annotated[str, typer.Option(help="Defaults: tiny (tests, CPU) | small (ViT-S/16) | full (projector 8192).")] = "small",
    steps: Annotated[Optional[int], typer.Option(min=1)] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=2)] = None,
    lambd: Annotated[Optional[float], typer.Option("--lambda", help="SIGReg weight λ (0.02-0.05 at full batch sizes).")] = None,
    lr: Annotated[Optional[float], typer.Option()] = None,
    proj_dim: Annotated[Optional[int], typer.Option("--proj-dim", help="Projector output width.")] = None,
    split: Annotated[Optional[str], typer.Option(help="Pretrain rows to use: a split or `all`.")] = None,
    seed: Annotated[Optional[int], typer.Option()] = None,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda[:N].")] = None,
    probe: Annotated[bool, typer.Option("--probe/--no-probe", help="Linear probes: pretrained vs random-init encoder.")] = True,
    transition: Annotated[bool, typer.Option("--transition", help="Then stage A (encoder frozen) and B (differential LR) on template classification.")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore an existing checkpoint in --out.")] = False,
) -> None:
    """LeJEPA pretraining of a ViT encoder on RUN's block-masked pretrain shards."""
    from docfactory.train.lejepa import make_config
    from docfactory.train.lejepa.pipeline import pretrain_and_measure

    if out is None:
        _lock_run(run)  # it writes RUN/models/lejepa/it000
    try:
        cfg = make_config(scale, steps=steps, batch_size=batch_size, lambd=lambd, lr=lr, proj_dim=proj_dim, split=split,
                          seed=seed, device=device)
        report = pretrain_and_measure(run, out or run / "models" / "lejepa" / "it000", cfg, probe=probe, transition=transition,
                                      resume=not fresh, argv=sys.argv,
                                      on_log=lambda r: err.print(f"step {r['step']}: loss {r['loss']:.4f} prediction "
                                                                 f"{r['prediction']:.4f} sigreg {r['sigreg']:.3f} std {r['std']:.3f}",
                                                                 highlight=False))
    except (FileNotFoundError, KeyError, ValueError) as exc:
        fail(str(exc).strip('"'))
    for warning in report["warnings"]:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"pretrained {report['steps']} steps -> {report['encoder']}", highlight=False, soft_wrap=True)
    for task, row in report.get("probe", {}).items():
        console.print(f"linear probe {task}: pretrained {row['pretrained']:.3f}, random init {row['random_init']:.3f} "
                      f"({row['n_train']} train / {row['n_eval']} eval)", highlight=False, soft_wrap=True)
    for stage in report.get("transition", []):
        console.print(f"stage {stage['stage']}: loss {stage['loss_first']:.3f} -> {stage['loss_last']:.3f}, weight change "
                      f"encoder {stage['encoder_change']:.2e}, adapter {stage['adapter_change']:.2e}", highlight=False)


def train(
    run: Annotated[str, typer.Argument(help="Run folder or fsspec URL (the model is uploaded to RUN/models when done).")],
    model: Annotated[str, typer.Option(help="Registered model: layout | vlm | ... (engine train --model X).")] = "layout",
    iteration: Annotated[int, typer.Option(help="0: train in full; K > 0: LoRA on iteration K's pages + replay (layout).", min=0)] = 0,
    profile: Annotated[Optional[str], typer.Option(help="tiny | default | full (layout's profiles.yaml).")] = None,
    sets: SetOpt = None,
    holdout_templates: HoldoutOpt = None,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore a checkpoint or finished training of this iteration.")] = False,
    base: Annotated[Optional[Path], typer.Option("--base", help="vlm: the local checkpoint folder to finetune (same as --set base=PATH).")] = None,
) -> None:
    """Train a model on RUN's training split -> RUN/models/MODEL/itNNN (run.yaml, scalars, resumable checkpoints)."""
    import json as _json

    from docfactory.engine.train_step import TrainRequest, parse_sets, run_train

    _lock_run(run)
    try:
        options = parse_sets(sets or []) | ({"base": str(base.expanduser().resolve())} if base else {})
        request = TrainRequest(model=model, iteration=iteration, profile=profile, options=options,
                               holdout_templates=[t.strip() for h in holdout_templates or [] for t in h.split(",") if t.strip()],
                               restart=restart, argv=sys.argv)
        out = run_train(run, request, log=lambda m: err.print(m, highlight=False))
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        fail(str(exc).strip("'\""))
    from docfactory.engine import storage

    done = storage.location(out, "done.json")
    summary = _json.loads(storage.read_bytes(done)) if storage.exists(out, "done.json") else {}
    details = ", ".join(f"{k} {v}" for k, v in summary.items() if k in ("steps", "best_val_loss", "stopped", "train_seconds"))
    console.print(f"trained {model} iteration {iteration} -> {out}" + (f" ({details})" if details else ""),
                  highlight=False, soft_wrap=True)


def predict(
    ctx: typer.Context,
    run: Annotated[Optional[str], typer.Argument(help="Run folder or fsspec URL (optional with --images and --checkpoint).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Predictions JSONL to write.")] = Path("predictions.jsonl"),
    model: Annotated[str, typer.Option(help="Registered model: layout | tesseract | command | vlm ...")] = "layout",
    split: Annotated[str, typer.Option(help="Split(s) to predict, comma-separated, or all.")] = "test",
    copies: Annotated[str, typer.Option(help="clean | augmented | both: which page images.")] = "clean",
    preset: Annotated[Optional[str], typer.Option(help="Augmented copies of these presets only (comma-separated).")] = None,
    doc_id: Annotated[Optional[list[str]], typer.Option("--doc-id", help="Only these documents (repeatable).")] = None,
    images: Annotated[Optional[Path], typer.Option("--images", help="A folder of page images instead of the run's pages.")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="Trained model folder (default: RUN/models/MODEL).")] = None,
    iteration: Annotated[Optional[int], typer.Option(help="Model iteration (default: the latest).", min=0)] = None,
    word_source: Annotated[str, typer.Option("--word-source", help="auto (text layer if any, else OCR) | pdf | ocr (the model's OCR engine) | tesseract | rapidocr.")] = "auto",
    predict_cmd: Annotated[Optional[str], typer.Option("--predict-cmd", help="command model: run with {manifest} and {predictions} (or both appended).")] = None,
    holdout_templates: HoldoutOpt = None,
    sets: SetOpt = None,
    limit: Annotated[Optional[int], typer.Option(help="At most this many pages.", min=1)] = None,
    workers: Annotated[int, typer.Option(help="Processes, each loading the model once (1: in this process).", min=1)] = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Predict pages of RUN (or --images DIR) with a model -> predictions JSONL for engine evaluate."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from docfactory.engine.predict_step import PredictRequest, run_predict
    from docfactory.engine.train_step import parse_sets

    if run is None and images is None:
        fail("give a run folder, or --images DIR (with --checkpoint)")
    if run is not None:
        _lock_run(run)  # the OCR cache writes shards into the run
        _verify(run, ("documents", "augmented"))
    try:
        request = PredictRequest(
            model=model, out=out, splits=None if split == "all" else {s.strip() for s in split.split(",") if s.strip()},
            copies=copies, presets={p.strip() for p in preset.split(",")} if preset else None, doc_ids=doc_id or None,
            images=images, checkpoint=checkpoint, iteration=iteration, word_source=word_source, predict_cmd=predict_cmd,
            holdout_templates=[t.strip() for h in holdout_templates or [] for t in h.split(",") if t.strip()],
            options=parse_sets(sets or []), limit=limit)
        with Progress(TextColumn("predict"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
            task = progress.add_task("predict", total=None)
            result = run_predict(run, request, on_page=lambda done, total: progress.update(task, completed=done, total=total),
                                 executor=_executor(ctx, executor, ray_address, workers), workers=workers)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        fail(str(exc).strip("'\""))
    for line in result.errors[:10]:
        err.print(f"[yellow]warning:[/] the model raised on {line}", highlight=False)
    if result.errors:
        err.print(f"{len(result.errors)} page(s) are rows with an `error` (engine evaluate scores them as predictor_error)",
                  highlight=False)
    ocr = f"; OCR {result.ocr_misses} pages read, {result.ocr_hits} from the cache" if result.ocr_hits or result.ocr_misses else ""
    console.print(f"predicted {result.pages} pages with {model} in {result.seconds:.1f}s -> {result.out}{ocr}",
                  highlight=False, soft_wrap=True)
    if run is not None:
        console.print(f"score it: engine evaluate {run} --predictions {result.out}", highlight=False, soft_wrap=True)
