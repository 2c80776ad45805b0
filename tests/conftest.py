"""Shared fixtures: one small generated run per test session (real WeasyPrint, PyMuPDF, DuckDB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.templates import TemplateRegistry

N_DOCS = 20


@pytest.fixture(scope="session")
def registry() -> TemplateRegistry:
    return TemplateRegistry()


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> tuple[Path, object]:
    """20 documents across every built-in template, one worker, shards of 8 documents."""
    run = tmp_path_factory.mktemp("run") / "run_w1"
    summary = run_generate(run, GenerateConfig(n=N_DOCS, seed=7, workers=1, shard_docs=8))
    return run, summary
