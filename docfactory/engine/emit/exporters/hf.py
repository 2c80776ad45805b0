"""A Hugging Face dataset folder: data/<split>-00000-of-00001.parquet with an Image feature (the
features are declared in the Parquet schema's `huggingface` metadata, as `datasets` writes them)
and a README.md whose `configs` name the splits, so `datasets.load_dataset(folder)` opens it
(`holdout` included) and so does `load_dataset("parquet", data_files=…)`."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from docfactory.engine.emit.exporters.common import ExportContext, page_stem
from docfactory.engine.emit.pairs import page_ground_truth

HF_SPLITS = {"val": "validation"}


def _value(dtype: str) -> dict:
    return {"dtype": dtype, "_type": "Value"}


BBOX = pa.list_(pa.float32())
SCHEMA = pa.schema([
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("doc_id", pa.string()), ("page", pa.int32()), ("template", pa.string()), ("kind", pa.string()),
    ("width", pa.int32()), ("height", pa.int32()),
    ("ground_truth", pa.string()),  # the page's fields as Donut gt_parse JSON
    ("words", pa.list_(pa.struct([("text", pa.string()), ("bbox", BBOX)]))),
    ("fields", pa.list_(pa.struct([("name", pa.string()), ("value", pa.string()), ("normalized", pa.string()), ("bbox", BBOX)]))),
    ("tables", pa.list_(pa.struct([("name", pa.string()), ("html", pa.string())]))),
])
FEATURES = {
    "image": {"_type": "Image"},
    "doc_id": _value("string"), "page": _value("int32"), "template": _value("string"), "kind": _value("string"),
    "width": _value("int32"), "height": _value("int32"), "ground_truth": _value("string"),
    # A one-element list is `datasets`' spelling of a list feature (read by 2.x and 4.x alike).
    "words": [{"text": _value("string"), "bbox": [_value("float32")]}],
    "fields": [{"name": _value("string"), "value": _value("string"), "normalized": _value("string"), "bbox": [_value("float32")]}],
    "tables": [{"name": _value("string"), "html": _value("string")}],
}


def _bbox(b: dict) -> list[float]:
    return [b["x0"], b["y0"], b["x1"], b["y1"]]


def _union(boxes: list[dict]) -> list[float]:
    return [min(b["x0"] for b in boxes), min(b["y0"] for b in boxes), max(b["x1"] for b in boxes), max(b["y1"] for b in boxes)]


def export(ctx: ExportContext) -> None:
    rows: dict[str, list[dict]] = {}
    for _, _, r in ctx.pages():
        split = HF_SPLITS.get(ctx.split_of(r), ctx.split_of(r))
        gt = page_ground_truth(json.loads(r["ground_truth"]), {f["name"] for f in r["fields"]})
        rows.setdefault(split, []).append({
            "image": {"bytes": r["image"], "path": f"{page_stem(r['doc_id'], r['page'])}.png"},
            "doc_id": r["doc_id"], "page": r["page"], "template": r["template"], "kind": r["kind"],
            "width": r["width"], "height": r["height"], "ground_truth": json.dumps(gt, ensure_ascii=False),
            "words": [{"text": w["text"], "bbox": _bbox(w["box"])} for w in r["words"]],
            "fields": [{"name": f["name"], "value": f["value"], "normalized": f["normalized"], "bbox": _union(f["boxes"])}
                       for f in r["fields"]],
            "tables": [{"name": t["name"], "html": t["html"]} for t in r["tables"]],
        })
        ctx.summary.records[split] += 1
        ctx.summary.images += 1
    schema = SCHEMA.with_metadata({"huggingface": json.dumps({"info": {"features": FEATURES}})})
    (ctx.out / "data").mkdir(parents=True, exist_ok=True)
    for split, items in rows.items():
        pq.write_table(pa.Table.from_pylist(items, schema=schema), ctx.out / "data" / f"{split}-00000-of-00001.parquet",
                       compression="zstd")
    configs = "".join(f"  - split: {s}\n    path: data/{s}-*.parquet\n" for s in _ordered(rows))
    (ctx.out / "README.md").write_text(
        f"---\nconfigs:\n- config_name: default\n  data_files:\n{configs}---\n\n"
        "# docfactory pages\n\nSynthetic document pages with their labels, exported by `engine export --format hf`.\n"
        "Boxes are image pixels `[x0, y0, x1, y1]`; `ground_truth` is the page's Donut `gt_parse` JSON.\n",
        encoding="utf-8")


def _ordered(splits) -> list[str]:
    order = ["train", "validation", "test"]
    return sorted(splits, key=lambda s: (order.index(s) if s in order else len(order), s))
