"""Each export reads back in its ecosystem's format: ShareGPT / LLaMA-Factory JSON (JSON schema),
Donut metadata.jsonl, a `datasets` folder with an Image feature, COCO keys and id integrity, FUNSD."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.catalog import open_catalog
from docfactory.engine.emit import EXPORTERS, EmitConfig, ExportError, SplitConfig, export_run, run_emit
from docfactory.engine.emit.pairs import page_ground_truth
from docfactory.generators.content import pattern_of

HOLDOUT = ["statement_report"]

SHAREGPT = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["id", "image", "conversations"], "properties": {
        "id": {"type": "string"}, "image": {"type": "string", "pattern": r"^images/.+\.(png|jpg)$"},
        "conversations": {"type": "array", "minItems": 2, "maxItems": 2, "prefixItems": [
            {"type": "object", "required": ["from", "value"], "properties": {
                "from": {"const": "human"}, "value": {"type": "string", "pattern": "^<image>\\n"}}},
            {"type": "object", "required": ["from", "value"], "properties": {
                "from": {"const": "gpt"}, "value": {"type": "string"}}}]}}},
}
LLAMA_FACTORY = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["messages", "images"], "additionalProperties": False, "properties": {
        "images": {"type": "array", "minItems": 1, "maxItems": 1, "items": {"type": "string"}},
        "messages": {"type": "array", "minItems": 2, "maxItems": 2, "prefixItems": [
            {"type": "object", "required": ["role", "content"], "properties": {
                "role": {"const": "user"}, "content": {"type": "string", "pattern": "^<image>"}}},
            {"type": "object", "required": ["role", "content"], "properties": {
                "role": {"const": "assistant"}, "content": {"type": "string"}}}]}}},
}
DATASET_INFO = {
    "type": "object", "minProperties": 1,
    "additionalProperties": {"type": "object", "required": ["file_name", "formatting", "columns", "tags"], "properties": {
        "formatting": {"const": "sharegpt"},
        "columns": {"const": {"messages": "messages", "images": "images"}},
        "tags": {"const": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}}}},
}


@pytest.fixture(scope="module")
def run(small_run, tmp_path_factory):
    run = tmp_path_factory.mktemp("export") / "run"
    shutil.copytree(small_run[0], run)
    run_emit(run, EmitConfig(pretrain=False, splits=SplitConfig(holdout_templates=HOLDOUT)))
    return run


@pytest.fixture(scope="module")
def pages(run):
    with open_catalog(run, read_only=True) as catalog:
        return {(r["doc_id"], r["page"]): r for r in catalog.frame("SELECT * EXCLUDE (image) FROM documents").to_dicts()}


@pytest.fixture(scope="module")
def n_pairs(run):
    with open_catalog(run, read_only=True) as catalog:
        return catalog.sql("SELECT count(*) FROM pairs").fetchone()[0]


def _export(run, fmt, tmp_path):
    out = tmp_path / fmt
    summary = export_run(run, fmt, out)
    return out, summary


def test_sharegpt_reads_back(run, tmp_path, n_pairs):
    out, summary = _export(run, "sharegpt", tmp_path)
    total = 0
    for path in out.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(data, SHAREGPT)
        assert all((out / item["image"]).is_file() and item["conversations"][0]["value"].count("<image>") == 1 for item in data)
        total += len(data)
    assert total == n_pairs == sum(summary.records.values())
    assert {p.stem for p in out.glob("*.json")} == {"train", "val", "test", "holdout"} & set(summary.records)


def test_llama_factory_reads_back(run, tmp_path, n_pairs):
    out, _ = _export(run, "llama-factory", tmp_path)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    jsonschema.validate(info, DATASET_INFO)
    total = 0
    for name, entry in info.items():
        data = json.loads((out / entry["file_name"]).read_text(encoding="utf-8"))
        jsonschema.validate(data, LLAMA_FACTORY)
        assert all((out / item["images"][0]).is_file() for item in data)  # relative to dataset_dir
        total += len(data)
    assert total == n_pairs and "docfactory_holdout" in info


def test_donut_metadata_parses(run, tmp_path, pages):
    out, _ = _export(run, "donut", tmp_path)
    assert {p.name for p in out.iterdir() if p.is_dir()} <= {"train", "validation", "test", "holdout"}
    seen = 0
    for meta in out.glob("*/metadata.jsonl"):
        for line in meta.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert set(record) == {"file_name", "ground_truth"} and (meta.parent / record["file_name"]).is_file()
            gt = json.loads(record["ground_truth"])
            assert set(gt) == {"gt_parse"}
            doc_id, page = record["file_name"][:-4].rsplit("_p", 1)
            row = pages[(doc_id, int(page))]
            assert gt["gt_parse"] == page_ground_truth(json.loads(row["ground_truth"]), {f["name"] for f in row["fields"]})
            seen += 1
    assert seen == len(pages)
    holdout = [json.loads(line)["file_name"] for line in (out / "holdout" / "metadata.jsonl").read_text().splitlines()]
    assert {pages[(n[:-4].rsplit("_p", 1)[0], int(n[:-4].rsplit("_p", 1)[1]))]["template"] for n in holdout} == set(HOLDOUT)


def test_hf_folder_loads_with_an_image_feature(run, tmp_path, pages):
    datasets = pytest.importorskip("datasets")
    out, summary = _export(run, "hf", tmp_path)
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == set(summary.records) and "holdout" in loaded
    assert sum(len(split) for split in loaded.values()) == len(pages)
    assert isinstance(loaded["train"].features["image"], datasets.Image)
    first = loaded["train"][0]
    assert first["image"].size == (first["width"], first["height"])
    assert json.loads(first["ground_truth"]) and first["words"][0]["bbox"]
    parquet = datasets.load_dataset("parquet", data_files={"holdout": str(out / "data" / "holdout-*.parquet")},
                                    cache_dir=str(tmp_path / "cache2"))
    assert isinstance(parquet["holdout"].features["image"], datasets.Image)


def test_coco_keys_and_id_integrity(run, tmp_path, pages):
    out, _ = _export(run, "coco", tmp_path)
    files = sorted((out / "annotations").glob("instances_*.json"))
    categories = None
    n_images = 0
    for path in files:
        coco = json.loads(path.read_text(encoding="utf-8"))
        assert {"images", "annotations", "categories", "info", "licenses"} <= set(coco)
        categories = categories or coco["categories"]
        assert coco["categories"] == categories  # the same ids in every split
        cat_ids = {c["id"] for c in coco["categories"]}
        assert len(cat_ids) == len(coco["categories"])
        images = {i["id"]: i for i in coco["images"]}
        assert len(images) == len(coco["images"])
        split = path.stem.removeprefix("instances_")
        for image in coco["images"]:
            assert {"id", "file_name", "width", "height"} <= set(image) and (out / split / image["file_name"]).is_file()
        ids = [a["id"] for a in coco["annotations"]]
        assert len(set(ids)) == len(ids)
        for a in coco["annotations"]:
            assert {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation"} <= set(a)
            assert a["image_id"] in images and a["category_id"] in cat_ids
            x, y, w, h = a["bbox"]
            image = images[a["image_id"]]
            assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= image["width"] + 0.5 and y + h <= image["height"] + 0.5
        n_images += len(images)
    assert n_images == len(pages)
    supers = {c["supercategory"] for c in categories}
    names = {c["name"] for c in categories}
    assert supers == {"field", "table"} and {"table", "table_cell", "total", "items.*.amount"} <= names
    assert {pattern_of(f["name"]) for p in pages.values() for f in p["fields"]} <= names


def test_funsd_forms(run, tmp_path, pages):
    out, _ = _export(run, "funsd", tmp_path)
    files = list(out.glob("*/annotations/*.json"))
    assert len(files) == len(pages)
    for path in files:
        form = json.loads(path.read_text(encoding="utf-8"))["form"]
        assert (path.parent.parent / "images" / (path.stem + ".png")).is_file()
        doc_id, page = path.stem.rsplit("_p", 1)
        row = pages[(doc_id, int(page))]
        ids = {e["id"] for e in form}
        assert len(ids) == len(form)
        for e in form:
            assert {"id", "text", "box", "label", "words", "linking"} <= set(e) and len(e["box"]) == 4
            assert e["label"] in {"question", "answer", "header", "other"} and e["words"]
            for q, a in e["linking"]:
                assert q in ids and a in ids and e["id"] in (q, a)
        # every word of the page in exactly one entity; every field an answer with its words
        assert sorted(w["text"] for e in form for w in e["words"]) == sorted(w["text"] for w in row["words"])
        answers = {e["field"]: e for e in form if e["label"] == "answer"}
        assert set(answers) == {f["name"] for f in row["fields"]}
        for f in row["fields"]:
            assert answers[f["name"]]["text"].split() == f["value"].split()
        assert any(e["label"] == "question" for e in form)


def test_output_folder_rules_and_unknown_format(run, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(ExportError, match="not empty"):
        export_run(run, "donut", out)
    with pytest.raises(ExportError, match="not written by engine export"):  # --overwrite deletes only exports
        export_run(run, "donut", out, overwrite=True)
    assert (out / "keep.txt").exists()
    export_run(run, "coco", tmp_path / "again")
    with pytest.raises(ExportError, match="not empty"):
        export_run(run, "donut", tmp_path / "again")
    export_run(run, "donut", tmp_path / "again", overwrite=True)
    assert not (tmp_path / "again" / "annotations").exists() and (tmp_path / "again" / "train" / "metadata.jsonl").is_file()
    with pytest.raises(ExportError, match="holds the run"):
        export_run(run, "donut", run.parent, overwrite=True)
    with pytest.raises(ExportError) as exc:
        export_run(run, "yolo", tmp_path / "y")
    assert all(name in str(exc.value) for name in EXPORTERS)
    result = CliRunner().invoke(app, ["export", str(run), "--format", "yolo", "--out", str(tmp_path / "z")])
    assert result.exit_code == 1 and "llama-factory" in result.stderr


def test_cli_emit_and_export(small_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(small_run[0], run)
    result = CliRunner().invoke(app, ["emit", str(run), "--no-pretrain", "--holdout-templates", "receipt_shop,invoice_modern",
                                      "--split", "train=0.9,test=0.1", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "pairs by task" in result.stdout and "holdout" in result.stdout
    with open_catalog(run, read_only=True) as catalog:
        held = catalog.sql("SELECT DISTINCT template FROM pairs WHERE split = 'holdout'").fetchall()
        assert {t for (t,) in held} == {"receipt_shop", "invoice_modern"}
        assert {s for (s,) in catalog.sql("SELECT DISTINCT split FROM pairs").fetchall()} <= {"train", "test", "holdout"}
    result = CliRunner().invoke(app, ["export", str(run), "--format", "sharegpt", "--out", str(tmp_path / "sg")])
    assert result.exit_code == 0 and "holdout" in result.stdout, result.output
    result = CliRunner().invoke(app, ["emit", str(run), "--no-pretrain", "--workers", "1"])
    assert result.exit_code == 1 and "--redo" in result.stderr
