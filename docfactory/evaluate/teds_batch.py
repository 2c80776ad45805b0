"""Score many table pairs in worker processes, with a time limit per table.

The reference's parallel helper (and OmniDocBench after it) scores a table that raised as 0, which
silently drags a mean down and hides the bug. Here every pair yields a :class:`TedsResult`: a score,
or ``teds=None`` and the reason (the exception, a timeout, a crashed worker). A table that runs past
its limit has its worker killed and replaced, and the rest of the batch goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from docfactory.evaluate.teds import teds


@dataclass(frozen=True)
class TedsResult:
    """One pair's outcome: ``teds`` is None exactly when ``error`` says why."""

    index: int
    teds: float | None
    error: str | None = None
    seconds: float = 0.0


def teds_many(
    pairs: Iterable[tuple[str, str]],
    workers: int = 1,
    structure_only: bool = False,
    timeout_s: float | None = 60.0,
    clamp: bool = False,
) -> list[TedsResult]:
    """TEDS for each (pred_html, gold_html) pair, in input order.

    ``workers`` processes score the pairs; a pair still running after ``timeout_s`` seconds becomes
    an error row. ``workers=0`` scores in this process (no time limit can be enforced there).
    """
    jobs = list(pairs)
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if workers == 0 or not jobs:
        return [_score(index, pair, structure_only, clamp) for index, pair in enumerate(jobs)]
    results: dict[int, TedsResult] = {}
    pool = _Pool(min(workers, max(1, len(jobs))), structure_only, clamp)
    try:
        pending = list(enumerate(jobs))[::-1]
        while pending or pool.busy():
            for worker in pool.idle():
                # A pair that cannot be sent leaves the worker idle: give it the next one at once,
                # or the wait below could block on a pool with nothing in flight.
                while pending and worker.index is None:
                    index, pair = pending.pop()
                    failure = worker.start(index, pair)
                    if failure is not None:
                        results[index] = failure
            for result in pool.collect(timeout_s):
                results[result.index] = result
    finally:
        pool.close()
    return [results[index] for index in range(len(jobs))]


def _score(index: int, pair: object, structure_only: bool, clamp: bool) -> TedsResult:
    """Score one pair, turning any exception into an error row (runs in a worker)."""
    started = time.perf_counter()
    try:
        pred, gold = pair  # type: ignore[misc]
        value = teds(pred, gold, structure_only=structure_only, clamp=clamp)
    except Exception as error:  # noqa: BLE001 - every failure must become a row, whatever it is
        return TedsResult(index, None, f"{type(error).__name__}: {error}", time.perf_counter() - started)
    return TedsResult(index, value, None, time.perf_counter() - started)


def _serve(connection: Connection, structure_only: bool, clamp: bool) -> None:
    """Worker loop: say ready, then answer (index, pair) messages until told to stop (None)."""
    teds("<table><tr><td>x</td></tr></table>", "<table><tr><td>x</td></tr></table>")  # load the compiled kernel
    connection.send(None)
    while True:
        message = connection.recv()
        if message is None:
            return
        index, pair = message
        connection.send(_score(index, pair, structure_only, clamp))


class _Worker:
    """One process and its pipe; knows which pair it is on and since when."""

    def __init__(self, context: mp.context.BaseContext, structure_only: bool, clamp: bool) -> None:
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child, structure_only, clamp), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.index: int | None = None
        self.started = 0.0

    def start(self, index: int, pair: object) -> TedsResult | None:
        """Hand a pair over; an unpicklable pair is an error row at once."""
        try:
            self.connection.send((index, pair))
        except Exception as error:  # noqa: BLE001 - e.g. a pickling error names the bad input
            return TedsResult(index, None, f"cannot send to worker: {type(error).__name__}: {error}")
        self.index = index
        self.started = time.monotonic()
        return None

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


class _Pool:
    """Workers that can be killed one at a time (concurrent.futures cannot stop a running task)."""

    def __init__(self, size: int, structure_only: bool, clamp: bool) -> None:
        # forkserver/spawn rather than fork: the caller may hold threads (torch, numba) or locks.
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self._context = mp.get_context(method)
        self._options = (structure_only, clamp)
        self._workers = [_Worker(self._context, structure_only, clamp) for _ in range(size)]

    def busy(self) -> bool:
        return any(worker.index is not None for worker in self._workers)

    def idle(self) -> list[_Worker]:
        return [worker for worker in self._workers if worker.ready and worker.index is None]

    def collect(self, timeout_s: float | None) -> list[TedsResult]:
        """Wait for the next message or deadline; return the rows that finished or failed."""
        now = time.monotonic()
        deadlines = [w.started + timeout_s - now for w in self._workers if w.index is not None and timeout_s is not None]
        wait_s = max(0.0, min(deadlines)) if deadlines else None
        ready = wait([worker.connection for worker in self._workers], timeout=wait_s)
        finished: list[TedsResult] = []
        for position, worker in enumerate(self._workers):
            if worker.connection in ready:
                try:
                    message = worker.connection.recv()
                except (EOFError, OSError):
                    code = worker.process.exitcode
                    finished.extend(self._replace(position, f"worker process died (exit code {code})"))
                    continue
                if message is None:
                    worker.ready = True
                else:
                    finished.append(message)
                    worker.index = None
            elif worker.index is not None and timeout_s is not None:
                if time.monotonic() - worker.started > timeout_s:
                    finished.extend(self._replace(position, f"timeout: exceeded {timeout_s:g} s"))
        return finished

    def _replace(self, position: int, reason: str) -> list[TedsResult]:
        worker = self._workers[position]
        worker.stop()
        if not worker.ready:  # died before its first pair: a new one would too, so stop here
            raise RuntimeError(f"TEDS worker failed to start: {reason}")
        self._workers[position] = _Worker(self._context, *self._options)
        if worker.index is None:
            return []
        return [TedsResult(worker.index, None, reason, time.monotonic() - worker.started)]

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.connection.send(None)
            except (OSError, ValueError):
                pass
            worker.process.join(timeout=1.0)
            worker.stop()
