"""Instruction pairs from a page's labels: every answer is a label (or made only from labels), so
a pair is exactly as right as the page it comes from.

Tasks: `extract` (the page's ground truth as JSON, Donut gt_parse nesting), `field` (one field's
printed value; for a field the document does not have, the absent answer), `region` (a line's box
-> its text), `table` (PubTabNet HTML) and `table_otsl`, `markdown`, and `ocr` (plain text in
reading order). Phrasings are chosen by a seed from (emit seed, document seed, page, task).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from docfactory.engine.emit.blocks import Block
from docfactory.engine.emit.prompts import Prompts, load_prompts
from docfactory.engine.emit.text import markdown, ocr_text, otsl, units
from docfactory.generators.content import pattern_of
from docfactory.generators.spec import derive_seed


class PairOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field_questions: Annotated[int, Field(ge=0, description="questions about fields on the page")] = 3
    absent_questions: Annotated[int, Field(ge=0, description="questions about vocabulary fields the document lacks")] = 1
    region_reads: Annotated[int, Field(ge=0, description="box -> text pairs per page")] = 2
    table_format: Annotated[Literal["html", "otsl", "both"], Field(description="table answers as PubTabNet HTML, OTSL, or both")] = "html"


@dataclass(frozen=True)
class ImageRef:
    shard: str
    row: int
    copy: str = "clean"  # clean | augmented
    index: int | None = None  # augmented copy index; None for the clean page (as in predictions)


def page_ground_truth(ground_truth: Any, names: set[str], prefix: str = "") -> Any:
    """The document's ground truth restricted to the fields printed on one page (list items
    renumbered from 0, as a page-level Donut target is). A one-page document's page gets it whole."""
    if isinstance(ground_truth, dict):
        out = {}
        for key, value in ground_truth.items():
            sub = page_ground_truth(value, names, f"{prefix}.{key}" if prefix else key)
            if sub not in (None, {}, []):
                out[key] = sub
        return out
    if isinstance(ground_truth, list):
        items = (page_ground_truth(v, names, f"{prefix}.{i}" if prefix else str(i)) for i, v in enumerate(ground_truth))
        return [v for v in items if v not in (None, {}, [])]
    return ground_truth if prefix in names else None


def leaf_paths(tree: Any, prefix: str = "") -> list[str]:
    if isinstance(tree, dict):
        return [p for k, v in tree.items() for p in leaf_paths(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(tree, list):
        return [p for i, v in enumerate(tree) for p in leaf_paths(v, f"{prefix}.{i}" if prefix else str(i))]
    return [prefix]


def _norm_box(b: dict, width: int, height: int) -> str:
    x0, y0, x1, y1 = (round(1000 * v / d) for v, d in ((b["x0"], width), (b["y0"], height), (b["x1"], width), (b["y1"], height)))
    return f"[{x0}, {y0}, {x1}, {y1}]"


def page_pairs(doc: dict, labels: dict, image: ImageRef, split: str, *, options: PairOptions = PairOptions(),
               seed: int = 0, blocks: Sequence[Block] | None = None, prompts: Prompts | None = None) -> list[dict]:
    """Pairs for one page. `doc` is the documents row (ids, kind, ground truth); `labels` the row
    whose boxes match the referenced image (the same row for a clean image, the augmented copy's row
    otherwise)."""
    prompts = prompts or load_prompts()
    kind = doc["kind"]
    kind_name = prompts.kind_name(kind)
    lines, fields, tables = labels["lines"], labels["fields"], labels["tables"]
    out: list[dict] = []

    def rng(task: str) -> random.Random:
        return random.Random(derive_seed(seed, doc["seed"], doc["page"], task))

    def add(task: str, prompt: str, answer: str, target: str | None = None, answerable: bool = True, region=None):
        out.append({
            "pair_id": f"{doc['doc_id']}:{doc['page']}:{task}:{sum(p['task'] == task for p in out)}",
            "doc_id": doc["doc_id"], "page": doc["page"], "template": doc["template"], "kind": kind,
            "task": task, "prompt": prompt, "answer": answer, "target": target, "answerable": answerable,
            "region": region, "image_shard": image.shard, "image_row": image.row, "image_copy": image.copy,
            "copy": image.index, "split": split,
        })

    ground_truth = json.loads(doc["ground_truth"])
    page_gt = page_ground_truth(ground_truth, {f["name"] for f in fields})
    add("extract", prompts.phrase("extract", rng("extract"), kind=kind_name), json.dumps(page_gt, ensure_ascii=False))

    # On an augmented copy, a field or line the border cut may not be readable: ask about others.
    askable = [f for f in fields if not any(f.get("clipped") or ())]
    r = rng("field")
    for f in r.sample(askable, min(options.field_questions, len(askable))):
        add("field", prompts.phrase("field", r, kind=kind_name, field=prompts.field_name(kind, f["name"])), f["value"], f["name"])
    have = {pattern_of(p) for p in leaf_paths(ground_truth)}
    absent = sorted(p for p in prompts.vocabulary(kind) if "*" not in p and p not in have)
    for name in r.sample(absent, min(options.absent_questions, len(absent))):
        add("field", prompts.phrase("field", r, kind=kind_name, field=prompts.field_name(kind, name)),
            prompts.absent_answer, name, answerable=False)

    r = rng("region")
    readable = [ln for ln in lines if len(ln["text"].strip()) >= 2 and not ln.get("clipped")]
    for ln in r.sample(readable, min(options.region_reads, len(readable))):
        box = _norm_box(ln["box"], labels["width"], labels["height"])
        add("region", prompts.phrase("region", r, kind=kind_name, box=box), ln["text"], region=ln["box"])

    r = rng("table")
    for t in tables:
        if not t["cells"]:
            continue
        name = prompts.table_name(t["name"])
        if options.table_format in ("html", "both"):
            add("table", prompts.phrase("table", r, kind=kind_name, table=name), t["html"], t["name"])
        if options.table_format in ("otsl", "both"):
            add("table_otsl", prompts.phrase("table_otsl", r, kind=kind_name, table=name), otsl(t["cells"]), t["name"])

    reading = units(lines, fields, tables, list(blocks) if blocks is not None else None)
    add("markdown", prompts.phrase("markdown", rng("markdown"), kind=kind_name), markdown(lines, reading))
    add("ocr", prompts.phrase("ocr", rng("ocr"), kind=kind_name), ocr_text(lines, reading))
    return out
