"""engine import: every format round-trips into `documents` rows (fixtures written here, plus three
real SROIE receipts from ../shared/data/sroie), field maps, and one clear error per kind of bad input
with nothing written."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from docfactory.engine.catalog import open_catalog
from docfactory.engine.real_sets import (FieldMapError, ImportRequest, RealSetError, import_set, is_real_run,
                                         load_field_map)

SROIE = Path(__file__).resolve().parents[3] / "shared" / "data" / "sroie"
PUBTABNET = Path(__file__).resolve().parents[3] / "shared" / "data" / "pubtabnet" / "examples"
needs_sroie = pytest.mark.skipif(not SROIE.is_dir(), reason="../shared/data/sroie not present")


def png(path: Path, size=(60, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "white").save(path)


def rows(run: Path, sql: str = "SELECT * FROM documents ORDER BY doc_id") -> list[dict]:
    with open_catalog(run, read_only=True) as catalog:
        result = catalog.sql(sql)
        names = [d[0] for d in result.description]
        return [dict(zip(names, r)) for r in result.fetchall()]


def sroie_fixture(tmp_path: Path, stems=("000", "001", "002")) -> Path:
    src = tmp_path / "sroie"
    for sub, suffix in (("img", ".jpg"), ("key", ".json"), ("box", ".csv")):
        (src / sub).mkdir(parents=True)
        for stem in stems:
            shutil.copy(SROIE / sub / f"{stem}{suffix}", src / sub / f"{stem}{suffix}")
    return src


@needs_sroie
def test_sroie_round_trip_with_the_dataset_words(tmp_path):
    src = sroie_fixture(tmp_path)
    result = import_set(tmp_path / "run", ImportRequest(src=src, fmt="sroie", word_source="dataset"))
    assert (result.pages, result.dataset, result.kind) == (3, "sroie", "receipt")
    docs = rows(tmp_path / "run")
    assert [d["doc_id"] for d in docs] == ["sroie-000", "sroie-001", "sroie-002"]
    first = docs[0]
    key = json.loads((SROIE / "key" / "000.json").read_text())
    fields = {f["name"]: f for f in first["fields"]}
    assert {n: f["value"] for n, f in fields.items()} == {
        "store.company": key["company"], "date": key["date"], "store.address": key["address"], "total": key["total"]}
    assert fields["date"]["normalized"] == "2018-12-25" and fields["total"]["normalized"] == "9.00"
    assert all(f["boxes"] == [] for f in first["fields"])  # a scan has no layout boxes
    assert (first["source"], first["dataset"], first["template"], first["split"]) == ("real", "sroie", "sroie", "test")
    assert first["image"] == (SROIE / "img" / "000.jpg").read_bytes()  # the image as it came
    assert json.loads(first["ground_truth"]) == {"store": {"company": key["company"], "address": key["address"]},
                                                 "date": key["date"], "total": key["total"]}
    # the words are the dataset's own OCR lines, split into words, each line a `lines` row
    first_line = (SROIE / "box" / "000.csv").read_text().splitlines()[0].split(",", 8)[8]
    assert first["lines"][0]["text"] == " ".join(first_line.split())
    assert [w["text"] for w in first["words"] if w["line"] == 0] == first_line.split()
    assert is_real_run(tmp_path / "run")
    # the slices view has the new columns
    with open_catalog(tmp_path / "run") as catalog:
        from docfactory.engine.evaluation import refresh_slices_view

        refresh_slices_view(catalog)
        assert catalog.sql("SELECT DISTINCT source, dataset FROM slices").fetchall() == [("real", "sroie")]


@needs_sroie
def test_import_resumes_and_refuses_other_settings(tmp_path):
    src = sroie_fixture(tmp_path)
    run = tmp_path / "run"
    import_set(run, ImportRequest(src=src, fmt="sroie", word_source="dataset"))
    again = import_set(run, ImportRequest(src=src, fmt="sroie", word_source="dataset"))
    assert again.skipped_shards == again.shards == 1
    from docfactory.engine.catalog import StepConfigMismatch

    with pytest.raises(StepConfigMismatch, match="word_source"):
        import_set(run, ImportRequest(src=src, fmt="sroie", word_source="tesseract"))


def test_donut_cord_round_trip_with_the_builtin_map(tmp_path):
    src = tmp_path / "cord"
    png(src / "a.png")
    png(src / "b.png")
    gt_a = {"gt_parse": {"menu": [{"nm": "ES TEH", "cnt": "2", "price": "10,000"}, {"nm": "NASI", "cnt": "1", "price": "25,000",
                                                                               "sub": {"nm": "TELUR"}}],
                         "sub_total": {"subtotal_price": "35,000", "tax_price": "3,500"},
                         "total": {"total_price": "38,500", "cashprice": "50,000", "changeprice": "11,500", "menuqty_cnt": "3"}}}
    gt_b = {"gt_parse": {"menu": {"nm": "KOPI", "cnt": "1", "price": "8,000"}, "total": {"total_price": "8,000"}}}
    lines = [{"file_name": "a.png", "ground_truth": json.dumps(gt_a)}, {"file_name": "b.png", "ground_truth": json.dumps(gt_b)}]
    (src / "metadata.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    import_set(tmp_path / "run", ImportRequest(src=src, fmt="donut", field_map="cord", word_source="tesseract"))
    docs = {d["doc_id"]: d for d in rows(tmp_path / "run")}
    a = {f["name"]: f["value"] for f in docs["cord-a"]["fields"]}
    assert a == {"items.0.description": "ES TEH", "items.0.quantity": "2", "items.0.amount": "10,000",
                 "items.1.description": "NASI", "items.1.quantity": "1", "items.1.amount": "25,000",
                 "subtotal": "35,000", "tax": "3,500", "total": "38,500", "payment.tendered": "50,000",
                 "payment.change": "11,500"}
    # a single menu item comes as an object in CORD: it is item 0 all the same
    b = {f["name"]: f["value"] for f in docs["cord-b"]["fields"]}
    assert b == {"items.0.description": "KOPI", "items.0.quantity": "1", "items.0.amount": "8,000", "total": "8,000"}
    assert docs["cord-a"]["knobs"]["n_items"] == 2 and docs["cord-a"]["knobs"]["locale"] == "id_ID"


def test_funsd_round_trip_keeps_the_answer_boxes(tmp_path):
    src = tmp_path / "funsd"
    png(src / "images" / "f1.png", (200, 100))
    form = [{"id": 0, "text": "DATE:", "label": "question", "box": [10, 10, 40, 20], "linking": [[0, 1]],
             "words": [{"text": "DATE:", "box": [10, 10, 40, 20]}]},
            {"id": 1, "text": "12/03/98", "label": "answer", "box": [50, 10, 90, 20], "linking": [[0, 1]],
             "words": [{"text": "12/03/98", "box": [50, 10, 90, 20]}]},
            {"id": 2, "text": "Remarks", "label": "question", "box": [10, 30, 60, 40], "linking": [], "words": []}]
    (src / "annotations").mkdir()
    (src / "annotations" / "f1.json").write_text(json.dumps({"form": form}))
    field_map = tmp_path / "map.yaml"
    field_map.write_text("dataset: forms\nkind: invoice\nfields: {DATE: invoice_date}\nunmapped: ignore\n")
    import_set(tmp_path / "run", ImportRequest(src=src, fmt="funsd", field_map=str(field_map), word_source="dataset"))
    (doc,) = rows(tmp_path / "run")
    assert doc["doc_id"] == "forms-f1" and doc["kind"] == "invoice"
    (f,) = doc["fields"]
    assert (f["name"], f["value"], f["normalized"]) == ("invoice_date", "12/03/98", "1998-03-12")
    assert f["boxes"] == [{"x0": 50.0, "y0": 10.0, "x1": 90.0, "y1": 20.0}]
    assert [w["text"] for w in doc["words"]] == ["DATE:", "12/03/98"]


def test_json_labels_with_the_kinds_own_field_names(tmp_path):
    src = tmp_path / "mine"
    png(src / "images" / "r1.png")
    (src / "labels.jsonl").write_text(json.dumps({"image": "r1.png", "fields": {"store": {"company": "ACME SDN BHD"},
                                                                                 "total": "12.50"}}) + "\n")
    import_set(tmp_path / "run", ImportRequest(src=src, fmt="json", kind="receipt", dataset="shop",
                                               word_source="tesseract"))
    (doc,) = rows(tmp_path / "run")
    assert doc["doc_id"] == "shop-r1" and doc["dataset"] == "shop"
    assert {f["name"]: f["value"] for f in doc["fields"]} == {"store.company": "ACME SDN BHD", "total": "12.50"}
    assert {f["name"]: f["type"] for f in doc["fields"]} == {"store.company": "text", "total": "money"}


@pytest.mark.skipif(not PUBTABNET.is_dir(), reason="../shared/data/pubtabnet not present")
def test_pubtabnet_gold_html_is_the_structure_with_its_cells(tmp_path):
    src = tmp_path / "ptn"
    src.mkdir()
    line = (PUBTABNET / "PubTabNet_Examples.jsonl").read_text().splitlines()[0]
    obj = json.loads(line)
    shutil.copy(PUBTABNET / obj["filename"], src / obj["filename"])
    (src / "tables.jsonl").write_text(line + "\n")
    import_set(tmp_path / "run", ImportRequest(src=src, fmt="pubtabnet", word_source="tesseract"))
    (doc,) = rows(tmp_path / "run")
    (table,) = doc["tables"]
    assert table["html"].startswith("<table>") and table["html"].count("<td") == len(obj["html"]["cells"])
    first_cell = "".join(obj["html"]["cells"][0]["tokens"])
    assert first_cell in table["html"] and doc["kind"] == "table" and table["n_rows"] > 1


# -- bad input: one error naming the file (and line); nothing written ----------------------------------
@needs_sroie
@pytest.mark.parametrize("damage, message", [
    (lambda src: (src / "img" / "001.jpg").unlink(), "key/001.json: a label for no image"),
    (lambda src: (src / "key" / "002.json").unlink(), "img/002.jpg: no labels for this image"),
    (lambda src: (src / "key" / "001.json").write_text('{"company": "X",\n "date": }'), "key/001.json:2: not valid JSON"),
    (lambda src: (src / "key" / "000.json").write_text('{"company": "X", "vendor": "Y"}'),
     "key/000.json: label key 'vendor' has no mapping"),
    (lambda src: (src / "box" / "001.csv").write_text("1,2,3\n"), "box/001.csv:1: expected x1,y1"),
    (lambda src: (src / "img" / "000.jpg").write_bytes(b"not a jpeg"), "img/000.jpg: not a readable image"),
])
def test_bad_sroie_input_is_one_error_and_nothing_written(tmp_path, damage, message):
    src = sroie_fixture(tmp_path)
    damage(src)
    run = tmp_path / "run"
    with pytest.raises((RealSetError, FieldMapError), match=message.replace("(", r"\(")):
        import_set(run, ImportRequest(src=src, fmt="sroie", word_source="dataset"))
    assert not run.exists() or not list(run.rglob("*.parquet"))


def test_bad_donut_and_json_lines_name_the_line(tmp_path):
    src = tmp_path / "d"
    png(src / "a.png")
    (src / "metadata.jsonl").write_text(json.dumps({"file_name": "a.png", "ground_truth": "{}"}) + "\n{oops\n")
    with pytest.raises(RealSetError, match=r"metadata.jsonl:1: ground_truth has no gt_parse"):
        import_set(tmp_path / "r1", ImportRequest(src=src, fmt="donut", field_map="cord"))
    (src / "metadata.jsonl").write_text(json.dumps({"file_name": "gone.png", "ground_truth": '{"gt_parse": {}}'}) + "\n")
    with pytest.raises(RealSetError, match=r"metadata.jsonl:1: image .*gone.png is missing"):
        import_set(tmp_path / "r2", ImportRequest(src=src, fmt="donut", field_map="cord"))
    mine = tmp_path / "mine"
    png(mine / "images" / "r1.png")
    (mine / "labels.jsonl").write_text(json.dumps({"image": "r1.png", "fields": {"totl": "1"}}) + "\n")
    with pytest.raises(FieldMapError, match=r"labels.jsonl:1: label key 'totl' has no mapping"):
        import_set(tmp_path / "r3", ImportRequest(src=mine, fmt="json", kind="receipt"))
    assert not any((tmp_path / r).exists() and list((tmp_path / r).rglob("*.parquet")) for r in ("r1", "r2", "r3"))


def test_field_map_errors(tmp_path):
    with pytest.raises(FieldMapError, match="unknown field map 'nope'.*built in: cord, sroie"):
        load_field_map("nope")
    bad = tmp_path / "m.yaml"
    bad.write_text("dataset: x\nkind: receipt\nfields: {a: store.nmae}\n")
    with pytest.raises(FieldMapError, match=r"m.yaml: fields: 'store.nmae' is not a field of kind 'receipt'"):
        load_field_map(str(bad))
    bad.write_text("dataset: x\nkind: receipt\nfields: {menu.*.nm: total}\n")
    with pytest.raises(FieldMapError, match="same number of"):
        load_field_map(str(bad))
    bad.write_text("dataset: x\nkind: receipt\nfield: {}\n")
    with pytest.raises(FieldMapError, match="m.yaml: field: Extra inputs"):
        load_field_map(str(bad))
    with pytest.raises(FieldMapError, match="give --field-map"):
        load_field_map(None)


@needs_sroie
def test_cli_import_and_refusals(tmp_path):
    src = sroie_fixture(tmp_path, ("000",))
    run = tmp_path / "run"
    engine = [sys.executable, "-m", "docfactory.cli"]
    done = subprocess.run([*engine, "import", str(src), "--format", "sroie", "--out", str(run), "--word-source", "dataset"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "imported 1 sroie pages as kind receipt" in done.stdout
    refused = subprocess.run([*engine, "augment", str(run), "--preset", "mild"], capture_output=True, text=True)
    assert refused.returncode == 1 and "an imported real set" in refused.stderr
    for command in (["export", str(run), "--format", "coco", "--out", str(tmp_path / "coco")], ["emit", str(run)]):
        refused = subprocess.run([*engine, *command], capture_output=True, text=True)
        assert refused.returncode == 1 and "an imported real set" in refused.stderr, refused.stderr
    refused = subprocess.run([*engine, "rerender", str(run), "sroie-000"], capture_output=True, text=True)
    assert refused.returncode == 1 and "a real page imported from sroie" in refused.stderr
    bad = subprocess.run([*engine, "import", str(src), "--format", "nope", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "unknown format 'nope' (known: sroie, donut, funsd, json, pubtabnet)" in bad.stderr
