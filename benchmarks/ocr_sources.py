"""OCR word sources on real receipts: seconds per page and the OCR ceiling per key, per engine.

The 150 SROIE receipts in shared/data/sroie (img/NNN.jpg, key/NNN.json). For each engine, each page is
read in this process, one at a time, pinned to one core (Tesseract's subprocess inherits the pin), and
timed; the words are put in the layout model's reading order and scored with
docfactory.evaluate.ocr_ceiling: the share of gold values that appear in the words at all, which bounds
any extractor's exact-match score. The first pages are read twice to check that the words are identical.

    python benchmarks/ocr_sources.py                        # both engines, all 150 receipts (~12 min)
    python benchmarks/ocr_sources.py --limit 20 --engines rapidocr --scale 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from docfactory.evaluate.ocr_ceiling import ceiling
from docfactory.train.layout.words import reading_order
from docfactory.train.ocr import OcrSettings, read_words

SROIE = Path(__file__).resolve().parents[2] / "shared" / "data" / "sroie"
KEYS = ("company", "date", "address", "total")


def receipts(root: Path, limit: int | None) -> list[tuple[str, bytes, dict]]:
    names = sorted(p.stem for p in (root / "img").glob("*.jpg"))[:limit]
    return [(n, (root / "img" / f"{n}.jpg").read_bytes(), json.loads((root / "key" / f"{n}.json").read_text()))
            for n in names]


def measure(settings: list[OcrSettings], pages: list[tuple[str, bytes, dict]], twice: int) -> list[dict]:
    """Per settings: seconds per page, the ceiling, and whether the first `twice` pages read the same
    words again. The engines take turns page by page, so a busy neighbour slows them alike."""
    for s in settings:
        read_words(pages[0][1], s)  # untimed: loads the models (RapidOCR) and the version (both)
    seconds: list[list[float]] = [[] for _ in settings]
    pairs: list[list] = [[] for _ in settings]
    same = [True for _ in settings]
    for i, (_name, image, gold) in enumerate(pages):
        for k, s in enumerate(settings):
            started = time.perf_counter()
            words = read_words(image, s)
            seconds[k].append(time.perf_counter() - started)
            if i < twice:
                same[k] = same[k] and read_words(image, s) == words
            pairs[k].append(({key: gold.get(key, "") for key in KEYS}, [w["text"] for w in reading_order(words)]))
    return [{"engine": s.engine, "scale": s.upscale(), "tag": s.tag(), "s_median": statistics.median(seconds[k]),
             "s_total": sum(seconds[k]), "deterministic": same[k], **ceiling(pairs[k])} for k, s in enumerate(settings)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SROIE)
    parser.add_argument("--limit", type=int, default=None, help="the first N receipts only")
    parser.add_argument("--engines", default="tesseract,rapidocr")
    parser.add_argument("--scale", default=None, help="comma-separated scales to try (default: the settings' own)")
    parser.add_argument("--twice", type=int, default=5, help="pages read twice for the determinism check")
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1, help="the core to pin to")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    pages = receipts(args.data, args.limit)
    scales = [float(s) for s in args.scale.split(",")] if args.scale else [None]  # None: each engine's own
    rows = measure([OcrSettings(engine=e, scale=x) for e in args.engines.split(",") for x in scales], pages, args.twice)
    print(f"\n{len(pages)} receipts from {args.data}, one core (cpu {args.cpu})\n")
    print(f"{'engine':<10} {'scale':>5} {'s/page':>7} " + " ".join(f"{k:>8}" for k in KEYS) + f" {'mean':>6}  same twice")
    for r in rows:
        shares = " ".join(f"{r['per_key'].get(k, 0.0):>8.3f}" for k in KEYS)
        print(f"{r['engine']:<10} {r['scale']:>5g} {r['s_median']:>7.2f} {shares} {r['mean']:>6.3f}  {r['deterministic']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
