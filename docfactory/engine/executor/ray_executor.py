"""The Ray executor: each task is a Ray task (one CPU), so a run spreads over a Ray cluster.

    engine generate --n 2000000 --out s3://bucket/runs/big --executor ray --ray-address auto

Without an address a local Ray is started with `workers` CPUs (and stopped at close); with
`auto` or `ray://host:port` the executor joins that cluster, whose nodes need docfactory installed
(`pip install 'docfactory[ray]'`, the same version) and must reach the run folder (a shared path or
an object-store URL). A Ray already initialised in this process is used as it is.

Ray re-runs a task whose worker died (`max_retries`); a task that raised is not re-run (it would
raise again: its inputs are the same) but comes back as a TaskError. Tasks are submitted in a
bounded window so a 2M-page run does not queue 100k results in the object store at once.

Each task is a streaming Ray task that first yields a start mark, then its outcome: a task waiting
in Ray's queue is not yet running, so the time limit is counted from the mark. A task past its
limit is cancelled with force, which kills its worker process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, TypeVar

from docfactory.engine.executor.base import (Executor, ExecutorError, ExecutorOptions, TaskError, TaskTimedOut,
                                             call_task, describe)

T = TypeVar("T")


@dataclass(frozen=True)
class _Started:
    """What a task yields first: it runs now (its modules imported), and its time limit starts."""


def run_task(fn: Callable[..., Any], task: Any, *shared: Any) -> Iterator[Any]:
    """The Ray task: say it has started, then run fn."""
    yield _Started()
    yield call_task(fn, task, *shared)


def _ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError("the ray executor needs Ray: pip install 'docfactory[ray]'") from None
    return ray


class RayExecutor(Executor):
    kind = "ray"

    def __init__(self, options: ExecutorOptions, workers: int = 1):
        super().__init__(options, workers)
        ray = _ray()
        self._started = not ray.is_initialized()
        if self._started:
            try:
                if options.address:
                    ray.init(address=options.address, log_to_driver=False)
                else:
                    ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorError(f"could not start or reach Ray at {options.address or 'a new local instance'}: "
                                    f"{describe(exc)}") from exc
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.window = 2 * (self.workers if self._started and not options.address else max(cpus, 1))
        self._remote = ray.remote(run_task).options(num_returns="streaming", num_cpus=1,
                                                     max_retries=options.max_retries, retry_exceptions=False)

    def map(self, fn: Callable[..., Any], tasks: Sequence[T], *shared: Any,
            timeout: float | None = None) -> Iterator[tuple[T, Any]]:
        ray = _ray()
        tasks = list(tasks)
        shared_refs = [ray.put(value) for value in shared]  # sent to the object store once
        queue, running, deadlines = list(range(len(tasks))), {}, {}
        queue.reverse()
        try:
            while queue or running:
                while queue and len(running) < self.window:
                    index = queue.pop()
                    running[self._remote.remote(fn, tasks[index], *shared_refs)] = index
                wait_s = max(0.0, min(deadlines.values()) - time.monotonic()) if deadlines else None
                done, _ = ray.wait(list(running), num_returns=1, timeout=wait_s)
                for task_ref in done:
                    outcome = _next(ray, task_ref)
                    if isinstance(outcome, _Started):
                        if timeout is not None:
                            deadlines[task_ref] = time.monotonic() + timeout
                        continue
                    deadlines.pop(task_ref, None)
                    yield tasks[running.pop(task_ref)], outcome
                for task_ref, deadline in list(deadlines.items()):
                    if time.monotonic() >= deadline:
                        ray.cancel(task_ref, force=True)  # kills the worker process running it
                        del deadlines[task_ref]
                        yield tasks[running.pop(task_ref)], TaskTimedOut.after(timeout)
        finally:
            for task_ref in running:  # the consumer stopped early
                ray.cancel(task_ref, force=True)

    def close(self) -> None:
        if self._started:
            _ray().shutdown()
            self._started = False


def _next(ray, task_ref) -> Any:
    """The next thing a running task yielded: _Started, its outcome, or a TaskError when Ray lost it."""
    try:
        return ray.get(next(task_ref))
    except ray.exceptions.RayError as exc:  # worker lost past max_retries, object lost, ...
        return TaskError(describe(exc).splitlines()[0])
    except StopIteration:
        return TaskError("the Ray task ended without a result")
