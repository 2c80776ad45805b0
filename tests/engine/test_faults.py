"""Fault injection on real `engine` subprocesses (real WeasyPrint, DuckDB, pyarrow, torch): kill -9
at seeded points of generate, augment, emit and train, then a rerun gives the catalog of an
uninterrupted run; a second process on a locked run refuses at once and writes nothing; a full disk
during a shard write fails naming the shard and lists nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from docfactory.engine.augment import AugmentConfig, run_augment
from docfactory.engine.catalog import open_catalog
from docfactory.engine.check import check_run
from docfactory.engine.emit import EmitConfig, run_emit
from docfactory.engine.generate import GenerateConfig, run_generate

ENGINE = [sys.executable, "-m", "docfactory.cli"]
N, SEED = 6, 5
SEEDS = (0, 1)  # kill points of generate; augment, emit and train take one each (seeds 3, 4, 5)


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "config.yaml"
    path.write_text("shard_docs: 2\n")  # 3 documents shards: kills land between shards and inside them
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run, made in this process with the settings the commands below use."""
    run = tmp_path_factory.mktemp("faults") / "reference"
    run_generate(run, GenerateConfig(n=N, seed=SEED, workers=1, shard_docs=2))
    run_augment(run, AugmentConfig(preset="mild", workers=1, levels=("line",), gate={"mode": "flag"}))
    run_emit(run, EmitConfig(workers=1))
    return run


def _commands(run: Path, config: Path) -> dict[str, list[str]]:
    return {
        "generate": ["generate", "--n", str(N), "--seed", str(SEED), "--workers", "1", "--config", str(config), "--out", str(run)],
        "augment": ["augment", str(run), "--preset", "mild", "--workers", "1", "--levels", "line"],
        "emit": ["emit", str(run), "--workers", "1"],
        "train": ["train", str(run), "--profile", "tiny"],
    }


def _catalog(run: Path, kinds: tuple[str, ...]) -> dict:
    with open_catalog(run, read_only=True) as catalog:
        marks = ", ".join("?" * len(kinds))
        shards = catalog.sql(f"SELECT path, kind, rows, bytes, sha256 FROM shards WHERE kind IN ({marks}) ORDER BY path",
                             list(kinds)).fetchall()
        counts = {kind: catalog.sql(f"SELECT count(*) FROM {kind}").fetchone()[0] for kind in kinds}
        rejections = catalog.sql("SELECT doc_id, stage, reason, shard FROM rejections ORDER BY ALL").fetchall()
    return {"shards": shards, "counts": counts, "rejections": rejections}


