"""`engine check`: a copy of the session's small run (real WeasyPrint, DuckDB, pyarrow) damaged on
disk the ways a crash or a bad disk damages it; check names each problem, --repair makes the catalog
match the folder without touching a complete listed shard, and a rerun remakes the same bytes. A
step asked to read a corrupt shard refuses with the file's name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.augment import AugmentConfig, run_augment
from docfactory.engine.catalog import open_catalog
from docfactory.engine.check import check_run
from docfactory.engine.emit import EmitConfig, run_emit
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.engine.loop import state
from docfactory.engine.shards import CorruptShardError, ShardInfo, sha256_of
from docfactory.engine.train_step import TrainRequest, run_train

GENERATE = GenerateConfig(n=20, seed=7, workers=1, shard_docs=8)  # tests/conftest.py's small_run


@pytest.fixture
def run(small_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(small_run[0], copy)
    return copy


def _shards(run: Path) -> list[tuple]:
    with open_catalog(run, read_only=True) as catalog:
        return catalog.sql("SELECT path, kind, rows, bytes, sha256 FROM shards ORDER BY path").fetchall()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path, at: float = 0.5) -> None:
    """One bit in the middle of the file (inside a compressed page): the size stays the same."""
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_clean_run_checks_clean(run):
    report = check_run(run)
    assert report.findings == [] and report.shards == 3 and report.bytes == sum(r[3] for r in _shards(run))
    result = CliRunner().invoke(app, ["check", str(run)])
    assert result.exit_code == 0, result.output
    assert "3 listed shards" in result.output and "0 problem(s)" in result.output


def test_check_names_every_problem_and_repair_makes_the_catalog_match_the_folder(run):
    before = _shards(run)
    parts = [run / p for p, *_ in before]
    _truncate(parts[0])
    _flip(parts[1])
    docs = run / "shards" / "documents" / "it000"
    (docs / ".tmp-999-part-00003.parquet").write_bytes(b"PAR1 half a shard")
    (docs / "part-00007.parquet").write_bytes(b"PAR1 half a shard")  # a partial under a final name
    shutil.copy(parts[2], docs / "part-00008.parquet")  # complete but never listed
    (run / "catalog.duckdb.tmp").mkdir()  # DuckDB's spill folder, left by a killed process
    (run / "eval" / ".tmp-5-x").mkdir(parents=True)

    found = {(f.path, f.problem) for f in check_run(run).findings}
    assert found == {
        (before[0][0], "size"), (before[1][0], "sha256"),
        ("shards/documents/it000/.tmp-999-part-00003.parquet", "temporary"),
        ("shards/documents/it000/part-00007.parquet", "unlisted"), ("shards/documents/it000/part-00008.parquet", "unlisted"),
        ("catalog.duckdb.tmp", "temporary"), ("eval/.tmp-5-x", "temporary")}
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["check", str(run)])
    assert result.exit_code == 1 and before[0][0] in result.output and "7 problem(s)" in result.output

    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["check", str(run), "--repair"])
    assert result.exit_code == 0, result.output
    assert _shards(run) == before[2:]  # the two corrupt ones unlisted, the complete one untouched
    assert sha256_of(parts[2]) == before[2][4]
    assert sorted(p.name for p in docs.iterdir()) == ["part-00002.parquet"]
    assert not (run / "catalog.duckdb.tmp").exists() and not (run / "eval" / ".tmp-5-x").exists()
    with open_catalog(run, read_only=True) as catalog:
        assert catalog.sql("SELECT path, problem FROM repairs ORDER BY path").fetchall() == [
            (before[0][0], "size"), (before[1][0], "sha256")]
        assert catalog.sql("SELECT count(*) FROM documents").fetchone()[0] == before[2][2]  # the view follows
    assert check_run(run).findings == []

    summary = run_generate(run, GENERATE)  # the rerun remakes exactly the unlisted shards
    assert summary.skipped_shards == 1
    assert _shards(run) == before


def test_a_missing_shard_and_a_foreign_schema_are_reported(run, tmp_path):
    before = _shards(run)
    odd = run / "shards" / "documents" / "it001" / "part-00000.parquet"
    odd.parent.mkdir(parents=True)
    pq.write_table(pa.table({"doc_id": ["x"]}), odd)
    with open_catalog(run) as catalog:
        catalog.add_shard(ShardInfo("shards/documents/it001/part-00000.parquet", "documents", 1, odd.stat().st_size,
                                    sha256_of(odd)), iteration=1)
    (run / before[0][0]).unlink()
    found = {f.path: f.problem for f in check_run(run).findings}
    assert found == {before[0][0]: "missing", "shards/documents/it001/part-00000.parquet": "schema"}
    report = check_run(run, repair=True)
    assert [f.path for f in report.unresolved] == ["shards/documents/it001/part-00000.parquet"]  # complete: kept
    assert odd.exists() and before[0][0] not in {p for p, *_ in _shards(run)}


def test_evaluation_sets_are_checked_and_repair_makes_the_loop_redo_their_step(run):
    evalset = run / "evalsets" / "in_dist"
    shutil.copytree(run, evalset)
    state.init(run, {"profile": "test"})
    state.mark_done(run, 0, "eval_sets", 1.0)
    state.mark_done(run, 0, "generate", 1.0)
    victim = _shards(evalset)[1][0]
    _flip(evalset / victim)
    findings = check_run(run).findings
    assert [(Path(f.run), f.path, f.problem) for f in findings] == [(evalset, victim, "sha256")]
    check_run(run, repair=True)
    assert (0, "eval_sets") not in state.done_steps(run) and (0, "generate") in state.done_steps(run)
    assert victim not in {p for p, *_ in _shards(evalset)}


def test_steps_refuse_a_corrupt_shard_by_name(run):
    first = run / _shards(run)[0][0]
    _flip(first, at=0.3)
    with pytest.raises(CorruptShardError, match=f"{first}: corrupt shard"):
        run_augment(run, AugmentConfig(preset="mild", workers=1))
    with pytest.raises(CorruptShardError, match=f"{first}: corrupt shard"):
        run_emit(run, EmitConfig(workers=1))
    with pytest.raises(CorruptShardError, match=f"{first}: corrupt shard"):
        run_train(run, TrainRequest(model="layout", profile="tiny"), log=lambda m: None)
    _truncate(first)
    for command in (["augment", str(run), "--workers", "1"], ["emit", str(run), "--workers", "1"]):
        result = CliRunner(env={"COLUMNS": "250"}).invoke(app, command)
        assert result.exit_code == 1 and f"{first}: corrupt shard" in result.output, result.output


def test_the_loop_refuses_a_corrupt_evaluation_set_before_predicting(run):
    from docfactory.engine.loop import LoopRequest, run_loop

    evalset = run / "evalsets" / "in_dist"
    shutil.copytree(run, evalset)
    with open_catalog(run) as catalog:
        catalog.sql(state.TABLES)
    for step in ("eval_sets", "generate", "augment", "train"):  # iteration 0 resumes at predict
        state.mark_done(run, 0, step, 1.0)
    victim = evalset / _shards(evalset)[0][0]
    _flip(victim)
    with pytest.raises(CorruptShardError, match=f"{victim}: corrupt shard"):
        run_loop(run, LoopRequest(iterations=1, profile="tiny", seed=3))
    assert (0, "predict") not in state.done_steps(run)
