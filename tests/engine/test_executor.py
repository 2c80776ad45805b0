"""The executor registry and the local executor: errors are values, lost workers are retried, a task
past its time limit has its worker killed, and a step turns a raising document into an error row and
a failed task into a listed-later shard."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from docfactory.engine.executor import ExecutorError, ExecutorOptions, TaskError, TaskTimedOut, make_executor
from docfactory.engine.executor.local import warm_workers

# The pool's spawned workers import this module to find the task functions: keep its imports light
# (the steps are imported inside the tests that use them).


def square_or_raise(offset: int, x: int) -> int:
    if x == 3:
        raise ValueError(f"no {x}")
    return x * x + offset


def die_once(marker_dir: str, x: int) -> int:
    """Kills its worker the first time it sees x == 2 (a lost worker), then succeeds; raises on 3."""
    marker = Path(marker_dir) / f"died-{x}"
    if x == 2 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(9)
    if x == 3:
        raise ValueError("no 3")
    return x


def spin_on_2(offset: int, x: int) -> tuple[int, int]:
    """Loops forever on 2; otherwise (x + offset, the worker's PID)."""
    while x == 2:
        pass
    return x + offset, os.getpid()


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(ExecutorError, match=r"unknown executor 'dask' \(known: local, ray\)"):
        make_executor(ExecutorOptions(kind="dask"))
    with pytest.raises(ValueError):
        ExecutorOptions(kind="local", workers=2)  # unknown option keys are rejected


def test_a_raising_task_is_a_task_error_and_the_rest_completes():
    with make_executor(ExecutorOptions(), workers=1) as executor:  # one worker: in this process
        results = dict(executor.map(square_or_raise, range(6), 100))
    assert isinstance(results[3], TaskError) and results[3].reason == "ValueError: no 3"
    assert "square_or_raise" in results[3].detail  # the traceback travels with it
    assert {k: v for k, v in results.items() if k != 3} == {0: 100, 1: 101, 2: 104, 4: 116, 5: 125}


def test_in_the_pool_a_lost_worker_is_retried_and_a_raising_task_reported(tmp_path):
    with make_executor(ExecutorOptions(max_retries=2), workers=2) as executor:
        results = list(executor.map(die_once, range(5), str(tmp_path)))
    assert (tmp_path / "died-2").exists()  # the worker really died
    assert len(results) == 5 and sorted(x for x, _ in results) == list(range(5))  # every task once
    outcomes = dict(results)
    assert isinstance(outcomes.pop(3), TaskError)
    assert outcomes == {0: 0, 1: 1, 2: 2, 4: 4}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_task_past_its_time_limit_has_its_worker_killed_and_the_rest_completes(workers):
    with make_executor(ExecutorOptions(), workers=workers) as executor:  # a time limit: workers even for 1
        started = time.monotonic()
        results = dict(executor.map(spin_on_2, range(5), 100, timeout=1.5))
        assert time.monotonic() - started < 30
        assert isinstance(results[2], TaskTimedOut) and results[2].seconds == 1.5
        assert results[2].reason == "ran past its 1.5 s time limit; its worker was killed"
        done = {x: result for x, result in results.items() if x != 2}
        assert {x: value for x, (value, _) in done.items()} == {0: 100, 1: 101, 3: 103, 4: 104}
        assert os.getpid() not in {pid for _, pid in done.values()}
        assert len(multiprocessing.active_children()) <= workers + len(warm_workers())  # the looping one is gone
    # What lives on is idle, kept warm for the next executor: nothing still runs a task.
    assert set(multiprocessing.active_children()) == set(warm_workers())


def test_a_failed_shard_task_is_recorded_and_made_by_the_next_run(tmp_path, monkeypatch):
    import docfactory.engine.generate as generate
    from docfactory.engine.catalog import open_catalog
    from docfactory.engine.generate import GenerateConfig, run_generate

    real = generate.write_shard

    def write_fails_on_part_1(run_dir, rel_path, kind, rows):
        if rel_path.endswith("part-00001.parquet"):
            raise OSError("disk full")
        return real(run_dir, rel_path, kind, rows)

    cfg = GenerateConfig(n=4, seed=3, shard_docs=2, workers=1, task_timeout=None)  # no limit: in this process,
    monkeypatch.setattr(generate, "write_shard", write_fails_on_part_1)            # where the patch is
    summary = run_generate(tmp_path / "run", cfg)
    assert summary.failed_shards == ["shards/documents/it000/part-00001.parquet: OSError: disk full"]
    assert summary.generated == 2
    with open_catalog(tmp_path / "run", read_only=True) as catalog:
        assert list(catalog.listed("documents")) == ["shards/documents/it000/part-00000.parquet"]
        assert catalog.sql("SELECT doc_id, stage, reason FROM rejections").fetchall() == [(None, "generate", "OSError: disk full")]
    monkeypatch.setattr(generate, "write_shard", real)
    summary = run_generate(tmp_path / "run", cfg)  # resumes: only the failed shard is made
    assert (summary.generated, summary.skipped_shards, summary.failed_shards) == (2, 1, [])
    with open_catalog(tmp_path / "run", read_only=True) as catalog:
        assert len(catalog.listed("documents")) == 2
        assert catalog.sql("SELECT count(*) FROM rejections").fetchone()[0] == 0


def test_a_document_that_raises_is_an_error_row_locally(tmp_path, monkeypatch):
    import docfactory.engine.generate as generate
    from docfactory.engine.catalog import open_catalog
    from docfactory.engine.generate import GenerateConfig, run_generate

    real = generate.generate_pages

    def raise_on_doc_2(specs, registry):
        if specs[0].doc_id == "doc-0000002":
            raise RuntimeError("injected failure")
        return real(specs, registry)

    monkeypatch.setattr(generate, "generate_pages", raise_on_doc_2)
    cfg = GenerateConfig(n=4, seed=3, shard_docs=2, workers=1, task_timeout=None)  # in this process, patched
    summary = run_generate(tmp_path / "run", cfg)
    assert (summary.generated, summary.verified, summary.rejected, summary.failed_shards) == (4, 3, 1, [])
    with open_catalog(tmp_path / "run", read_only=True) as catalog:
        assert catalog.sql("SELECT doc_id, stage, reason FROM rejections").fetchall() == [
            ("doc-0000002", "error", "RuntimeError: injected failure")]
        assert catalog.sql("SELECT count(DISTINCT doc_id) FROM documents").fetchone()[0] == 3


def test_cli_names_the_known_executors(tmp_path):
    from typer.testing import CliRunner

    from docfactory.cli import app

    result = CliRunner().invoke(app, ["generate", "--n", "1", "--out", str(tmp_path / "r"), "--executor", "dask"])
    assert result.exit_code == 1 and "unknown executor 'dask' (known: local, ray)" in result.output
    result = CliRunner().invoke(app, ["generate", "--n", "1", "--out", str(tmp_path / "r"), "--ray-address", "auto"])
    assert result.exit_code == 1 and "--ray-address needs --executor ray" in result.output
    assert not (tmp_path / "r").exists()


def test_a_closed_executors_workers_stay_warm_for_the_next_one():
    with make_executor(ExecutorOptions(), workers=2) as executor:
        first = {pid for _, (_, pid) in executor.map(spin_on_2, [0, 1], 100, timeout=60)}
    assert first <= {p.pid for p in warm_workers()}  # idle, not stopped
    with make_executor(ExecutorOptions(), workers=2) as executor:
        second = {pid for _, (_, pid) in executor.map(spin_on_2, [3, 4], 100, timeout=60)}
    assert second <= first  # the same processes: no start-up paid again


def test_a_warm_worker_that_exited_while_idle_is_replaced_not_counted_as_lost():
    with make_executor(ExecutorOptions(max_retries=0), workers=1) as executor:
        list(executor.map(spin_on_2, [0], 100, timeout=60))
    for process in warm_workers():  # as if each had sat idle past WARM_IDLE_S
        process.kill()
        process.join()
    with make_executor(ExecutorOptions(max_retries=0), workers=1) as executor:
        results = dict(executor.map(spin_on_2, [1, 3], 100, timeout=60))
    assert {x: value for x, (value, _) in results.items()} == {1: 101, 3: 103}


def where_and_what(_: int, x: int) -> tuple[str, str | None]:
    return os.getcwd(), os.environ.get("DOCFACTORY_TEST_MARK")


def test_a_warm_worker_works_in_the_drivers_current_directory_and_environment(tmp_path, monkeypatch):
    with make_executor(ExecutorOptions(), workers=1) as executor:  # a worker started here, now warm
        list(executor.map(where_and_what, [0], 0, timeout=60))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCFACTORY_TEST_MARK", "set later")
    with make_executor(ExecutorOptions(), workers=1) as executor:
        (_, (cwd, mark)), = executor.map(where_and_what, [1], 0, timeout=60)
    assert (cwd, mark) == (str(tmp_path), "set later")  # a relative run path means what it means here
