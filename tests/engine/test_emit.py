"""Emission on the shared small run: pair tasks and answers against the labels, splits and template
holdout, block masks (coverage, contiguity, alignment with the layout), determinism and resume."""

from __future__ import annotations

import io
import json
import math
import random
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from scipy import ndimage

from docfactory.engine.catalog import open_catalog
from docfactory.engine.emit import EmitConfig, EmitError, PairOptions, PretrainOptions, SplitConfig, run_emit
from docfactory.engine.emit.blocks import page_blocks
from docfactory.engine.emit.pairs import leaf_paths, page_ground_truth
from docfactory.engine.emit.pretrain import patch_rect, unpack_mask
from docfactory.engine.emit.prompts import TASKS, load_prompts
from docfactory.engine.emit.text import gfm_table, md_escape, otsl, xy_cut
from docfactory.generators.content import pattern_of
from docfactory.generators.spec import assign_split

HOLDOUT = ["receipt_thermal"]
OPTIONS = PretrainOptions()


def _emit(run: Path, **kw) -> object:
    cfg = dict(workers=1, splits=SplitConfig(holdout_templates=HOLDOUT), pair_options=PairOptions(table_format="both"))
    return run_emit(run, EmitConfig(**(cfg | kw)))


@pytest.fixture(scope="module")
def emitted(small_run, tmp_path_factory):
    run = tmp_path_factory.mktemp("emit") / "run"
    shutil.copytree(small_run[0], run)
    summary = _emit(run)
    with open_catalog(run, read_only=True) as catalog:
        docs = {(r["doc_id"], r["page"]): r for r in catalog.frame(
            "SELECT * EXCLUDE (image) FROM documents").to_dicts()}
        pairs = catalog.frame("SELECT * FROM pairs").to_dicts()
        pretrain = catalog.frame("SELECT * FROM pretrain").to_dicts()
    return run, summary, docs, pairs, pretrain


def _shas(run: Path, kinds=("pairs", "pretrain")) -> dict[str, str]:
    with open_catalog(run, read_only=True) as catalog:
        return {p: i.sha256 for kind in kinds for p, i in catalog.listed(kind).items()}


def test_every_page_gets_pairs_and_a_pretraining_row(emitted):
    run, summary, docs, pairs, pretrain = emitted
    assert summary.pretrain_pages == len(docs) == len(pretrain)
    assert {(p["doc_id"], p["page"]) for p in pairs} == set(docs)
    assert len({p["pair_id"] for p in pairs}) == len(pairs)
    with open_catalog(run, read_only=True) as catalog:  # the views the catalog gained
        assert catalog.sql("SELECT count(*) FROM pairs").fetchone()[0] == summary.pairs


def test_at_least_five_task_types_per_document(emitted):
    _, _, _, pairs, _ = emitted
    tasks: dict[str, set] = {}
    for p in pairs:
        tasks.setdefault(p["doc_id"], set()).add(p["task"])
    assert tasks and all(len(t) >= 5 for t in tasks.values()), tasks
    assert set().union(*tasks.values()) == set(TASKS)


def test_answers_equal_the_labels(emitted):
    _, _, docs, pairs, _ = emitted
    prompts = load_prompts()
    for p in pairs:
        doc = docs[(p["doc_id"], p["page"])]
        gt = json.loads(doc["ground_truth"])
        fields = {f["name"]: f for f in doc["fields"]}
        tables = {t["name"]: t for t in doc["tables"]}
        task = p["task"]
        if task == "extract":
            assert json.loads(p["answer"]) == page_ground_truth(gt, set(fields))
            if doc["n_pages"] == 1:
                assert json.loads(p["answer"]) == gt
        elif task == "field" and p["answerable"]:
            assert p["answer"] == fields[p["target"]]["value"]
        elif task == "field":
            assert p["answer"] == prompts.absent_answer
            assert p["target"] in prompts.vocabulary(doc["kind"])
            assert p["target"] not in {pattern_of(path) for path in leaf_paths(gt)}
        elif task == "region":
            assert any(ln["text"] == p["answer"] and ln["box"] == p["region"] for ln in doc["lines"])
        elif task == "table":
            assert p["answer"] == tables[p["target"]]["html"]
        elif task == "table_otsl":
            cells = tables[p["target"]]["cells"]
            rows = p["answer"].split("<nl>")[:-1]
            assert len(rows) == tables[p["target"]]["n_rows"]
            texts = [t for row in rows for t in _otsl_texts(row)]
            assert sorted(texts) == sorted(c["text"] for c in cells if c["text"])
        elif task == "ocr":
            assert Counter(p["answer"].split()) == Counter(w for ln in doc["lines"] for w in ln["text"].split())
        elif task == "markdown":
            for t in doc["tables"]:
                if t["has_spans"]:
                    assert t["html"] in p["answer"]
                else:
                    assert all(md_escape(c["text"]).replace("|", "\\|") in p["answer"] for c in t["cells"])
            for ln in doc["lines"]:
                assert md_escape(ln["text"]) in p["answer"] or any(ln["text"] in c["text"] for t in doc["tables"] for c in t["cells"])


