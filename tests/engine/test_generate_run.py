"""A real small run: every template verified, stored, queryable from anywhere, deterministic."""

from __future__ import annotations

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl

from docfactory.engine.catalog import open_catalog
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.rerender import rerender
from docfactory.generators.content import unflatten
from docfactory.generators.validate import check_values

N_DOCS = 20  # the small_run fixture's size (tests/conftest.py)


def _shard_hashes(run: Path) -> dict[str, str]:
    with open_catalog(run, read_only=True) as catalog:
        return {path: info.sha256 for path, info in catalog.listed("documents").items()}


def test_every_document_verified_across_all_templates(small_run, registry):
    run, summary = small_run
    assert summary.template_errors == []
    assert (summary.generated, summary.verified, summary.rejected) == (N_DOCS, N_DOCS, 0)
    with open_catalog(run, read_only=True) as catalog:
        templates = {t for (t,) in catalog.sql("SELECT DISTINCT template FROM documents").fetchall()}
        kinds = {k for (k,) in catalog.sql("SELECT DISTINCT kind FROM documents").fetchall()}
        docs = catalog.sql("SELECT count(DISTINCT doc_id) FROM documents").fetchone()[0]
    assert docs == N_DOCS
    assert len(registry.names()) >= 5 and kinds >= {"invoice", "receipt", "table"}
    assert len(templates) >= 3  # 20 seeded picks; each template by name: tests/generators/test_template_sweep.py


def test_labels_carry_boxes_and_normalized_values_that_add_up(small_run):
    run, _ = small_run
    with open_catalog(run, read_only=True) as catalog:
        rows = catalog.frame("SELECT doc_id, kind, page, width, height, fields, tables, ground_truth FROM documents").to_dicts()
    by_doc: dict[str, dict] = {}
    for row in rows:
        for field in row["fields"]:
            assert field["boxes"], field["name"]
            for b in field["boxes"]:
                assert 0 <= b["x0"] < b["x1"] <= row["width"] and 0 <= b["y0"] < b["y1"] <= row["height"]
        for table in row["tables"]:
            assert table["html"].startswith("<table>") and table["cells"]
        doc = by_doc.setdefault(row["doc_id"], {"kind": row["kind"], "fields": {}})
        doc["fields"].update({f["name"]: f["normalized"] for f in row["fields"]})
        assert json.loads(row["ground_truth"])
    for doc in by_doc.values():
        assert check_values(doc["kind"], unflatten(doc["fields"])) == [], doc


def test_shards_read_with_polars_and_match_catalog(small_run):
    run, _ = small_run
    with open_catalog(run, read_only=True) as catalog:
        paths = catalog.shard_paths("documents")
        listed_rows = catalog.sql("SELECT sum(rows) FROM shards WHERE kind = 'documents'").fetchone()[0]
    frame = pl.read_parquet(paths)
    assert frame.height == listed_rows
    assert frame["image"][0][:8] == b"\x89PNG\r\n\x1a\n"
    assert set(frame["split"].unique()) <= {"train", "val", "test"}


def test_catalog_answers_from_another_directory_and_after_a_move(small_run, tmp_path, monkeypatch):
    run, _ = small_run
    moved = tmp_path / "elsewhere" / "copied_run"
    shutil.copytree(run, moved)
    monkeypatch.chdir(tmp_path)
    with open_catalog(moved, read_only=True) as catalog:
        assert catalog.sql("SELECT count(DISTINCT doc_id) FROM documents").fetchone()[0] == N_DOCS


def test_same_seed_gives_identical_shards_with_one_or_two_workers(small_run, tmp_path):
    run, _ = small_run
    other = tmp_path / "run_w2"
    summary = run_generate(other, GenerateConfig(n=N_DOCS, seed=7, workers=2, shard_docs=8))
    assert summary.verified == N_DOCS
    assert _shard_hashes(other) == _shard_hashes(run)


def test_rerunning_skips_listed_shards(small_run):
    run, _ = small_run
    before = _shard_hashes(run)
    summary = run_generate(run, GenerateConfig(n=N_DOCS, seed=7, workers=1, shard_docs=8))
    assert summary.skipped_shards == 3 and summary.generated == 0
    assert _shard_hashes(run) == before


def test_rerender_reproduces_a_stored_document_byte_for_byte(small_run):
    run, _ = small_run
    with open_catalog(run, read_only=True) as catalog:
        doc_ids = [d for (d,) in catalog.sql("SELECT DISTINCT doc_id FROM documents ORDER BY doc_id").fetchall()]
    for doc_id in doc_ids[:3]:
        report = rerender(run, doc_id)
        assert report.identical, report.differences


def test_shards_load_with_hugging_face_datasets(small_run, tmp_path, monkeypatch):
    datasets = __import__("pytest").importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    run, _ = small_run
    with open_catalog(run, read_only=True) as catalog:
        files = [str(p) for p in catalog.shard_paths("documents")]
        pages = catalog.sql("SELECT count(*) FROM documents").fetchone()[0]
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == pages and ds[0]["fields"][0]["boxes"]


def test_cli_query_and_rerender(small_run, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from docfactory.cli import app

    run, _ = small_run
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["query", str(run), "SELECT count(DISTINCT doc_id) AS n FROM documents", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == [{"n": N_DOCS}]
    result = CliRunner().invoke(app, ["query", str(run), "SELECT nope FROM documents"])
    assert result.exit_code == 1 and "nope" in result.stderr
    result = CliRunner().invoke(app, ["rerender", str(run), "doc-0000004"])
    assert result.exit_code == 0 and "byte-identical" in result.stdout


def test_resuming_with_other_settings_is_refused(small_run):
    from docfactory.engine.catalog import StepConfigMismatch

    run, _ = small_run
    with __import__("pytest").raises(StepConfigMismatch, match=r"seed: 7 -> 8"):
        run_generate(run, GenerateConfig(n=N_DOCS, seed=8, workers=1, shard_docs=8))


def test_word_labels_are_not_split_into_letters(small_run):
    """Wide CSS letter-spacing makes the PDF text layer read "B I L L  T O": a template bug that would
    teach OCR models wrong words. Every template's words must stay whole."""
    run, _ = small_run
    with open_catalog(run, read_only=True) as catalog:
        lines = catalog.sql("SELECT template, l.text FROM documents, unnest(lines) AS t(l)").fetchall()
    split = [(t, text) for t, text in lines if sum(len(w) == 1 and w.isalpha() for w in text.split()) >= 4]
    assert split == []
