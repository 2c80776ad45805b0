"""Runs at fsspec URLs: generate, augment, emit and evaluate write the same bytes to memory:// as to
a local folder, the catalog (DuckDB over the same URLs) answers there and after the run is copied elsewhere,
file:// is a local path, and a protocol whose package is missing is a clear error."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path

import fsspec
import pytest

from docfactory.engine import storage
from docfactory.engine.augment import AugmentConfig, run_augment
from docfactory.engine.catalog import open_catalog
from docfactory.engine.emit import EmitConfig, run_emit
from docfactory.engine.evaluation import evaluate_run, leaderboard
from docfactory.engine.evaluation.gold import load_gold
from docfactory.engine.evaluation.scoring import ScoringOptions
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.predict_step import PredictRequest, run_predict


def make_run(run, predictions: Path) -> dict[str, str]:
    # memory:// lives in this process: no worker process could write it, so no time limit (which needs one)
    cfg = GenerateConfig(n=2, seed=3, shard_docs=1, workers=1, templates=["receipt_shop", "invoice_modern"],
                         task_timeout=None)
    assert run_generate(run, cfg).failed_shards == []
    assert run_augment(run, AugmentConfig(preset="mild", workers=1)).failed_shards == []
    assert run_emit(run, EmitConfig(workers=1)).failed_shards == []
    with open_catalog(run, read_only=True) as catalog:
        gold = load_gold(catalog)
    predictions.write_text("".join(json.dumps({"doc_id": g.doc_id, "page": g.page, "fields": g.tree,
                                               "tables": [t.html for t in g.tables], "text": g.text}) + "\n"
                                   for g in gold.values()), encoding="utf-8")
    evaluate_run(run, predictions, name="perfect", options=ScoringOptions(workers=0))  # TEDS in this process
    with open_catalog(run, read_only=True) as catalog:
        return {path: info.sha256 for path, info in catalog.listed().items()}


def test_a_run_at_a_url_has_the_same_bytes_and_a_working_catalog(tmp_path):
    url = f"memory://docfactory-test-{uuid.uuid4().hex}/runs/r1"
    remote, local = make_run(url, tmp_path / "p.jsonl"), make_run(tmp_path / "local", tmp_path / "p.jsonl")
    assert remote == local and len(remote) == 14  # documents, augmented, lines, pairs, pretrain x 2; 4 evaluation kinds
    fs = fsspec.filesystem("memory")
    assert fs.exists(f"{url}/catalog.duckdb") and not list((tmp_path / "local").glob("**/.tmp-*"))
    with open_catalog(url, read_only=True) as catalog:
        assert catalog.sql("SELECT count(DISTINCT doc_id) FROM documents").fetchone()[0] == 2
        assert catalog.sql("SELECT count(*) FROM augmented").fetchone()[0] == 2
        paths = catalog.shard_paths("pairs")
        assert catalog.sql("SELECT min(field_f1), count(*) FROM doc_scores").fetchone() == (1.0, 2)
        assert catalog.sql("SELECT count(*) FROM slices").fetchone()[0] == 4  # clean + augmented pages
    assert [row["field_f1"] for row in leaderboard(url)] == [1.0]
    assert json.loads(fs.cat_file(f"{url}/eval/perfect/summary.json"))["overall"]["pages"] == 2
    assert all(p.startswith(f"{url}/shards/pairs/") for p in paths)
    assert storage.read_table(url, "shards/pairs/it000/part-00000.parquet").num_rows > 0

    moved = url.replace("/runs/r1", "/elsewhere/r2")
    fs.copy(url, moved, recursive=True)
    fs.rm(url, recursive=True)
    with open_catalog(moved, read_only=True) as catalog:  # views are rebuilt over the new URLs
        assert catalog.sql("SELECT count(*) FROM documents").fetchone()[0] == 2
        assert catalog.sql("SELECT count(*) FROM pretrain").fetchone()[0] == 2
    fs.rm(moved.rsplit("/elsewhere", 1)[0], recursive=True)


def test_file_urls_are_local_paths(tmp_path):
    assert storage.run_root(f"file://{tmp_path}/r") == str(tmp_path / "r")
    assert not storage.is_url(f"file://{tmp_path}/r") and storage.is_url("s3://bucket/r")
    assert storage.location("s3://bucket/r/", "catalog.duckdb") == "s3://bucket/r/catalog.duckdb"


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed")
def test_a_url_without_its_filesystem_package_names_it():
    with pytest.raises(ValueError, match="s3fs"):
        open_catalog("s3://bucket/runs/r1", read_only=True)


def test_a_run_on_s3_through_a_local_moto_server(tmp_path, monkeypatch):
    """s3:// end to end (s3fs against a moto S3 server on 127.0.0.1): shards, catalog, DuckDB views, and
    predict (the same file as from a local run) and evaluate over them."""
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": f"http://{host}:{port}"})
        fs, _ = storage.filesystem("s3://docfactory-test")
        fs.mkdir("docfactory-test")
        cfg = GenerateConfig(n=2, seed=3, shard_docs=1, workers=1, templates=["receipt_shop"])
        assert run_generate("s3://docfactory-test/runs/r1", cfg).failed_shards == []
        run_generate(tmp_path / "local", cfg)
        with open_catalog("s3://docfactory-test/runs/r1", read_only=True) as remote, \
                open_catalog(tmp_path / "local", read_only=True) as local:
            assert remote.listed() == local.listed()
            assert remote.sql("SELECT count(DISTINCT doc_id) FROM documents").fetchone()[0] == 2
        assert fs.exists("docfactory-test/runs/r1/catalog.duckdb")
        script = tmp_path / "model.py"  # an external model: each page's size as its text
        script.write_text("import json, sys\nwith open(sys.argv[2], 'w') as out:\n    for line in open(sys.argv[1]):\n"
                          "        m = json.loads(line)\n        out.write(json.dumps({'doc_id': m['doc_id'], 'page': m['page'], "
                          "'text': '%dx%d' % (m['width'], m['height'])}) + '\\n')\n")
        for run, out in (("s3://docfactory-test/runs/r1", tmp_path / "s3.jsonl"), (tmp_path / "local", tmp_path / "local.jsonl")):
            run_predict(run, PredictRequest(model="command", splits=None, out=out, predict_cmd=f"{sys.executable} {script}"))
        assert (tmp_path / "s3.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
        result = evaluate_run("s3://docfactory-test/runs/r1", tmp_path / "s3.jsonl", name="sizes")
        assert result.pages == 2 and fs.exists("docfactory-test/runs/r1/eval/sizes/summary.json")
    finally:
        server.stop()
