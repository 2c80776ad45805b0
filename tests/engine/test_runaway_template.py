"""A template whose loops never end cannot hang a run, under either executor. Its worker is killed at
the time limit and the run goes on: a document the template loops forever on is a `rejections` row
(stage timeout) naming the template and the limit, its shard's other documents are made again one per
task and written with the same bytes as without it, and a template whose sample check never ends is
a template error. No worker is left behind still looping.

The runaway is real Jinja in a copy of a built-in template: three nested loops of the sandbox's
longest range (10^15 steps, about a year), on documents with more than 8 items. The template check
renders its sample with 3 items, so it passes, as a data-dependent bug would; `runaway_always` loops
on every document, its check included.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docfactory.engine.catalog import open_catalog
from docfactory.engine.executor import ExecutorOptions, make_executor
from docfactory.engine.executor.local import warm_workers
from docfactory.engine.generate import GenerateConfig, run_generate, shard_path
from docfactory.engine.shards import write_shard
from docfactory.generators import generate_pages, sample_spec
from docfactory.templates import BUILTIN_DIR, TemplateRegistry

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="looks for stray workers in /proc")

LIMIT = 3.0
LOOP = ("{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
        "{% endfor %}{% endfor %}{% endfor %}")
SEED, N, SHARD_DOCS = 54, 6, 3  # doc 4 (runaway_invoice, 14 items) loops; doc 3 (runaway_invoice, 3 items) does not
TEMPLATES = ["invoice_classic", "runaway_invoice"]


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("templates")
    for name, payload in (("runaway_invoice", "{% if knobs.n_items > 8 %}" + LOOP + "{% endif %}"),
                          ("runaway_always", LOOP)):
        shutil.copytree(BUILTIN_DIR / "invoice_classic", root / name)
        html = root / name / "template.html.j2"
        text = html.read_text(encoding="utf-8")
        assert text.count("<h1>") == 1
        html.write_text(text.replace("<h1>", "<h1>" + payload), encoding="utf-8")
    return root


@pytest.fixture(scope="module", params=["local", "ray"])
def executor(request):
    if request.param == "ray":
        pytest.importorskip("ray")
    with make_executor(ExecutorOptions(kind=request.param), workers=2) as ex:
        yield ex


def expected_shards(template_dir: Path, out: Path) -> tuple[dict[str, str], list[str]]:
    """(shard -> sha256, looping doc ids): every shard as its documents make it alone, in this
    process, without the documents that loop."""
    registry = TemplateRegistry([template_dir])
    templates = [registry.get(name) for name in TEMPLATES]
    hashes, looping = {}, []
    for k, start in enumerate(range(0, N, SHARD_DOCS)):
        rows = []
        for i in range(start, min(start + SHARD_DOCS, N)):
            spec = sample_spec(SEED, i, templates)
            if spec.template == "runaway_invoice" and spec.knobs.n_items > 8:
                looping.append(spec.doc_id)
                continue
            records, rejected = generate_pages([spec], registry)
            assert not rejected
            rows.extend(r.to_row() for r in records)
        hashes[shard_path(0, k)] = write_shard(out, shard_path(0, k), "documents", rows).sha256
    return hashes, looping


def still_running(kind: str) -> list[str]:
    """Processes of this test's tree still running a task (Ray names a worker after its task), a
    local worker beyond the pool's two, or any process spinning a CPU; a killed worker is none."""
    busy_workers = set(multiprocessing.active_children()) - set(warm_workers())
    if kind == "local" and len(busy_workers) > 2:
        return [f"{len(busy_workers)} local workers besides the warm ones: {busy_workers}"]
    deadline, found = time.monotonic() + 10, ["?"]
    while found and time.monotonic() < deadline:
        before = {pid: _cpu_seconds(pid) for pid in _descendants()}
        time.sleep(1.0)
        found = []
        for pid, command in _descendants().items():
            busy = _cpu_seconds(pid) - before.get(pid, _cpu_seconds(pid)) > 0.5  # half a CPU over the second
            if busy or (kind == "ray" and "run_task" in command):
                found.append(f"{pid}: {command[:80]}")
    return found


