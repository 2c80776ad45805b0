"""Augmentation speed: ms/page for each transform kind (values drawn from the strong preset's
spans, always applied, boxes moved too), for each preset end to end (plan, decode, transforms,
encode, boxes, legibility; line/word crops listed apart), against rendering the same pages.

    .venv/bin/python benchmarks/augment.py [--n 16] [--copies 3] [--threads 1]

OpenCV runs on --threads threads (1: a per-core number, like rendering, which is single-threaded).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import cv2
import numpy as np

from docfactory.generators import generate_pages, sample_spec
from docfactory.generators.augment import ORDER, AugmentSettings, Plan, augment_page, presets
from docfactory.generators.augment import boxes
from docfactory.generators.augment.page import apply_plan, decode_rgb, encode
from docfactory.generators.augment.presets import OPTIONS
from docfactory.generators.augment.transforms import KINDS, Context
from docfactory.templates import TemplateRegistry


def render(n: int, seed: int) -> tuple[list[dict], float]:
    registry = TemplateRegistry()
    templates = list(registry.templates.values())
    generate_pages([sample_spec(seed + 1, 0, templates)], registry)  # warm fonts, Faker, templates
    start = time.perf_counter()
    records, _ = generate_pages([sample_spec(seed, i, templates) for i in range(n)], registry)
    return [r.to_row() for r in records], (time.perf_counter() - start) / len(records)


def per_transform(rows: list[dict]) -> dict[str, float]:
    strong = presets()["strong"].transforms
    images = [decode_rgb(r["image"]) for r in rows]
    points = [boxes.corners(r) for r in rows]
    out = {}
    for kind in ORDER:
        opts = strong.get(kind) or OPTIONS[kind]()
        spans = {k: v for k, v in opts.model_dump().items() if k != "p"}
        rng = random.Random(0)
        plans = [Plan("bench", 0, i, [KINDS[kind].sample(spans, rng, Context(r["width"], r["height"], r["dpi"]))])
                 for i, r in enumerate(rows)]
        apply = (lambda img, pts, plan: encode(img, plan)) if kind == "jpeg" else apply_plan
        apply(images[0], points[0], plans[0])
        start = time.perf_counter()
        for img, pts, plan in zip(images, points, plans):
            apply(img, pts, plan)
        out[kind] = (time.perf_counter() - start) / len(rows)
    return out


def per_preset(rows: list[dict], copies: int) -> dict[str, dict[str, float]]:
    out = {}
    for name in presets():
        settings = AugmentSettings(preset=name)
        augment_page(rows[0], 0, settings)
        times: dict[str, float] = {}
        severity = []
        for row in rows:
            for copy in range(copies):
                severity.append(augment_page(row, copy, settings, times).legibility.severity)
        n = len(rows) * copies
        out[name] = {k: v / n for k, v in times.items()} | {"_severity": statistics.mean(severity)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="documents to render")
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    rows, render_s = render(args.n, args.seed)
    sizes = np.array([r["width"] * r["height"] for r in rows]) / 1e6
    print(f"{len(rows)} pages from {args.n} documents ({sizes.mean():.2f} Mpx mean), OpenCV threads {args.threads}")
    print(f"rendering (content -> PDF -> labels -> verified record): {render_s * 1000:7.1f} ms/page")
    print("per transform, strong-preset values, image + box corners (ms/page):")
    for kind, secs in per_transform(rows).items():
        print(f"  {kind:20s} {secs * 1000:7.1f}")
    print("per preset, end to end (ms/page; augment = everything but crops):")
    print(f"  {'preset':8s} {'augment':>8s} {'crops':>7s} {'total':>7s} {'severity':>9s}   stages")
    for name, t in per_preset(rows, args.copies).items():
        severity = t.pop("_severity")
        crops = t.get("crops", 0.0)
        total = sum(t.values())
        stages = " ".join(f"{k}={v * 1000:.1f}" for k, v in t.items() if k != "crops")
        print(f"  {name:8s} {(total - crops) * 1000:8.1f} {crops * 1000:7.1f} {total * 1000:7.1f} {severity:9.3f}   {stages}")


if __name__ == "__main__":
    main()
