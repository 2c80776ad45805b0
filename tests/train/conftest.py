"""Fixtures for the lejepa and vlm tests: one torch thread, and the shared small run with pairs and
pretraining shards emitted once."""

from __future__ import annotations

import shutil

import pytest
import torch

from docfactory.engine.emit import EmitConfig, run_emit


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: one torch thread does the same work without two threads spinning on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def emitted(small_run, tmp_path_factory):
    """The shared small run with pairs and pretrain shards (made once per session for the train tests)."""
    run = tmp_path_factory.getbasetemp() / "train_emitted"
    if not (run / ".emitted").exists():
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(small_run[0], run)
        run_emit(run, EmitConfig(workers=1))
        (run / ".emitted").touch()
    return run
