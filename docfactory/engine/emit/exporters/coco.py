"""COCO detection JSON: annotations/instances_<split>.json and the images in <split>/.

Categories: one per field pattern (`total`, `items.*.amount`; supercategory `field`), then `table`
and `table_cell` (supercategory `table`), with ids fixed over the whole run so every split file
agrees. A field printed over several lines is one annotation: bbox is the union, segmentation one
rectangle per fragment. Extra keys (`text`, `name`, cell `row`/`col`/spans/`header`) ride along;
COCO readers ignore keys they do not know."""

from __future__ import annotations

from docfactory.engine.emit.exporters.common import ExportContext, page_stem, write_json
from docfactory.generators.content import pattern_of

TABLE_CATEGORIES = ("table", "table_cell")


def _xywh(b: dict) -> list[float]:
    return [round(b["x0"], 2), round(b["y0"], 2), round(b["x1"] - b["x0"], 2), round(b["y1"] - b["y0"], 2)]


def _poly(b: dict) -> list[float]:
    x0, y0, x1, y1 = (round(b[k], 2) for k in ("x0", "y0", "x1", "y1"))
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def categories(ctx: ExportContext) -> list[dict]:
    names = ctx.catalog.sql("SELECT DISTINCT f.name FROM documents, unnest(fields) AS t(f)").fetchall()
    patterns = sorted({pattern_of(n) for (n,) in names})
    cats = [{"id": i + 1, "name": p, "supercategory": "field"} for i, p in enumerate(patterns)]
    return cats + [{"id": len(cats) + i + 1, "name": n, "supercategory": "table"} for i, n in enumerate(TABLE_CATEGORIES)]


def export(ctx: ExportContext) -> None:
    cats = categories(ctx)
    cat_id = {(c["supercategory"], c["name"]): c["id"] for c in cats}
    files: dict[str, dict] = {}
    for _, _, row in ctx.pages(["doc_id", "template", "page", "image", "width", "height", "fields", "tables"]):
        split = ctx.split_of(row)
        coco = files.setdefault(split, {"info": {"description": f"docfactory {split}", "version": "1.0"},
                                        "licenses": [], "images": [], "annotations": [], "categories": cats})
        image_id = len(coco["images"]) + 1
        name = f"{page_stem(row['doc_id'], row['page'])}.png"
        ctx.write_image(f"{split}/{name}", row["image"])
        coco["images"].append({"id": image_id, "file_name": name, "width": row["width"], "height": row["height"],
                               "doc_id": row["doc_id"], "page": row["page"]})
        anns = coco["annotations"]

        def add(category: int, box: dict, segmentation: list, **extra) -> None:
            xywh = _xywh(box)
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": category, "bbox": xywh,
                         "area": round(xywh[2] * xywh[3], 2), "iscrowd": 0, "segmentation": segmentation, **extra})

        for f in row["fields"]:
            boxes = f["boxes"]
            union = {"x0": min(b["x0"] for b in boxes), "y0": min(b["y0"] for b in boxes),
                     "x1": max(b["x1"] for b in boxes), "y1": max(b["y1"] for b in boxes)}
            add(cat_id[("field", pattern_of(f["name"]))], union, [_poly(b) for b in boxes], name=f["name"], text=f["value"])
        for t in row["tables"]:
            if not t["cells"]:
                continue
            cells = [c["box"] for c in t["cells"]]
            box = {"x0": min(b["x0"] for b in cells), "y0": min(b["y0"] for b in cells),
                   "x1": max(b["x1"] for b in cells), "y1": max(b["y1"] for b in cells)}
            add(cat_id[("table", "table")], box, [_poly(box)], name=t["name"], html=t["html"])
            for c in t["cells"]:
                add(cat_id[("table", "table_cell")], c["box"], [_poly(c["box"])], table=t["name"], text=c["text"],
                    row=c["row"], col=c["col"], rowspan=c["rowspan"], colspan=c["colspan"], header=c["header"])
        ctx.summary.records[split] += 1
    for split, coco in files.items():
        write_json(ctx.out / "annotations" / f"instances_{split}.json", coco)
