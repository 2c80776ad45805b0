"""Sim-to-real: how a model trained on docfactory's synthetic documents only does on real receipts.

    python benchmarks/sim_to_real.py --work /tmp/s2r [--sroie ../shared/data/sroie] [--sources dataset,tesseract,rapidocr]
                                     [--iterations 3] [--profile default] [--seed 0] [--run RUN] [--limit N] [--json out.json]

1. Trains exactly what `make run` trains: `engine run --iterations 3 --profile default --seed 0`
   into WORK/loop (or takes the trained loop run given by --run; a finished run is not retrained).
2. Imports the SROIE receipts (never trained on) once per word source into WORK/sroie-<source>:
   `dataset` (the dataset's own OCR lines, an upper bound on OCR), `tesseract` and `rapidocr`.
3. Predicts with the loop's last model on the words of each import, evaluates with
   `--match sroie` (SROIE task 3: exact string after whitespace normalisation), and prints per-key
   accuracy, the mean of the four keys, the OCR ceiling per key (the share of gold values present in
   the words) and the seconds per page the OCR took.
4. Tables: imports the 20 real PubTabNet table images (`--pubtabnet`, RapidOCR words), predicts and
   prints mean TEDS, TEDS-S and the share of images where the model found a table (`--no-tables` skips).

Imports and predictions are kept in WORK, so a second run only re-evaluates.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("store.company", "date", "store.address", "total")
SROIE_NAMES = {"store.company": "company", "date": "date", "store.address": "address", "total": "total"}


def train(work: Path, args) -> Path:
    if args.run:
        return Path(args.run).resolve()
    run = work / "loop"
    cmd = [sys.executable, "-m", "docfactory.cli", "run", "--out", str(run), "--iterations", str(args.iterations),
           "--profile", args.profile, "--seed", str(args.seed)]
    print("$ engine", " ".join(cmd[3:]), flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    print(f"  trained in {time.perf_counter() - started:.0f}s", flush=True)
    return run


def import_source(work: Path, sroie: Path, source: str, limit: int | None, workers: int) -> tuple[Path, float, int]:
    from docfactory.engine.real_sets import ImportRequest, import_set

    src = sroie
    if limit:
        src = _subset(work / f"sroie-first{limit}", sroie, limit)
    out = work / (f"sroie-{source}" + ("" if not limit else f"-first{limit}"))
    result = import_set(out, ImportRequest(src=src, fmt="sroie", word_source=source, workers=workers))
    ocr = _ocr_seconds(out) if source != "dataset" else 0.0
    return out, ocr, result.pages


def _subset(folder: Path, sroie: Path, limit: int) -> Path:
    import shutil

    for sub in ("img", "key", "box"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for image in sorted((sroie / "img").glob("*.jpg"))[:limit]:
        for sub, suffix in (("img", ".jpg"), ("key", ".json"), ("box", ".csv")):
            source = sroie / sub / f"{image.stem}{suffix}"
            if source.exists() and not (folder / sub / source.name).exists():
                shutil.copy(source, folder / sub / source.name)
    return folder


def _ocr_seconds(run: Path) -> float:
    """Median seconds per page the OCR took (the cache records each page's)."""
    from docfactory.engine.catalog import open_catalog

    with open_catalog(run, read_only=True) as catalog:
        return catalog.sql("SELECT median(seconds) FROM ocr").fetchone()[0] or 0.0


def evaluate(run: Path, loop: Path, work: Path, trainer_profile: str) -> dict:
    from docfactory.engine.evaluation import evaluate_run
    from docfactory.engine.predict_step import PredictRequest, run_predict
    from docfactory.engine.train_step import models_dir
    from docfactory.engine.loop.state import iterations

    last = iterations(loop)[-1]["iteration"]
    preds = work / f"preds-{run.name}.jsonl"
    request = PredictRequest(model="layout", out=preds, checkpoint=models_dir(loop, "layout"), iteration=last,
                             profile=trainer_profile, word_source="pdf")  # pdf: the words stored with the imported pages
    run_predict(run, request)
    result = evaluate_run(run, preds, name=f"sim2real-it{last:03d}", match="sroie")
    return result.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--sroie", type=Path, default=ROOT.parent / "shared" / "data" / "sroie")
    parser.add_argument("--sources", default="dataset,tesseract,rapidocr")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", help="a trained loop run to use instead of training one")
    parser.add_argument("--limit", type=int, help="only the first N receipts")
    parser.add_argument("--workers", type=int, default=2, help="OCR threads")
    parser.add_argument("--pubtabnet", type=Path, default=ROOT.parent / "shared" / "data" / "pubtabnet" / "examples")
    parser.add_argument("--no-tables", action="store_true", help="skip the PubTabNet tables section")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from docfactory.engine.loop.profile import load_profile

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    loop = train(work, args)
    rows = []
    for source in [s.strip() for s in args.sources.split(",") if s.strip()]:
        started = time.perf_counter()
        run, ocr_s, pages = import_source(work, args.sroie.resolve(), source, args.limit, args.workers)
        summary = evaluate(run, loop, work, load_profile(args.profile).trainer_profile)
        match, ceiling = summary["match"]["fields"], summary["ocr_ceiling"]["fields"]
        rows.append({"source": source, "pages": pages, "ocr_s_per_page": ocr_s,
                     "accuracy": {k: match.get(k, {}).get("accuracy") for k in KEYS},
                     "mean": sum(match.get(k, {}).get("accuracy") or 0 for k in KEYS) / len(KEYS),
                     "ceiling": {k: ceiling.get(k, {}).get("share") for k in KEYS},
                     "ceiling_mean": sum(ceiling.get(k, {}).get("share") or 0 for k in KEYS) / len(KEYS),
                     "field_f1": summary["overall"]["field_f1"], "seconds": round(time.perf_counter() - started, 1)})
        print(f"  {source}: {pages} receipts, {rows[-1]['seconds']}s", flush=True)
    if rows:
        print(f"\nSROIE ({rows[0]['pages'] if rows else 0} real receipts, never trained on); model: {loop} (last iteration)")
        head = ["words", "OCR s/page"] + [f"{SROIE_NAMES[k]} acc" for k in KEYS] + ["mean acc"] + \
               [f"{SROIE_NAMES[k]} ceil" for k in KEYS] + ["mean ceil", "Donut F1"]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            cells = [r["source"], f"{r['ocr_s_per_page']:.2f}" if r["source"] != "dataset" else "-"]
            cells += [_f(r["accuracy"][k]) for k in KEYS] + [f"**{r['mean']:.3f}**"]
            cells += [_f(r["ceiling"][k]) for k in KEYS] + [_f(r["ceiling_mean"]), _f(r["field_f1"])]
            print("| " + " | ".join(cells) + " |")
    tables = None if args.no_tables else table_section(work, loop, args)
    if args.json:
        args.json.write_text(json.dumps({"sroie": rows, "pubtabnet": tables}, indent=2))


def table_section(work: Path, loop: Path, args) -> dict:
    """The 20 real PubTabNet table crops: TEDS, TEDS-S and the share of images where a table was found."""
    from docfactory.engine.evaluation import evaluate_run
    from docfactory.engine.loop.profile import load_profile
    from docfactory.engine.loop.state import iterations
    from docfactory.engine.predict_step import PredictRequest, run_predict
    from docfactory.engine.real_sets import ImportRequest, import_set
    from docfactory.engine.train_step import models_dir

    run = work / "pubtabnet-rapidocr"
    result = import_set(run, ImportRequest(src=args.pubtabnet, fmt="pubtabnet", word_source="rapidocr", workers=args.workers))
    last = iterations(loop)[-1]["iteration"]
    preds = work / "preds-pubtabnet.jsonl"
    run_predict(run, PredictRequest(model="layout", out=preds, checkpoint=models_dir(loop, "layout"), iteration=last,
                                    profile=load_profile(args.profile).trainer_profile, word_source="pdf"))
    found = sum(bool(json.loads(line).get("tables")) for line in preds.read_text().splitlines() if line.strip())
    overall = evaluate_run(run, preds, name=f"sim2real-it{last:03d}").summary["overall"]
    out = {"pages": result.pages, "teds": overall["teds"], "teds_s": overall["teds_s"], "found_share": found / result.pages,
           "ocr_s_per_page": _ocr_seconds(run)}
    print(f"\nPubTabNet ({result.pages} real table images, never trained on): TEDS {_f(out['teds'])}, TEDS-S "
          f"{_f(out['teds_s'])}, a table found on {found}/{result.pages} images (words: rapidocr, "
          f"{out['ocr_s_per_page']:.2f} s/page)")
    return out


def _f(value) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