def _descendants() -> dict[int, str]:
    """pid -> command line of every process below this one (Linux /proc: no psutil needed)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    found, frontier = {}, [os.getpid()]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        for pid in children:
            try:
                found[pid] = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
        frontier = children
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_a_looping_document_is_a_rejection_naming_its_template_and_the_rest_keeps_its_bytes(
        executor, template_dir, tmp_path):
    started = time.monotonic()
    cfg = GenerateConfig(n=N, seed=SEED, shard_docs=SHARD_DOCS, workers=2, templates=TEMPLATES,
                         template_dirs=[str(template_dir)], task_timeout=LIMIT)
    summary = run_generate(tmp_path / "run", cfg, executor=executor)
    assert time.monotonic() - started < 60
    expected, looping = expected_shards(template_dir, tmp_path / "expected")
    assert looping == ["doc-0000004"]
    assert (summary.generated, summary.verified, summary.rejected) == (N, N - 1, 1)
    assert (summary.failed_shards, summary.template_errors) == ([], [])
    with open_catalog(tmp_path / "run", read_only=True) as catalog:
        assert catalog.sql("SELECT doc_id, template, stage, reason, shard FROM rejections").fetchall() == [
            ("doc-0000004", "runaway_invoice", "timeout",
             "template runaway_invoice ran past the 3 s time limit; its worker was killed", shard_path(0, 1))]
        verified = catalog.sql("SELECT DISTINCT doc_id, template FROM documents ORDER BY 1").fetchall()
        listed = {path: info.sha256 for path, info in catalog.listed("documents").items()}
    assert [d for d, _ in verified] == [f"doc-{i:07d}" for i in (0, 1, 2, 3, 5)]
    assert ("doc-0000003", "runaway_invoice") in verified  # the same template, without the loop: verified
    assert listed == expected  # every shard, the runaway's included, has the bytes of its documents alone
    assert still_running(executor.kind) == []


def test_a_template_whose_check_never_ends_is_a_template_error(executor, template_dir, tmp_path):
    cfg = GenerateConfig(n=2, seed=SEED, shard_docs=1, workers=2, templates=["invoice_classic", "runaway_always"],
                         template_dirs=[str(template_dir)], task_timeout=LIMIT)
    summary = run_generate(tmp_path / "run", cfg, executor=executor)
    assert summary.template_errors == [
        f"{template_dir / 'runaway_always' / 'template.html.j2'}: rendering a sample document ran past the 3 s "
        "time limit (a loop that never ends?); its worker was killed"]
    assert (summary.generated, summary.verified, summary.failed_shards) == (2, 2, [])
    with open_catalog(tmp_path / "run", read_only=True) as catalog:
        assert catalog.sql("SELECT DISTINCT template FROM documents").fetchall() == [("invoice_classic",)]
    assert still_running(executor.kind) == []


def test_cli_task_timeout_rejects_the_looping_document_and_leaves_no_worker(template_dir, tmp_path):
    from docfactory.cli import app

    config = tmp_path / "config.yaml"
    config.write_text("shard_docs: 1\ntask_timeout: 30\n")  # one document a shard; the flag overrides the limit
    result = CliRunner().invoke(app, ["generate", "--n", str(N), "--seed", str(SEED), "--out", str(tmp_path / "run"),
                                      "--config", str(config), "--templates", str(template_dir),
                                      "--template", "invoice_classic", "--template", "runaway_invoice",
                                      "--workers", "1", "--task-timeout", "3"])
    assert result.exit_code == 0, result.output
    assert "generated 6 / verified 5 / rejected 1" in result.output
    assert "rejected 1: timeout: template runaway_invoice ran past the 3 s time limit" in result.output
    # the command's workers are idle, kept warm (the looping one was killed): none runs a task
    assert set(multiprocessing.active_children()) == set(warm_workers())
    assert "--task-timeout" in CliRunner().invoke(app, ["generate", "--help"]).output
