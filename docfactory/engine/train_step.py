"""`engine train RUN --model NAME [--iteration K]`: the engine's side of training.

The model comes from the registry (docfactory.train). A trainer gets what its signature names:
`train_pages`/`val_pages` (PageInputs the engine reads from the run: iteration K's training pages
plus, for K > 0, a replay share of earlier ones; validation pages of every iteration up to K),
`iteration`, `previous` (the models folder holding earlier iterations), `run_info` (command line
and the shards read, for run.yaml), `ocr_cache` (the run's `ocr` shards) and `restart`. A trainer
that reads the run itself (its `train` takes **options) gets the `--set` options, `argv` and
`resume` instead. Output: RUN/models/NAME/itNNN/.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from docfactory.engine.lock import locks_run
from docfactory.engine import storage
from docfactory.engine.catalog import CATALOG_FILE, open_catalog
from docfactory.engine.ocr_cache import ShardOcrCache
from docfactory.engine.page_inputs import PageQuery, PageSelectionError, load_pages
from docfactory.engine.shards import verify_listed
from docfactory.train import get_model


class TrainStepError(ValueError):
    pass


@dataclass
class TrainRequest:
    model: str = "layout"
    iteration: int = 0
    profile: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # --set key=value
    holdout_templates: list[str] = field(default_factory=list)
    restart: bool = False
    argv: list[str] | None = None


def models_dir(run_dir: Path | str, model: str) -> Path:
    return Path(run_dir).resolve() / "models" / model


@locks_run(create=False)
def run_train(run_dir: Path | str, request: TrainRequest, log: Callable[[str], None] = print) -> Path | str:
    """Train; returns the checkpoint folder (RUN/models/MODEL/itNNN: a URL for a run at a URL)."""
    root = storage.run_root(run_dir)
    if not storage.exists(root, CATALOG_FILE):
        raise TrainStepError(f"{root}: no catalog here (is it a docfactory run folder?)")
    if not storage.is_url(root):
        from docfactory.engine.real_sets import refuse_real

        refuse_real(root, "train", TrainStepError)
        return _train(root, Path(root), request, log)
    # A run at a URL: the models folder is trained in a private local copy (earlier iterations and a
    # checkpoint to resume from are downloaded first), and the new iteration is uploaded when done.
    folder = f"models/{request.model}"
    with storage.private_dir("docfactory-train-") as home:
        if storage.exists(root, folder):
            storage.download(storage.location(root, folder), home / folder)
        out = _train(root, home, request, log)
        target = storage.location(root, f"{folder}/{out.name}")
        storage.upload(out, target)
    return target


def _train(root: str, home: Path, request: TrainRequest, log: Callable[[str], None]) -> Path:
    """Train on the run at `root`; the models folder is home/models/MODEL (home is the run itself
    for a local run)."""
    try:
        entry = get_model(request.model)
    except KeyError as exc:
        raise TrainStepError(str(exc).strip("'\"")) from None
    if entry.trainer is None:
        raise TrainStepError(f"model {request.model!r} makes predictions only; it has no trainer")
    out_dir = models_dir(home, request.model) / f"it{request.iteration:03d}"
    constructor = {"profile": request.profile or "default", "overrides": request.options, "log": log}
    trainer = entry.trainer(**_named(entry.trainer, constructor))
    consumed = "overrides" in _params(entry.trainer)
    train_fn = trainer.train
    kwargs: dict[str, Any] = {}
    if "train_pages" in _params(train_fn):
        kwargs.update(_pages(root, request, trainer, log))
        kwargs.update(previous=models_dir(home, request.model), restart=request.restart)
        kwargs["run_info"] = {"cli": request.argv or sys.argv, "run_dir": root, "shards": kwargs.pop("shards")}
    elif storage.is_url(root):
        raise TrainStepError(f"model {request.model!r} reads the run folder itself: train it on a local copy of {root}")
    named = _named(train_fn, {**kwargs, "iteration": request.iteration})
    if _takes_kwargs(train_fn) and "train_pages" not in _params(train_fn):
        named.update({} if consumed else request.options)
        named.update(argv=request.argv or sys.argv, resume=not request.restart)
    run_arg = Path(root) if not storage.is_url(root) else root
    if "ocr_cache" in _params(train_fn):
        with ShardOcrCache(root) as cache:
            return Path(train_fn(run_arg, out_dir, **named, ocr_cache=cache))
    return Path(train_fn(run_arg, out_dir, **named))


def _pages(run_dir: Path | str, request: TrainRequest, trainer, log) -> dict[str, Any]:
    """Training pages of iteration K (+ replay), validation pages of iterations <= K. The trainer
    may say `uses_augmented` (train on augmented copies too), `replay_share` and `seed`."""
    k = request.iteration
    copies = "both" if getattr(trainer, "uses_augmented", False) else "clean"
    holdout = request.holdout_templates
    verify_listed(run_dir, ("documents", "augmented"), iterations=range(k + 1))  # CorruptShardError names the file
    try:
        new = load_pages(run_dir, PageQuery(splits={"train"}, iterations={k}, copies=copies, holdout_templates=holdout))
        val = load_pages(run_dir, PageQuery(splits={"val"}, iterations=set(range(k + 1)), holdout_templates=holdout))
        replay = load_pages(run_dir, PageQuery(splits={"train"}, iterations=set(range(k)), copies=copies,
                                               holdout_templates=holdout)) if k else None
    except PageSelectionError as exc:
        raise TrainStepError(str(exc)) from None
    train = list(new.pages)
    if not train:
        raise TrainStepError(f"{run_dir}: no training pages of iteration {k} (documents shards of iteration {k}, split train)")
    if replay is not None and replay.pages:
        share = float(getattr(trainer, "replay_share", 0.3))
        n = round(len(train) * share / max(1e-9, 1 - share)) if share < 1 else len(replay.pages)
        rng = np.random.default_rng([int(getattr(trainer, "seed", 0)), k])
        picked = sorted(rng.choice(len(replay.pages), size=min(n, len(replay.pages)), replace=False).tolist())
        train += [replay.pages[i] for i in picked]
        log(f"iteration {k}: {len(new.pages)} new training pages + {len(picked)} replayed from earlier iterations")
    shards = {s["path"]: s for s in new.shards + val.shards + (replay.shards if replay else [])}
    return {"train_pages": train, "val_pages": val.pages, "shards": [shards[p] for p in sorted(shards)]}


def latest_iteration(run_dir: Path | str, model: str) -> int | None:
    """The newest trained iteration (models/MODEL/itNNN) of a run, local or at a URL."""
    names = storage.listdir(storage.run_root(run_dir), f"models/{model}")
    done = sorted(int(n[2:]) for n in names if len(n) == 5 and n.startswith("it") and n[2:].isdigit())
    return done[-1] if done else None


def run_iterations(run_dir: Path) -> list[int]:
    with open_catalog(run_dir, read_only=True) as catalog:
        return [r[0] for r in catalog.sql("SELECT DISTINCT iteration FROM shards WHERE kind = 'documents' ORDER BY 1").fetchall()]


def _params(fn) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def _takes_kwargs(fn) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in _params(fn).values())


def _named(fn, values: dict[str, Any]) -> dict[str, Any]:
    """The values whose names `fn` declares (a **kwargs catch-all does not count)."""
    params = _params(fn)
    return {k: v for k, v in values.items() if k in params and params[k].kind is not inspect.Parameter.VAR_KEYWORD}


def parse_sets(items: list[str]) -> dict[str, Any]:
    """CLI `--set key=value` (values parsed as YAML: numbers, lists, booleans, strings)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise TrainStepError(f"--set {item!r}: expected key=value, e.g. train.epochs=3")
        out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return out