def _otsl_texts(row: str) -> list[str]:
    import re

    return [t for t in re.split(r"<(?:fcel|ched|ecel|lcel|ucel|xcel)>", row) if t]


def test_every_question_field_has_a_vocabulary_name(registry):
    """Each built-in template's fields are named in prompts.yaml, so no question reads like a path."""
    prompts = load_prompts()
    for name in registry.names():
        t = registry.get(name)
        missing = set(t.config.fields) - set(prompts.vocabulary(t.kind))
        assert not missing, (name, missing)


def test_every_prompt_phrasing_formats():
    prompts = load_prompts()
    rng = random.Random(0)
    for task in TASKS:
        assert len(set(prompts.tasks[task])) >= 2
        for text in prompts.tasks[task]:
            assert text.format(kind="invoice", field="total", table="items", box="[1, 2, 3, 4]")
        assert prompts.phrase(task, rng, kind="x", field="y", table="z", box="b")


def test_phrasings_are_chosen_per_page_and_differ_by_task(emitted):
    _, _, _, pairs, _ = emitted
    by_task: dict[str, set] = {}
    for p in pairs:
        by_task.setdefault(p["task"], set()).add(p["prompt"])
    assert len(by_task["ocr"]) > 1 and len(by_task["extract"]) > 1  # not one prompt for every page
    assert not by_task["ocr"] & by_task["markdown"] and not by_task["table"] & by_task["extract"]


def test_image_reference_points_at_its_page(emitted):
    run, _, _, pairs, pretrain = emitted
    tables = {}
    for p in pairs[::7] + [dict(r, image_shard=r["source_shard"], image_row=r["source_row"]) for r in pretrain]:
        table = tables.setdefault(p["image_shard"], pq.read_table(run / p["image_shard"], columns=["doc_id", "page"]))
        assert table.slice(p["image_row"], 1).to_pylist()[0] == {"doc_id": p["doc_id"], "page": p["page"]}
        assert p.get("image_copy", "clean") == "clean"


def test_no_document_in_two_splits_and_exactly_the_named_templates_held_out(emitted):
    _, summary, docs, pairs, pretrain = emitted
    split_of: dict[str, set] = {}
    for row in pairs + pretrain:
        split_of.setdefault(row["doc_id"], set()).add(row["split"])
    assert all(len(s) == 1 for s in split_of.values()), split_of
    templates = {d["doc_id"]: d["template"] for d in docs.values()}
    held = {templates[d] for d, s in split_of.items() if s == {"holdout"}}
    assert held == set(HOLDOUT)
    for doc_id, (split,) in split_of.items():
        if templates[doc_id] not in HOLDOUT:
            assert split == assign_split(doc_id)
    assert sum(summary.splits.values()) == len(docs)


def test_split_shares_are_configurable_and_checked():
    cfg = SplitConfig(ratios={"test": 0.5, "train": 0.5})
    assert list(cfg.ratios) == ["train", "test"]  # canonical order: the same shares split alike
    shares = Counter(cfg.split_of(f"doc-{i:07d}", "t") for i in range(4000))
    assert abs(shares["train"] / 4000 - 0.5) < 0.03 and set(shares) == {"train", "test"}
    for bad in ({"train": 0.5}, {"train": 1.2, "val": -0.2}, {"holdout": 1.0}):
        with pytest.raises(ValueError):
            SplitConfig(ratios=bad)


def _content_grid(row: dict) -> tuple[int, int]:
    b, p = row["content_box"], row["patch_size"]
    return math.ceil(b["y1"] / p), math.ceil(b["x1"] / p)


