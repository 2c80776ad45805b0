"""Executors: where a step's tasks (fixed document ranges, one shard each) run.

    from docfactory.engine.executor import ExecutorOptions, make_executor
    with make_executor(ExecutorOptions(kind="ray", address="auto"), workers=8) as executor:
        for task, result in executor.map(fn, tasks, shared_arg, timeout=120):
            ...  # result is fn(shared_arg, task) or a TaskError (a TaskTimedOut past the limit)

Kinds: `local` (a process pool; the default) and `ray` (Ray tasks; `pip install 'docfactory[ray]'`).
A kind is found by name in EXECUTORS; an unknown name's error lists the known ones.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Iterator

from docfactory.engine.executor.base import (ErrorRow, Executor, ExecutorError, ExecutorOptions, TaskError,
                                             TaskTimedOut, call_task, describe)

# kind -> "module:class"; imported on use, so Ray is only imported when asked for.
EXECUTORS: dict[str, str] = {
    "local": "docfactory.engine.executor.local:LocalExecutor",
    "ray": "docfactory.engine.executor.ray_executor:RayExecutor",
}


def known_kinds() -> list[str]:
    return sorted(EXECUTORS)


def make_executor(options: ExecutorOptions | None = None, workers: int = 1) -> Executor:
    options = options or ExecutorOptions()
    if options.kind not in EXECUTORS:
        raise ExecutorError(f"unknown executor {options.kind!r} (known: {', '.join(known_kinds())})")
    module, name = EXECUTORS[options.kind].split(":")
    return getattr(importlib.import_module(module), name)(options, workers)


@contextmanager
def executor_for(executor: Executor | None, workers: int) -> Iterator[Executor]:
    """The executor a step was handed (left open for the caller), or a local one it owns."""
    if executor is not None:
        yield executor
        return
    with make_executor(ExecutorOptions(), workers) as own:
        yield own


__all__ = ["EXECUTORS", "ErrorRow", "Executor", "ExecutorError", "ExecutorOptions", "TaskError", "TaskTimedOut",
           "call_task", "describe", "executor_for", "known_kinds", "make_executor"]
