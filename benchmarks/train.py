"""Train the default `layout` model on the default-size run and score it and the Tesseract baseline:

    python benchmarks/train.py                  # runs/bench-train: 200 documents, seed 7, + strong copies
    python benchmarks/train.py --run runs/r1    # an existing run (generated / augmented if missing)

Prints a table: field F1 and TEDS (the `engine evaluate` metrics, over the predicted pages only) on
clean test pages (PDF words and OCR words), on `strong` augmented copies of the test pages (OCR),
and on a held-out template (a second model trained without it); training wall and CPU time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from docfactory.engine.augment import AugmentConfig, run_augment
from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation.gold import load_copies, load_gold
from docfactory.engine.evaluation.predictions import read_predictions
from docfactory.engine.evaluation.scoring import ScoringOptions, score_pages
from docfactory.engine.evaluation.summary import aggregate
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.predict_step import PredictRequest, run_predict
from docfactory.engine.train_step import TrainRequest, run_train


def scores(run: Path, predictions: Path) -> dict:
    """evaluate's metrics over the pages the file predicts (no other page counts as missing)."""
    with open_catalog(run, read_only=True) as catalog:
        gold, copies = load_gold(catalog), load_copies(catalog)
    keys = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines() if line.strip()]
    pages = {(k["doc_id"], k["page"]) for k in keys}
    wanted = {(k["doc_id"], k["page"], k.get("copy")) for k in keys if k.get("copy") is not None}
    read = read_predictions(predictions, pages, {c for c in copies if c in wanted}, strict=True)
    results = score_pages("bench", read.predictions, gold, read.tasks, ScoringOptions(workers=1))
    out = aggregate(results)
    return {"pages": out["pages"], "field_f1": out["field_f1"], "teds": out["teds"], "teds_s": out["teds_s"], "cer": out["cer"]}


def predict(run: Path, name: str, **request) -> tuple[Path, float]:
    out = run / "bench" / f"{name}.jsonl"
    started = time.perf_counter()
    result = run_predict(run, PredictRequest(out=out, **request))
    return out, (time.perf_counter() - started) / max(result.pages, 1)


def train(run: Path, **request) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    out = run_train(run, TrainRequest(model="layout", restart=True, **request), log=lambda m: print("  " + m, flush=True))
    done = json.loads((out / "done.json").read_text())
    return {**done, "wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(time.process_time() - cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("runs/bench-train"))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--holdout", default="receipt_shop", help="template held out for the generalization row")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    run = args.run.resolve()
    run_generate(run, GenerateConfig(n=args.n, seed=args.seed, workers=2))
    run_augment(run, AugmentConfig(preset="strong", workers=2, levels=("line",)))
    (run / "bench").mkdir(exist_ok=True)
    rows = []
    print("training layout (default profile) ...", flush=True)
    trained = train(run)
    print(f"  trained: {trained}", flush=True)
    for label, request in [("clean test, pdf words", dict(splits={"test"}, word_source="pdf")),
                           ("clean test, OCR words", dict(splits={"test"}, word_source="ocr")),
                           ("strong copies of test, OCR", dict(splits={"test"}, copies="augmented", presets={"strong"}))]:
        path, per_page = predict(run, "layout-" + label.split(",")[0].replace(" ", "-") + ("-ocr" if "OCR" in label else ""),
                                 model="layout", **request)
        rows.append(("layout", label, scores(run, path), per_page))
    holdout_run = run.parent / f"{run.name}-holdout"
    if not holdout_run.exists():
        shutil.copytree(run, holdout_run, ignore=shutil.ignore_patterns("models", "eval", "bench"))
    (holdout_run / "bench").mkdir(exist_ok=True)
    print(f"training layout without {args.holdout} ...", flush=True)
    held = train(holdout_run, holdout_templates=[args.holdout])
    path, per_page = predict(holdout_run, "layout-holdout", model="layout", splits={"holdout"},
                             holdout_templates=[args.holdout], word_source="pdf")
    rows.append(("layout", f"held-out template {args.holdout}, pdf words", scores(holdout_run, path), per_page))
    if not args.no_baseline:
        for label, request in [("clean test, OCR words", dict(splits={"test"})),
                               ("strong copies of test, OCR", dict(splits={"test"}, copies="augmented", presets={"strong"}))]:
            path, per_page = predict(run, "tesseract-" + ("strong" if "strong" in label else "clean"), model="tesseract", **request)
            rows.append(("tesseract", label, scores(run, path), per_page))
    print(f"\nlayout training: {trained['steps']} steps, {trained['epochs']} epochs ({trained['stopped']}), "
          f"{trained['wall_s']}s wall, {trained['cpu_s']}s CPU; held-out run {held['wall_s']}s wall\n")
    print("| model | pages | field F1 | TEDS | TEDS-S | CER | s/page |")
    print("|---|---|---|---|---|---|---|")
    for model, label, s, per_page in rows:
        f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"| {model} | {label} ({s['pages']}) | {f(s['field_f1'])} | {f(s['teds'])} | {f(s['teds_s'])} | {f(s['cer'])} | {per_page:.2f} |")


if __name__ == "__main__":
    main()