def test_masks_cover_30_to_50_percent_in_contiguous_blocks(emitted):
    _, _, _, _, pretrain = emitted
    for row in pretrain:
        rows, cols = _content_grid(row)
        assert len(row["masks"]) == OPTIONS.n_masks
        for k, m in enumerate(row["masks"]):
            mask = unpack_mask(row, k)
            assert not mask[rows:, :].any() and not mask[:, cols:].any()  # never the gray padding
            ratio = mask.sum() / (rows * cols)
            assert OPTIONS.mask_min <= ratio <= OPTIONS.mask_max and abs(ratio - m["ratio"]) < 1e-6
            labels, n = ndimage.label(mask)  # 4-connected components
            sizes = ndimage.sum(mask, labels, range(1, n + 1))
            assert n >= 1 and min(sizes) >= OPTIONS.min_block_patches  # blocks, not scattered patches
            union = np.zeros_like(mask)
            for b in m["blocks"]:
                union[b["r0"]:b["r1"], b["c0"]:b["c1"]] = True
            assert (union == mask).all()  # every masked patch belongs to a block it names
            assert any(b["source"] != "random" for b in m["blocks"])  # layout blocks come first


def test_mask_blocks_align_with_the_layout_block_they_claim(emitted):
    _, _, docs, _, pretrain = emitted
    checked = 0
    for row in pretrain:
        doc = docs[(row["doc_id"], row["page"])]
        layout = {(b.source, b.name): b for b in page_blocks(doc["fields"], doc["tables"], doc["lines"])}
        rows, cols = _content_grid(row)
        fields = {f["name"]: f for f in doc["fields"]}
        for m in row["masks"]:
            for b in (b for b in m["blocks"] if b["source"] != "random"):
                block = layout[(b["source"], b["name"])]
                box = tuple(b["box"][k] for k in ("x0", "y0", "x1", "y1"))
                assert box == pytest.approx(tuple(v * row["scale"] for v in block.box), abs=0.01)
                rect = patch_rect(block.box, row["scale"], row["patch_size"], rows, cols, OPTIONS.block_margin)
                assert (b["r0"], b["c0"], b["r1"], b["c1"]) == rect
                for name in block.fields:  # a field group's rect holds every box of its fields
                    for fb in fields[name]["boxes"]:
                        r = patch_rect((fb["x0"], fb["y0"], fb["x1"], fb["y1"]), row["scale"], row["patch_size"], rows, cols)
                        assert rect[0] <= r[0] and rect[1] <= r[1] and r[2] <= rect[2] and r[3] <= rect[3]
                checked += 1
    assert checked > 50


def test_pretraining_image_is_the_page_resized_and_gray_padded(emitted):
    _, _, docs, _, pretrain = emitted
    for row in pretrain[:6]:
        doc = docs[(row["doc_id"], row["page"])]
        image = Image.open(io.BytesIO(row["image"]))
        assert image.size == (OPTIONS.size, OPTIONS.size)
        b = row["content_box"]
        assert max(b["x1"], b["y1"]) == OPTIONS.size
        assert b["x1"] / b["y1"] == pytest.approx(doc["width"] / doc["height"], rel=0.01)
        if b["x1"] < OPTIONS.size:
            assert image.getpixel((OPTIONS.size - 1, OPTIONS.size - 1)) == (OPTIONS.gray,) * 3
        assert len(row["crops"]) == OPTIONS.n_crops
        for c in row["crops"]:
            assert 0 <= c["x0"] < c["x1"] <= b["x1"] + 0.01 and 0 <= c["y0"] < c["y1"] <= b["y1"] + 0.01


def test_same_bytes_with_two_workers_resume_and_settings_guard(emitted, tmp_path):
    run, _, _, _, _ = emitted
    other = tmp_path / "run"
    shutil.copytree(run, other, ignore=shutil.ignore_patterns("pairs", "pretrain", "catalog.duckdb"))
    shutil.copy(run / "catalog.duckdb", other / "catalog.duckdb")
    with open_catalog(other) as catalog:  # the copy's catalog forgets the emitted shards
        catalog.sql("DELETE FROM shards WHERE kind IN ('pairs', 'pretrain')")
        catalog.sql("DELETE FROM step_configs WHERE step LIKE 'emit/%'")
    _emit(other, workers=2)
    assert _shas(other) == _shas(run) and len(_shas(run)) == 6
    again = _emit(other)
    assert again.shards == 0 and again.skipped_shards == 6
    with pytest.raises(EmitError, match="--redo"):
        _emit(other, seed=1)
    with pytest.raises(EmitError, match="other splits"):
        _emit(other, pretrain=False, splits=SplitConfig(), redo=True)
    redone = _emit(other, pretrain=False, seed=1, redo=True)
    assert redone.shards == 3 and _shas(other, ["pairs"]) != _shas(run, ["pairs"])


