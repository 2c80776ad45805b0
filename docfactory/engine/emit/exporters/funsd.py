"""FUNSD-style form annotations: <split>/images/<page>.png and <split>/annotations/<page>.json with
{"form": [{"id", "text", "box": [x0, y0, x1, y1], "label", "words": [{"text", "box"}], "linking"}]}.

Entities: each labelled field is an `answer` (its words: those whose centre lies in the field's
boxes); the rest of each line is one entity, a `question` when it captions a field (the nearest
entity left of it on its row, else just above it; linked [question, answer] as FUNSD does), a
`header` when it is title-sized, else `other`. Each field entity also carries `field`, its name."""

from __future__ import annotations

from statistics import median

from docfactory.engine.emit.blocks import same_row
from docfactory.engine.emit.exporters.common import ExportContext, page_stem, write_json


def _box(b: dict) -> tuple[float, float, float, float]:
    return (b["x0"], b["y0"], b["x1"], b["y1"])


def _ints(b) -> list[int]:
    return [round(v) for v in b]


def _union(boxes) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def form(row: dict) -> list[dict]:
    words = row["words"]
    field_of: dict[int, int] = {}
    for k, f in enumerate(row["fields"]):
        for i, w in enumerate(words):
            x0, y0, x1, y1 = _box(w["box"])
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            if i not in field_of and any(b["x0"] <= cx <= b["x1"] and b["y0"] <= cy <= b["y1"] for b in f["boxes"]):
                field_of[i] = k
    entities: list[dict] = []
    groups: dict[tuple[str, int], list[int]] = {}
    for i in range(len(words)):
        key = ("field", field_of[i]) if i in field_of else ("line", words[i]["line"])
        groups.setdefault(key, []).append(i)
    h = median([w["box"]["y1"] - w["box"]["y0"] for w in words]) if words else 12.0
    for (kind, k), idx in groups.items():
        box = _union([_box(words[i]["box"]) for i in idx])
        # An answer's text is its label (a word may carry a bracket or colon the value does not have)
        text = " ".join(row["fields"][k]["value"].split()) if kind == "field" else " ".join(words[i]["text"] for i in idx)
        entity = {"id": len(entities), "text": text, "box": _ints(box),
                  "label": "answer" if kind == "field" else ("header" if box[3] - box[1] >= 1.6 * h else "other"),
                  "words": [{"text": words[i]["text"], "box": _ints(_box(words[i]["box"]))} for i in idx], "linking": []}
        if kind == "field":
            entity["field"] = row["fields"][k]["name"]
        entities.append(entity)
    _link_questions(entities, h)
    return entities


def _link_questions(entities: list[dict], h: float) -> None:
    others = [e for e in entities if e["label"] != "answer"]
    for answer in (e for e in entities if e["label"] == "answer"):
        a = answer["box"]
        left = [e for e in others if same_row(e["box"], a) and e["box"][2] <= a[0] + 1]
        above = [e for e in others if 0 <= a[1] - e["box"][3] < 0.8 * h and e["box"][0] < a[2] and e["box"][2] > a[0]]
        question = max(left, key=lambda e: e["box"][2], default=None) or min(above, key=lambda e: a[1] - e["box"][3], default=None)
        if question is not None and question["label"] != "header":
            question["label"] = "question"
            question["linking"].append([question["id"], answer["id"]])
            answer["linking"].append([question["id"], answer["id"]])


def export(ctx: ExportContext) -> None:
    for _, _, row in ctx.pages(["doc_id", "template", "page", "image", "words", "fields"]):
        split = ctx.split_of(row)
        stem = page_stem(row["doc_id"], row["page"])
        ctx.write_image(f"{split}/images/{stem}.png", row["image"])
        write_json(ctx.out / split / "annotations" / f"{stem}.json", {"form": form(row)})
        ctx.summary.records[split] += 1
