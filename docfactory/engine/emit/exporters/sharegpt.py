"""ShareGPT / LLaVA conversation JSON: one file per split, a list of
{"id", "image", "conversations": [{"from": "human", "value": "<image>\\n…"}, {"from": "gpt", "value": …}]},
image paths relative to the export folder."""

from __future__ import annotations

from docfactory.engine.emit.exporters.common import ExportContext, group_pairs, write_json


def export(ctx: ExportContext) -> None:
    for split, items in group_pairs(ctx, "<image>\n").items():
        write_json(ctx.out / f"{split}.json", [
            {"id": pair["pair_id"], "image": image,
             "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": pair["answer"]}]}
            for pair, image, prompt in items
        ])