def _kill_at(command: list[str], run: Path, rng: random.Random, step: str) -> str:
    """Start `engine COMMAND` and SIGKILL its process group at a seeded point: after a random
    delay, or as soon as the k-th output file of the step appears. Returns the point and whether
    the process was still running there (it may finish first), for messages."""
    outputs = {"generate": "shards/documents/it000", "augment": "shards/augmented/it000", "emit": "shards/pairs/it000",
               "train": "models/layout/it000"}[step]
    k = rng.randrange(3)
    delay = round(rng.uniform(1.0, 6.0), 2)
    point = rng.choice([f"after {delay}s", f"output file {k}"])
    proc = subprocess.Popen([*ENGINE, *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    started = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() - started < 120:
            folder = run / outputs
            made = len([p for p in folder.iterdir()]) if folder.is_dir() else 0
            if (point.startswith("after") and time.monotonic() - started >= delay) or (point.startswith("output") and made > k):
                break
            time.sleep(0.02)
    finally:
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)  # the command and any worker, like kill -9 of a session
        proc.wait()
    return f"{step} {point}: " + ("killed" if killed else "ended first")


def _finish(command: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run([*ENGINE, *command], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_kill_9_at_seeded_points_then_a_rerun_gives_the_uninterrupted_catalog(reference, config, tmp_path):
    run = tmp_path / "killed"
    commands = _commands(run, config)
    points = []
    for seed in SEEDS:
        points.append(_kill_at(commands["generate"], run, random.Random(seed), "generate"))
    _finish(commands["generate"])
    assert _catalog(run, ("documents",)) == _catalog(reference, ("documents",)), points
    for seed, step, kinds in ((3, "augment", ("augmented", "lines")), (4, "emit", ("pairs", "pretrain"))):
        points.append(_kill_at(commands[step], run, random.Random(seed), step))
        _finish(commands[step])
        assert _catalog(run, kinds) == _catalog(reference, kinds), points
    assert check_run(run).findings == [], points  # reruns removed what the killed writers left

    points.append(_kill_at(commands["train"], run, random.Random(5), "train"))
    _finish(commands["train"])
    assert (run / "models" / "layout" / "it000" / "done.json").exists()
    left = check_run(run, repair=True).findings  # a killed checkpoint write leaves a .tmp-* file at most
    assert all(f.problem == "temporary" and f.action == "removed" for f in left), (points, left)
    assert check_run(run).findings == []
    assert _catalog(run, ("documents", "augmented", "pairs")) == _catalog(reference, ("documents", "augmented", "pairs"))
    print("kill points:", "; ".join(points))
    assert sum(p.endswith("killed") for p in points) >= len(points) - 1, points  # the kills landed mid-step


def test_a_second_engine_process_on_a_locked_run_refuses_at_once(config, tmp_path):
    run = tmp_path / "locked"
    command = _commands(run, config)["generate"]
    command[command.index("--n") + 1] = "200"  # a holder busy for longer than the second one takes to start
    first = subprocess.Popen([*ENGINE, *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        # The holder has the lock and has begun writing (its catalog comes after its template checks).
        while not ((run / ".lock").exists() and (run / ".lock").read_text().startswith(f"{first.pid}\n")
                   and (run / "catalog.duckdb").exists()):
            assert time.monotonic() < deadline and first.poll() is None, "the first process never took the lock"
            time.sleep(0.02)
        listed = len(_listing(run))
        started = time.monotonic()
        second = subprocess.run([*ENGINE, *command], capture_output=True, text=True, timeout=60)
        reader = subprocess.run([*ENGINE, "check", str(run)], capture_output=True, text=True, timeout=60)
        assert first.poll() is None, "the first process ended too soon to test the lock"
        message = " ".join((second.stdout + second.stderr).split())
        assert second.returncode == 1 and f"pid {first.pid}:" in message and "generate --n 200" in message, message
        assert "another engine process is writing this run" in message
        assert reader.returncode == 1 and f"pid {first.pid}" in " ".join(reader.stderr.split())
        assert time.monotonic() - started < 30  # refused at once, not after waiting for the holder
        assert len(_listing(run)) >= listed  # the holder kept writing; the second process wrote nothing
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    # kill -9 released the lock: a writer gets it at once, with no stale lock to clear.
    repaired = subprocess.run([*ENGINE, "check", str(run), "--repair"], capture_output=True, text=True, timeout=60)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr


def _listing(run: Path) -> list:
    if not (run / "catalog.duckdb").exists():
        return []
    try:
        with open_catalog(run, read_only=True) as catalog:
            return catalog.sql("SELECT path FROM shards").fetchall()
    except Exception:  # noqa: BLE001 - the writer holds DuckDB's lock: count it as unknown
        return []


_WRITE_UNDER_RLIMIT = textwrap.dedent("""
    import resource, signal, sys
    import pyarrow.parquet as pq
    from docfactory.engine.shards import write_shard
    rows = pq.read_table(sys.argv[1]).to_pylist()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
    write_shard(sys.argv[2], "shards/documents/it000/part-00000.parquet", "documents", rows)
""")


def test_a_file_size_limit_during_a_shard_write_fails_naming_the_shard_and_leaves_nothing(reference, tmp_path):
    """RLIMIT_FSIZE makes the kernel refuse writes past 64 KiB (EFBIG), wherever the test runs."""
    source = reference / "shards" / "documents" / "it000" / "part-00000.parquet"
    run = tmp_path / "full"
    done = subprocess.run([sys.executable, "-c", _WRITE_UNDER_RLIMIT, str(source), str(run)], capture_output=True,
                          text=True, timeout=120)
    target = run / "shards" / "documents" / "it000" / "part-00000.parquet"
    assert done.returncode != 0
    assert f"{target}: could not write this shard (File too large)" in done.stderr, done.stderr[-2000:]
    assert list(target.parent.iterdir()) == []  # neither the shard nor its temporary file


def test_a_full_disk_during_generate_fails_naming_the_shard_and_lists_nothing(config, tmp_path):
    """The shards folder on a 128 KiB tmpfs (needs mount rights: skipped where the machine refuses)."""
    run = tmp_path / "disk"
    folder = run / "shards" / "documents" / "it000"
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        command = _commands(run, config)["generate"]
        command[command.index("--n") + 1] = "2"
        done = subprocess.run([*ENGINE, *command], capture_output=True, text=True, timeout=300)
        output = " ".join((done.stdout + done.stderr).split())
        assert done.returncode == 1, output
        assert f"{folder / 'part-00000.parquet'}: could not write this shard (No space left on device)" in output, output
        assert list(folder.iterdir()) == []  # no shard, no temporary file
        with open_catalog(run, read_only=True) as catalog:
            assert catalog.sql("SELECT count(*) FROM shards").fetchone()[0] == 0
            assert catalog.sql("SELECT shard FROM rejections WHERE doc_id IS NULL").fetchall() == [
                ("shards/documents/it000/part-00000.parquet",)]
    finally:
        subprocess.run(["umount", str(folder)], check=False)


_HOLD = "import sys, time; from docfactory.engine.lock import run_lock\nwith run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)"


def test_the_lock_names_its_holder_covers_evaluation_sets_and_dies_with_it(tmp_path):
    from docfactory.engine.lock import RunLocked, holder, run_lock

    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(run), "--tag"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "held\n"
        assert holder(run) == f"pid {proc.pid}: -c {run} --tag"
        with pytest.raises(RunLocked, match=f"another engine process is writing this run \\(pid {proc.pid}: -c "):
            with run_lock(run):
                pass
        with pytest.raises(RunLocked, match=f"an evaluation set of {run}, which another engine process is writing"):
            with run_lock(run / "evalsets" / "in_dist"):
                pass
    finally:
        proc.kill()  # SIGKILL: no cleanup runs, the kernel drops the flock
        proc.wait()
    assert holder(run) is None
    with run_lock(run), run_lock(run), run_lock(run / "evalsets" / "in_dist"):  # re-entrant in one process
        assert holder(run).startswith(f"pid {os.getpid()}: ")
    assert holder(run) is None  # released when the outermost block ends
