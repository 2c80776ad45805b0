"""Label fidelity at scale: generate N documents across every registered template, augment every
page with the augmentation presets (a `mix` copy draws any preset, thermal included), then check every
stored label again from the Parquet rows alone, and report mismatches (target 0), rejections by
reason, throughput and peak memory.

    .venv/bin/python benchmarks/label_fidelity.py --n 100000 [--chunk 128] [--workers 2] [--copies 1]

It streams: documents are made in chunks of --chunk through the engine's own steps (run_generate,
run_augment, one executor kept for the whole run) into a temporary run folder that is checked and
deleted before the next chunk, so memory and disk stay flat in N; only counters are kept.

The re-check is independent of the generator's own verification (which compares labels with the
PDF's characters before a page is stored):
- clean page: each field's value equals the stored words whose centres fall in its boxes, and each
  table cell's text equals the words in its box (after the same NFKC/space normalisation);
- augmented copy: same words, fields and cells as its clean page, in the same order, and each
  field keeps exactly the words it held on the clean page (word-quad centres inside the field's
  moved quads): pixels and boxes moved together.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from docfactory.engine.augment import AugmentConfig, run_augment
from docfactory.engine.catalog import open_catalog
from docfactory.engine.executor import ExecutorOptions, make_executor
from docfactory.engine.executor.local import warm_workers
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.generators.augment.presets import MIX, preset_names
from docfactory.field_types import normalize_text
from docfactory.generators.content import pattern_of

SLACK_PX = 1.0  # a word centre this close to a box edge still counts as inside (rounded boxes)
EXAMPLES_KEPT = 10  # mismatches printed in full; the rest are counted
# Punctuation a template prints against a value but outside its label ("(" + "002043319-W" + ")"): the
# PDF's words keep it glued on, so a word-level check sees "(002043319-W)". The generator verified the
# value character by character; here such a field is counted apart, not as a mismatch.
GLUE = set("()[]{},.;:")
# A footnote marker set against a table value ("38.6" + superscript "b", "seriously" + "†"): one
# trailing mark, counted with the glued ones.
MARKS = set("abcdef*†‡§")


@dataclass
class Tally:
    docs: int = 0
    verified: int = 0
    pages: int = 0
    augmented: int = 0
    labels_checked: int = 0
    mismatches: Counter = field(default_factory=Counter)  # kind of label -> count
    examples: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)  # the generator's own verdicts, in full
    rejected: Counter = field(default_factory=Counter)  # "stage: reason" -> documents not stored
    flagged: int = 0  # augmented copies the legibility gate flagged (stored with legible=false)
    gate: Counter = field(default_factory=Counter)  # the gate's reasons for them (a copy may have several)
    left_out: int = 0  # augmented copies the gate left out (reject mode)
    glued: Counter = field(default_factory=Counter)  # field pattern -> values with punctuation glued on
    presets: Counter = field(default_factory=Counter)
    templates: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)  # generate / augment / check

    def mismatch(self, kind: str, where: str, detail: str) -> None:
        self.mismatches[kind] += 1
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append(f"{kind} {where}: {detail}")


# -- the re-check -------------------------------------------------------------------------------

def _centres(words: list[dict]) -> np.ndarray:
    if not words:
        return np.zeros((0, 2))
    b = np.array([[w["box"]["x0"], w["box"]["y0"], w["box"]["x1"], w["box"]["y1"]] for w in words], dtype=np.float64)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)


def _in_boxes(centres: np.ndarray, boxes: list[dict]) -> np.ndarray:
    mask = np.zeros(len(centres), dtype=bool)
    for b in boxes:
        mask |= ((centres[:, 0] >= b["x0"] - SLACK_PX) & (centres[:, 0] <= b["x1"] + SLACK_PX)
                 & (centres[:, 1] >= b["y0"] - SLACK_PX) & (centres[:, 1] <= b["y1"] + SLACK_PX))
    return mask


def _words_text(words: list[dict], mask: np.ndarray) -> str:
    return normalize_text(" ".join(words[i]["text"] for i in np.flatnonzero(mask)))


def _glued(found: str, value: str) -> bool:
    """The words hold the value whole, with only GLUE punctuation before or after it (and at most one
    footnote mark after it)."""
    at = found.find(value)
    if at < 0:
        return False
    before, after = found[:at], found[at + len(value):]
    if after[:1] in MARKS and not after[1:].strip(" ").isalnum():
        after = after[1:]
    return set(before + after) <= GLUE


def check_clean(row: dict, tally: Tally) -> dict[str, frozenset[int]]:
    """Check a documents row; returns each field's word indexes (for its augmented copies)."""
    where = f"{row['doc_id']} p{row['page']} ({row['template']})"
    words, centres = row["words"], _centres(row["words"])
    held = {}
    for f in row["fields"]:
        mask = _in_boxes(centres, f["boxes"])
        held[f["name"]] = frozenset(np.flatnonzero(mask).tolist())
        tally.labels_checked += 1
        found, value = _words_text(words, mask), normalize_text(f["value"])
        if found != value and _glued(found, value):
            tally.glued[pattern_of(f["name"])] += 1
        elif found != value:
            tally.mismatch("field", where, f"{f['name']}: label {f['value']!r}, words in its box {found!r}")
    for table in row["tables"]:
        for c in table["cells"]:
            tally.labels_checked += 1
            found = _words_text(words, _in_boxes(centres, [c["box"]]))
            if found != normalize_text(c["text"]):
                tally.mismatch("cell", where, f"{table['name']} ({c['row']},{c['col']}): label {c['text']!r}, words {found!r}")
    return held


