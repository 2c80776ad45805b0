"""Donut (clovaai/donut) dataset folders: train/, validation/, test/ (and holdout/), each with its
page images and a metadata.jsonl of {"file_name": …, "ground_truth": "{\\"gt_parse\\": {…}}"} lines.
A page's gt_parse is the document's ground truth restricted to the fields printed on that page."""

from __future__ import annotations

import json

from docfactory.engine.emit.exporters.common import ExportContext, page_stem, write_json
from docfactory.engine.emit.pairs import page_ground_truth

DONUT_SPLITS = {"val": "validation"}


def export(ctx: ExportContext) -> None:
    lines: dict[str, list[dict]] = {}
    for _, _, row in ctx.pages(["doc_id", "template", "page", "image", "fields", "ground_truth"]):
        split = DONUT_SPLITS.get(ctx.split_of(row), ctx.split_of(row))
        name = f"{page_stem(row['doc_id'], row['page'])}.png"
        ctx.write_image(f"{split}/{name}", row["image"])
        gt = page_ground_truth(json.loads(row["ground_truth"]), {f["name"] for f in row["fields"]})
        lines.setdefault(split, []).append({"file_name": name, "ground_truth": json.dumps({"gt_parse": gt}, ensure_ascii=False)})
        ctx.summary.records[split] += 1
    for split, items in lines.items():
        write_json(ctx.out / split / "metadata.jsonl", items, lines=True)
