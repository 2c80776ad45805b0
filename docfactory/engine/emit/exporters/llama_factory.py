"""LLaMA-Factory multimodal data (data/README.md, "sharegpt" formatting with OpenAI-style tags):
one JSON file per split, a list of {"messages": [{"role": "user", "content": "<image>…"},
{"role": "assistant", "content": …}], "images": ["images/….png"]}, and a dataset_info.json that
registers each split as `docfactory_<split>`. Point `dataset_dir` at the export folder (image paths
are relative to it) and train with `dataset: docfactory_train`."""

from __future__ import annotations

from docfactory.engine.emit.exporters.common import ExportContext, group_pairs, write_json


def export(ctx: ExportContext) -> None:
    info = {}
    for split, items in group_pairs(ctx, "<image>").items():
        write_json(ctx.out / f"{split}.json", [
            {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": pair["answer"]}],
             "images": [image]}
            for pair, image, prompt in items
        ])
        info[f"docfactory_{split}"] = {
            "file_name": f"{split}.json", "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
        }
    write_json(ctx.out / "dataset_info.json", dict(sorted(info.items())))