def test_otsl_and_markdown_tables_with_spans():
    def cell(r, c, text, rs=1, cs=1, header=False):
        return {"row": r, "col": c, "rowspan": rs, "colspan": cs, "text": text, "header": header}

    cells = [cell(0, 0, "Region", rs=2, header=True), cell(0, 1, "Q1", cs=2, header=True),
             cell(1, 1, "Units", header=True), cell(1, 2, "Rev", header=True),
             cell(2, 0, "East", rs=2), cell(2, 1, "5"), cell(2, 2, ""), cell(3, 1, "7"), cell(3, 2, "9")]
    assert otsl(cells) == ("<ched>Region<ched>Q1<lcel><nl><ucel><ched>Units<ched>Rev<nl>"
                           "<fcel>East<fcel>5<ecel><nl><ucel><fcel>7<fcel>9<nl>")
    flat = [cell(0, 0, "a|b", header=True), cell(0, 1, "*x*", header=True), cell(1, 0, "1"), cell(1, 1, "2")]
    assert gfm_table(flat) == "| a\\|b | \\*x\\* |\n|---|---|\n| 1 | 2 |"


def test_reading_order_keeps_columns_apart_but_key_value_rows_together():
    sidebar = [(0, 10 + 20 * i, 100, 26 + 20 * i) for i in range(5)]
    main = [(200, 19 + 20 * i, 500, 35 + 20 * i) for i in range(5)]  # another line pitch offset
    assert xy_cut(sidebar + main, 16) == list(range(10))  # the sidebar, then the main column
    keys = [(0, 20 * i, 80, 16 + 20 * i) for i in range(4)]
    values = [(300, 20 * i, 380, 16 + 20 * i) for i in range(4)]
    order = xy_cut(keys + values, 16)
    assert order == [0, 4, 1, 5, 2, 6, 3, 7]  # key, its value, next key, ...


def test_pairs_on_augmented_copies_use_the_moved_boxes(small_run, tmp_path):
    """--image augmented: pairs point at the copy's row, and region targets are its moved boxes."""
    from docfactory.engine.shards import write_shard

    run = tmp_path / "run"
    shutil.copytree(small_run[0], run)

    def moved(b):
        return {k: v + 5.0 for k, v in b.items()}

    with open_catalog(run) as catalog:
        for path in sorted(catalog.listed("documents")):
            rows = []
            for r in pq.read_table(run / path).to_pylist():
                lines = [dict(ln, box=moved(ln["box"]), clipped=i == 0) for i, ln in enumerate(r["lines"])]
                fields = [dict(f, boxes=[moved(b) for b in f["boxes"]], clipped=[False] * len(f["boxes"])) for f in r["fields"]]
                tables = [dict(t, cells=[dict(c, box=moved(c["box"])) for c in t["cells"]]) for t in r["tables"]]
                rows.append({k: r[k] for k in ("doc_id", "page", "template", "split", "seed", "image", "width", "height",
                                                "dpi", "ground_truth")}
                            | {"copy": 0, "legible": True, "image_format": "png", "lines": lines, "fields": fields, "tables": tables})
            catalog.add_shard(write_shard(run, path.replace("documents", "augmented"), "augmented", rows))
    summary = run_emit(run, EmitConfig(pretrain=False, image="augmented"))
    assert summary.clean_fallback == 0
    with open_catalog(run, read_only=True) as catalog:
        pairs = catalog.frame("SELECT * FROM pairs").to_dicts()
        docs = {(r["doc_id"], r["page"]): r for r in catalog.frame("SELECT doc_id, page, lines FROM documents").to_dicts()}
    assert {p["image_copy"] for p in pairs} == {"augmented"} and all("/augmented/" in p["image_shard"] for p in pairs)
    regions = [p for p in pairs if p["task"] == "region"]
    for p in regions:
        clean = docs[(p["doc_id"], p["page"])]["lines"]
        i = next(i for i, ln in enumerate(clean) if ln["text"] == p["answer"]
                 and all(abs(moved(ln["box"])[k] - p["region"][k]) < 1e-3 for k in p["region"]))
        assert i != 0  # a clipped line is never a target