def _inside_quad(points: np.ndarray, quad: list[float]) -> np.ndarray:
    """Points inside a convex quad (tl, tr, br, bl), with SLACK_PX of tolerance on each edge."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    area2 = sum(q[i, 0] * q[(i + 1) % 4, 1] - q[(i + 1) % 4, 0] * q[i, 1] for i in range(4))
    sign = 1.0 if area2 >= 0 else -1.0
    inside = np.ones(len(points), dtype=bool)
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        edge = b - a
        length = max(float(np.hypot(*edge)), 1e-9)
        cross = (edge[0] * (points[:, 1] - a[1]) - edge[1] * (points[:, 0] - a[0])) * sign / length
        inside &= cross >= -SLACK_PX
    return inside


def check_augmented(row: dict, clean: dict, held: dict[str, frozenset[int]], tally: Tally) -> None:
    where = f"{row['doc_id']} p{row['page']} copy {row['copy']} ({row['preset']})"
    tally.labels_checked += 1
    if [w["text"] for w in row["words"]] != [w["text"] for w in clean["words"]]:
        tally.mismatch("augmented-words", where, "word texts differ from the clean page")
        return
    if [(f["name"], f["value"]) for f in row["fields"]] != [(f["name"], f["value"]) for f in clean["fields"]]:
        tally.mismatch("augmented-fields", where, "field names or values differ from the clean page")
        return
    cells = [[c["text"] for c in t["cells"]] for t in row["tables"]]
    if cells != [[c["text"] for c in t["cells"]] for t in clean["tables"]]:
        tally.mismatch("augmented-cells", where, "table cells differ from the clean page")
        return
    quads = np.array([w["quad"] for w in row["words"]], dtype=np.float64).reshape(-1, 4, 2)
    centres = quads.mean(axis=1) if len(quads) else np.zeros((0, 2))
    for f in row["fields"]:
        if any(f["clipped"]) or not f["quads"]:
            continue  # part of the field left the image: the gate measures that, not this check
        tally.labels_checked += 1
        mask = np.zeros(len(centres), dtype=bool)
        for quad in f["quads"]:
            mask |= _inside_quad(centres, quad)
        moved = frozenset(np.flatnonzero(mask).tolist())
        if moved != held[f["name"]]:
            tally.mismatch("augmented-field-box", where, f"{f['name']}: words {sorted(held[f['name']])} on the clean "
                           f"page, {sorted(moved)} inside the moved box")


def _rows(path: Path, columns: list[str]):
    for batch in pq.ParquetFile(path).iter_batches(batch_size=64, columns=columns):
        yield from batch.to_pylist()


def check_run(run: Path, tally: Tally) -> None:
    """Re-check every documents shard of the run and the augmented shards made from it."""
    clean_cols = ["doc_id", "page", "template", "words", "fields", "tables"]
    aug_cols = ["doc_id", "page", "copy", "preset", "words", "fields", "tables"]
    for shard in sorted((run / "shards" / "documents").rglob("*.parquet")):
        clean, held = {}, {}
        for row in _rows(shard, clean_cols):
            key = (row["doc_id"], row["page"])
            clean[key], held[key] = row, check_clean(row, tally)
            tally.templates[row["template"]] += 1
        stem = shard.stem
        for aug in sorted((run / "shards" / "augmented").rglob(f"{stem}-*.parquet")):
            if aug.parent.name != shard.parent.name:
                continue
            for row in _rows(aug, aug_cols):
                key = (row["doc_id"], row["page"])
                check_augmented(row, clean[key], held[key], tally)
                tally.augmented += 1


# -- the run ------------------------------------------------------------------------------------

def peak_rss_mb() -> tuple[float, float]:
    """(this process, the largest worker) peak resident set, MB (Linux reports KB): workers that ended
    (RUSAGE_CHILDREN) and the warm ones still alive (their VmHWM)."""
    warm = [0.0]
    for process in warm_workers():
        status = Path(f"/proc/{process.pid}/status").read_text()
        warm.append(int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, *warm))


def run_chunk(index: int, size: int, args, executor, scratch: Path, tally: Tally) -> None:
    run = scratch / f"chunk-{index:05d}"
    # A prefix per chunk: distinct doc ids, hence distinct seeds and documents, across chunks.
    gen = GenerateConfig(n=size, seed=args.seed, workers=args.workers, shard_docs=args.shard_docs,
                         prefix=f"fid{index:05d}", dpi=tuple(args.dpi))
    started = time.perf_counter()
    summary = run_generate(run, gen, executor=executor)
    tally.seconds["generate"] += time.perf_counter() - started
    if summary.template_errors or summary.failed_shards:
        raise SystemExit(f"templates or shards failed: {summary.template_errors + summary.failed_shards}")
    tally.docs += summary.generated
    tally.verified += summary.verified
    tally.pages += summary.pages
    tally.rejected.update(summary.reasons)
    started = time.perf_counter()
    # A mix over every preset: the scene presets (thermal) too, which a plain mix leaves out.
    weights = {"augment_preset": {name: 1.0 for name in preset_names()}} if args.preset == MIX else {}
    aug = run_augment(run, AugmentConfig(preset=args.preset, copies=args.copies, workers=args.workers,
                                         weights=weights), executor=executor)
    tally.seconds["augment"] += time.perf_counter() - started
    if aug.failed_shards:
        raise SystemExit(f"augment shards failed: {aug.failed_shards}")
    tally.presets.update(aug.presets)
    tally.flagged += aug.flagged
    tally.gate.update(aug.reasons)
    tally.left_out += aug.rejected
    if summary.rejected and len(tally.rejections) < EXAMPLES_KEPT:
        with open_catalog(run, read_only=True) as catalog:
            tally.rejections += [f"{d} ({t}) {stage}: {reason}" for d, t, stage, reason in catalog.sql(
                "SELECT doc_id, template, stage, reason FROM rejections ORDER BY doc_id").fetchall()]
    started = time.perf_counter()
    check_run(Path(run), tally)
    tally.seconds["check"] += time.perf_counter() - started
    shutil.rmtree(run)


def report(tally: Tally, wall: float, n: int, args) -> str:
    self_mb, child_mb = peak_rss_mb()
    mismatches = sum(tally.mismatches.values())
    lines = [
        f"label fidelity: n={n} chunk={args.chunk} workers={args.workers} copies={args.copies} preset={args.preset} "
        f"seed={args.seed} dpi={args.dpi} ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})",
        f"documents: {tally.docs} generated, {tally.verified} verified and stored, {tally.docs - tally.verified} rejected; "
        f"{tally.pages} clean pages, {tally.augmented} augmented copies",
        f"templates (pages): {dict(sorted(tally.templates.items()))}",
        f"presets (copies): {dict(sorted(tally.presets.items()))}",
        f"labels re-checked: {tally.labels_checked}; label mismatches: {mismatches} {dict(tally.mismatches)}",
        f"fields whose words carry punctuation or a footnote mark printed outside the value (characters "
        f"verified; word-level only): "
        f"{sum(tally.glued.values())} {dict(tally.glued.most_common())}",
        "documents rejected by reason: " + (", ".join(f"{k} x{v}" for k, v in tally.rejected.most_common()) or "none"),
        f"augmented copies flagged illegible by the gate (stored, legible=false): {tally.flagged} "
        f"(reasons {dict(tally.gate.most_common())}); left out: {tally.left_out}",
        f"throughput: {tally.docs / wall:.2f} docs/s, {tally.pages / wall:.2f} clean pages/s, "
        f"{(tally.pages + tally.augmented) / wall:.2f} pages/s clean+augmented (wall {wall:.0f}s: "
        + ", ".join(f"{k} {v:.0f}s" for k, v in tally.seconds.items()) + ")",
        f"peak RSS: this process {self_mb:.0f} MB, largest worker {child_mb:.0f} MB",
    ]
    lines += [f"  mismatch: {e}" for e in tally.examples]
    lines += [f"  rejected: {r}" for r in tally.rejections[:EXAMPLES_KEPT]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="documents to generate and check")
    parser.add_argument("--chunk", type=int, default=128, help="documents per temporary run folder")
    parser.add_argument("--shard-docs", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--copies", type=int, default=1, help="augmented copies per page")
    parser.add_argument("--preset", default="mix", help="augmentation preset, or mix (each copy draws one of every preset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dpi", type=int, nargs="+", default=[120])
    parser.add_argument("--scratch", type=Path, default=None, help="folder for the temporary runs (default: a temp dir)")
    parser.add_argument("--progress", type=int, default=1, help="print a line every this many chunks")
    args = parser.parse_args()
    tally = Tally()
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="label-fidelity-", dir=args.scratch))
    try:
        with make_executor(ExecutorOptions(), args.workers) as executor:
            for index, start in enumerate(range(0, args.n, args.chunk)):
                run_chunk(index, min(args.chunk, args.n - start), args, executor, scratch, tally)
                if args.progress and (index + 1) % args.progress == 0:
                    wall = time.perf_counter() - started
                    print(f"[{wall:6.0f}s] {tally.docs}/{args.n} docs, {tally.pages} pages, {tally.augmented} copies, "
                          f"mismatches {sum(tally.mismatches.values())}, rejected {sum(tally.rejected.values())}, "
                          f"peak RSS {peak_rss_mb()[0]:.0f}/{peak_rss_mb()[1]:.0f} MB", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(report(tally, time.perf_counter() - started, args.n, args), flush=True)
    return 1 if tally.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
