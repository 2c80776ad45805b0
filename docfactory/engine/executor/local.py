"""The local executor: a process pool on this machine (the default).

One worker or one task: run in this process (no start-up cost). Otherwise a `spawn` pool (the
parent holds DuckDB threads, which `fork` would copy mid-flight), started on first use and kept
until close, so chained steps (generate -> augment -> emit) pay the worker start-up once. A worker
that dies (killed, out of memory) breaks the whole pool in `concurrent.futures`; the tasks that had
not finished run again in a fresh pool, up to `max_retries` times, then come back as TaskErrors.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence, TypeVar

from docfactory.engine.executor.base import Executor, TaskError, call_task, describe

T = TypeVar("T")


class LocalExecutor(Executor):
    kind = "local"
    _pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[..., Any], tasks: Sequence[T], *shared: Any) -> Iterator[tuple[T, Any]]:
        tasks = list(tasks)
        if self.workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield task, call_task(fn, task, *shared)
            return
        pending, lost_reason = list(range(len(tasks))), ""
        for _attempt in range(self.options.max_retries + 1):
            if not pending:
                return
            lost: list[int] = []
            for index, outcome in self._run(fn, tasks, pending, shared):
                if isinstance(outcome, BrokenProcessPool):
                    lost.append(index)
                    lost_reason = describe(outcome)
                else:
                    yield tasks[index], outcome
            if lost:
                self.close()  # a broken pool takes no more work: the retry starts a fresh one
            pending = sorted(lost)
        for index in pending:
            yield tasks[index], TaskError(f"worker lost {self.options.max_retries + 1} times: {lost_reason}")

    def _run(self, fn, tasks, indices, shared) -> Iterator[tuple[int, Any]]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        futures: dict[Future, int] = {}
        try:
            for i in indices:
                futures[self._pool.submit(call_task, fn, tasks[i], *shared)] = i
        except BrokenProcessPool as exc:  # it broke while we were still submitting
            for i in indices[len(futures):]:
                yield i, exc
        waiting = set(futures)
        try:
            while waiting:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        yield futures[future], future.result()
                    except BrokenProcessPool as exc:
                        yield futures[future], exc
                    except Exception as exc:  # noqa: BLE001 - e.g. a result that would not unpickle
                        yield futures[future], TaskError(describe(exc))
        finally:
            for future in waiting:  # the consumer stopped early: drop what has not started
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
