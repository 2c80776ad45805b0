"""`engine augment` on a small run: listed shards, a `lines` view that answers, resume, more
copies later, worker-independent bytes, clear errors; `engine generate --augment`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.augment import AugmentConfig, run_augment
from docfactory.engine.catalog import open_catalog
from docfactory.engine.generate import GenerateConfig, run_generate


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("augment") / "run"
    summary = run_generate(run, GenerateConfig(n=3, seed=5, workers=1, shard_docs=2))
    assert summary.verified == 3
    return run


def _listed(run: Path, kind: str) -> dict[str, str]:
    with open_catalog(run, read_only=True) as catalog:
        return {path: info.sha256 for path, info in catalog.listed(kind).items()}


@pytest.fixture(scope="module")
def augmented(tiny_run, tmp_path_factory):
    """The tiny run copied and augmented through the CLI with two worker processes."""
    run = tmp_path_factory.mktemp("augmented") / "run"
    shutil.copytree(tiny_run, run)
    result = CliRunner().invoke(app, ["augment", str(run), "--preset", "medium", "--copies", "2", "--workers", "2"])
    return run, result


def test_cli_augment_writes_listed_shards_and_a_lines_view(augmented):
    run, result = augmented
    assert result.exit_code == 0, result.output
    assert "legible" in result.stdout and "flagged" in result.stdout and "crops" in result.stdout
    assert sorted(_listed(run, "augmented")) == [f"shards/augmented/it000/part-0000{i}-medium-c{k}.parquet"
                                                 for i in range(2) for k in range(2)]
    assert len(_listed(run, "lines")) == 4
    with open_catalog(run, read_only=True) as catalog:
        pages = catalog.sql("SELECT count(*) FROM documents").fetchone()[0]
        assert catalog.sql("SELECT count(*), count(DISTINCT copy) FROM augmented").fetchone() == (2 * pages, 2)
        line = catalog.sql("SELECT l.text, l.width, l.height FROM lines l JOIN augmented a USING (doc_id, page, copy) "
                           "WHERE l.level = 'line' AND a.legible ORDER BY l.doc_id, l.copy, l.line LIMIT 1").fetchone()
        assert line[0] and line[1] > line[2] > 0
        levels = dict(catalog.sql("SELECT level, count(*) FROM lines GROUP BY 1").fetchall())
        assert levels["word"] > levels["line"] > 0
    query = CliRunner().invoke(app, ["query", str(run), "SELECT level, count(*) AS n FROM lines GROUP BY 1 ORDER BY 1",
                                     "--format", "csv"])
    assert query.exit_code == 0 and query.stdout.splitlines()[0] == "level,n" and "line," in query.stdout


def test_shard_bytes_do_not_depend_on_workers_and_resume_adds_only_new_copies(augmented, tiny_run, tmp_path):
    two, _ = augmented
    one = tmp_path / "one"
    shutil.copytree(tiny_run, one)
    summary = run_augment(one, AugmentConfig(preset="medium", copies=2, workers=1))
    with open_catalog(one, read_only=True) as catalog:
        pages = catalog.sql("SELECT count(*) FROM documents").fetchone()[0]
    assert summary.pages == 2 * pages and summary.legible + summary.flagged == 2 * pages
    for kind in ("augmented", "lines"):
        assert _listed(one, kind) == _listed(two, kind) and _listed(one, kind)
    # Resume skips what is listed; more copies later only adds the new ones.
    again = CliRunner().invoke(app, ["augment", str(one), "--preset", "medium", "--copies", "3", "--workers", "1"])
    assert again.exit_code == 0 and "4 shards already done" in again.stdout, again.output
    assert len(_listed(one, "augmented")) == 6 and set(_listed(two, "augmented")) < set(_listed(one, "augmented"))


def test_reject_mode_lists_rejections_and_errors_are_clear(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    heavy = {"crop_pad": {"p": 1, "crop": [0.3, 0.3], "pad": [0, 0]}}
    summary = run_augment(run, AugmentConfig(preset="mild", overrides=heavy, gate={"mode": "reject"}))
    assert summary.rejected > 0 and summary.reasons["clipped"] == summary.rejected
    with open_catalog(run, read_only=True) as catalog:
        stored = catalog.sql("SELECT count(*) FROM augmented").fetchone()[0]
        listed = catalog.sql("SELECT count(*) FROM rejections WHERE stage = 'augment' AND reason LIKE '%clipped%'").fetchone()[0]
    assert stored == summary.pages - summary.rejected and listed == summary.rejected
    bad = CliRunner().invoke(app, ["augment", str(run), "--preset", "harsh"])
    assert bad.exit_code == 1 and "valid: none, mild, medium, strong, mix" in bad.stderr
    bad = CliRunner().invoke(app, ["augment", str(run), "--set", "defocus.size=2"])
    assert bad.exit_code == 1 and "defocus has no parameter 'size' (valid: p, radius)" in bad.stderr


def test_cli_generate_with_augment(tmp_path):
    out = tmp_path / "gen"
    result = CliRunner().invoke(app, ["generate", "--n", "2", "--out", str(out), "--seed", "3", "--workers", "1",
                                      "--template", "receipt_thermal", "--augment", "mild"])
    assert result.exit_code == 0, result.output
    assert "augmented 2 page copies (mild 2)" in result.stdout
    assert len(_listed(out, "augmented")) == 1 and len(_listed(out, "lines")) == 1
    bad = CliRunner().invoke(app, ["generate", "--n", "1", "--out", str(tmp_path / "bad"), "--augment", "nope"])
    assert bad.exit_code == 1 and "valid: none, mild" in bad.stderr
