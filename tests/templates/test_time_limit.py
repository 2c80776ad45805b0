"""A template whose loops never end is rejected by the per-document time limit, not waited for."""

from __future__ import annotations

import shutil
import signal
import time

from docfactory.generators import generate_pages, sample_spec
from docfactory.generators.time_limit import document_time_limit
from docfactory.templates import BUILTIN_DIR, TemplateRegistry

RUNAWAY = "<h1>{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}"


def _runaway_registry(tmp_path) -> TemplateRegistry:
    folder = tmp_path / "user" / "runaway"
    shutil.copytree(BUILTIN_DIR / "invoice_classic", folder)
    html = folder / "template.html.j2"
    html.write_text(html.read_text().replace("<h1>", RUNAWAY, 1))
    return TemplateRegistry(extra_dirs=[tmp_path / "user"])


def test_a_runaway_template_is_rejected_naming_its_file_and_the_next_document_is_made(tmp_path):
    registry = _runaway_registry(tmp_path)
    specs = [sample_spec(run_seed=0, index=i, templates=[registry.get(name)]) for i, name in
             enumerate(["runaway", "invoice_classic"])]
    started = time.monotonic()
    records, rejections = generate_pages(specs, registry, time_limit_s=1.0)
    assert time.monotonic() - started < 30
    assert [r.template for r in rejections] == ["runaway"]
    assert rejections[0].stage == "template"
    assert str(registry.get("runaway").html_path) in rejections[0].reason
    assert "longer than 1 s" in rejections[0].reason
    assert records and {r.template for r in records} == {"invoice_classic"}


def test_an_outer_alarm_that_fires_first_is_left_alone_and_a_later_one_restored():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 5.0)
        with document_time_limit(1.0):
            pass
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 3.0 < remaining <= 5.0  # the outer 5 s alarm runs on after the inner 1 s limit
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with document_time_limit(10.0):  # the outer alarm fires first: no limit of our own
            assert signal.getitimer(signal.ITIMER_REAL)[0] <= 0.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired
