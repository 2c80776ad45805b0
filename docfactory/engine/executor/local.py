"""The local executor: worker processes on this machine (the default).

Without a time limit, one worker or one task runs in this process (no start-up cost). Otherwise
tasks go to `spawn` worker processes (the parent holds DuckDB threads, which `fork` would copy
mid-flight). A worker starts once and stays warm: its imports (WeasyPrint, PyMuPDF, albumentations:
2-4 s a process), fonts and parsed stylesheets serve every later task, across the maps of one
executor (generate -> augment -> emit) and, once an executor closes, across the executors this
process makes later (a loop's iterations, a test suite, a library user's successive steps). A warm
worker idle for WARM_IDLE_S exits by itself; at most one per CPU is kept; `release_workers()` stops
them at once (and runs at exit). Tasks depend only on their inputs, never on what a worker ran
before, so a warm worker makes the same bytes as a fresh one. Each worker is a process and a pipe of
its own (concurrent.futures can neither stop a running task nor lose one worker without breaking the
whole pool), so:

- a task that runs past the time limit has its worker killed and replaced; the others go on;
- a task whose worker died (killed, out of memory) runs again in a fresh worker, up to
  `max_retries` times, then comes back as a TaskError.

A time limit needs a process to kill, so with one it runs in a worker even with `workers=1`.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterator, Sequence, TypeVar

from docfactory.engine.executor.base import Executor, ExecutorOptions, TaskError, TaskTimedOut, call_task, describe

T = TypeVar("T")

# A warm worker that has had no task for this long exits (a library user's process does not keep
# half a gigabyte per worker forever); the next executor starts a fresh one.
WARM_IDLE_S = 600.0
_WARM: list["_Worker"] = []  # closed executors' idle workers, for the next executor of this process


@dataclass(frozen=True)
class _Started:
    """A worker's word that it has read its task (modules imported): the time limit starts now."""


@dataclass(frozen=True)
class _Lost:
    """A worker that died (its pipe closed) before its task's outcome came back."""

    exitcode: int | None


class LocalExecutor(Executor):
    kind = "local"

    def __init__(self, options: ExecutorOptions, workers: int = 1):
        super().__init__(options, workers)
        self._idle: list[_Worker] = []  # started workers waiting for a task, kept between maps

    def map(self, fn: Callable[..., Any], tasks: Sequence[T], *shared: Any,
            timeout: float | None = None) -> Iterator[tuple[T, Any]]:
        tasks = list(tasks)
        if timeout is None and (self.workers <= 1 or len(tasks) <= 1):
            for task in tasks:
                yield task, call_task(fn, task, *shared)
            return
        queue, busy, losses = deque(range(len(tasks))), {}, Counter()

        def lost(index: int, exitcode: int | None) -> TaskError | None:
            """Run a lost worker's task again (first in line), or give up on it past max_retries."""
            losses[index] += 1
            if losses[index] <= self.options.max_retries:
                queue.appendleft(index)
                return None
            return TaskError(f"worker lost {losses[index]} times (exit code {exitcode})")

        try:
            while queue or busy:
                while queue and len(busy) < self.workers:
                    index = queue.popleft()
                    worker = _take(self._idle)
                    failure = worker.start(fn, tasks[index], shared)
                    if failure is None:
                        busy[worker] = index
                        continue
                    if isinstance(failure, _Lost):  # it had died while idle
                        failure = lost(index, failure.exitcode)
                    else:
                        self._idle.append(worker)
                    if failure is not None:
                        yield tasks[index], failure
                for worker, outcome in _collect(busy, timeout) if busy else ():
                    index = busy.pop(worker)
                    if isinstance(outcome, _Lost):
                        outcome = lost(index, outcome.exitcode)
                        if outcome is None:  # it runs again
                            continue
                    elif worker.process.is_alive():
                        self._idle.append(worker)
                    yield tasks[index], outcome
        finally:
            for worker in busy:  # the consumer stopped early: nobody wants what they are making
                worker.kill()

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for worker in idle:  # kept warm for the next executor, up to one per CPU
            if worker.process.is_alive() and len(_WARM) < max(2, os.cpu_count() or 1):
                _WARM.append(worker)
            else:
                worker.stop()


def _take(idle: list["_Worker"]) -> "_Worker":
    """A live idle worker (this executor's, else one another executor left warm), else a new one.
    A worker that exited while idle (WARM_IDLE_S) is reaped, not counted as a lost task."""
    for pool in (idle, _WARM):
        while pool:
            worker = pool.pop()
            if worker.process.is_alive():
                return worker
            worker.kill()
    return _Worker()


@atexit.register
def release_workers() -> None:
    """Stop the warm workers that closed executors left (each finishes nothing: they are idle)."""
    warm, _WARM[:] = list(_WARM), []
    for worker in warm:
        worker.stop()


def warm_workers() -> list[multiprocessing.Process]:
    """The processes of the idle warm workers (for tests and diagnostics)."""
    return [worker.process for worker in _WARM]


def _collect(busy: dict["_Worker", int], timeout: float | None) -> list[tuple["_Worker", Any]]:
    """Wait for the next message or deadline; return (worker, outcome) for the tasks that ended:
    a result, a TaskError, a TaskTimedOut (the worker killed) or a _Lost (the worker died)."""
    deadlines = [w.deadline for w in busy if w.deadline is not None]
    wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
    ready = wait([worker.connection for worker in busy], timeout=wait_s)
    ended = []
    for worker in busy:
        if worker.connection in ready:
            try:
                message = worker.connection.recv()
            except (EOFError, OSError):  # the process died: its end of the pipe closed
                worker.kill()
                ended.append((worker, _Lost(worker.process.exitcode)))
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. a result that would not unpickle here
                ended.append((worker, TaskError(describe(exc))))
                continue
            if isinstance(message, _Started):
                worker.deadline = None if timeout is None else time.monotonic() + timeout
            else:
                ended.append((worker, message))
        elif worker.deadline is not None and time.monotonic() >= worker.deadline:
            worker.kill()
            ended.append((worker, TaskTimedOut.after(timeout)))
    return ended


class _Worker:
    """One spawned process and its pipe; `deadline` is set while it runs a task under a time limit."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        # Not a daemon: a task may start processes of its own (evaluate's TEDS pool).
        self.process = context.Process(target=_serve, args=(child, os.getpid()), name="docfactory-worker")
        self.process.start()
        child.close()
        self.deadline: float | None = None

    def start(self, fn: Callable[..., Any], task: Any, shared: tuple) -> TaskError | _Lost | None:
        """Hand a task over. One that will not pickle is a TaskError at once; a worker that died
        while idle (its pipe broken) is _Lost, and reaped."""
        self.deadline = None
        try:
            # With the driver's working directory and environment as they are now: a warm worker was
            # started earlier, maybe before a chdir or setenv, and a relative run path must mean the same.
            self.connection.send((fn, task, shared, _cwd(), dict(os.environ)))  # pickles first
        except OSError:
            self.kill()
            return _Lost(self.process.exitcode)
        except Exception as exc:  # noqa: BLE001 - a pickling error names what would not pickle
            return TaskError(f"could not send the task to a worker: {describe(exc)}")
        return None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()

    def stop(self) -> None:
        try:
            self.connection.send(None)
            self.process.join(timeout=5)
        except (OSError, ValueError):
            pass
        self.kill()


def _serve(connection: Connection, parent: int) -> None:
    """Worker loop: answer (fn, task, shared, cwd, environ) messages with _Started, then the task's outcome,
    until told to stop (None) or the driver is gone."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it kills us
    while True:
        try:
            if not connection.poll(WARM_IDLE_S):  # idle too long: free the memory; a new one starts on demand
                return
            message = connection.recv()
        except EOFError:
            return
        except Exception as exc:  # noqa: BLE001 - e.g. the task's module is not importable here
            connection.send(_Started())
            connection.send(TaskError(f"a worker could not read the task: {describe(exc)}"))
            continue
        if message is None:
            return
        fn, task, shared, cwd, environ = message
        if cwd is not None and _cwd() != cwd:
            try:
                os.chdir(cwd)
            except OSError:  # gone meanwhile: the task's own paths will say so
                pass
        if os.environ != environ:
            os.environ.clear()
            os.environ.update(environ)
        connection.send(_Started())
        outcome = call_task(fn, task, *shared)
        try:
            connection.send(outcome)
        except Exception as exc:  # noqa: BLE001 - a result that will not pickle is the task's error
            connection.send(TaskError(f"the task's result could not be sent back: {describe(exc)}"))


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the working directory was deleted
        return None


def _die_with(parent: int) -> None:
    """Linux: have the kernel kill this worker when the process that started it dies (kill -9
    included), so a killed engine leaves no worker behind still rendering. The signal follows the
    thread that started the worker; executors are made and used on one thread."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call above
        os._exit(1)
