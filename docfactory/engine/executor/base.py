"""What every executor shares: its typed options, the task-error record, and the call wrapper.

A step hands an executor a function and a list of tasks (each a fixed range of documents: a shard)
and receives `(task, result)` pairs as tasks finish, in any order. Because a task's output depends
only on the task (its document range, the seed and the step settings), never on which worker ran it
or when, the shards are byte-identical whatever the executor, the worker count or the finishing
order. Retrying a task is therefore safe: it rewrites the same shard with the same bytes, and only
the driver lists shards in the catalog, once, when a result arrives.

A step may give `map` a time limit per task: a task still running that many seconds after it
started has its worker process killed (a loop that never ends must not keep burning a CPU) and comes
back as a `TaskTimedOut`; it is not retried, since the same inputs would run as long again.
"""

from __future__ import annotations

import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Annotated, Any, Callable, ClassVar, Iterator, Sequence, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ExecutorError(RuntimeError):
    """An executor could not start (unknown kind, Ray missing or unreachable)."""


class ExecutorOptions(BaseModel):
    """How a step's tasks run. The output never depends on these, so steps do not record them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Annotated[str, Field(description="local (a process pool on this machine) | ray (Ray tasks)")] = "local"
    address: Annotated[str | None, Field(description="ray: 'auto' (a running cluster), 'ray://host:port' "
                                                      "(Ray Client) or None (start a local Ray)")] = None
    max_retries: Annotated[int, Field(ge=0, description="times a task whose worker died is run again")] = 3


@dataclass(frozen=True)
class TaskError:
    """A task that raised, or whose worker was lost more often than max_retries allows."""

    reason: str  # "ExceptionType: message"
    detail: str = ""  # the traceback, when there is one

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class TaskTimedOut(TaskError):
    """A task that ran past its time limit; its worker was killed."""

    seconds: float = 0.0

    @classmethod
    def after(cls, seconds: float) -> "TaskTimedOut":
        return cls(f"ran past its {seconds:g} s time limit; its worker was killed", seconds=seconds)


@dataclass(frozen=True)
class ErrorRow:
    """One item (a document, a page) that raised inside a task: a `rejections` row, stage 'error'."""

    doc_id: str
    template: str
    stage: str
    reason: str


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def call_task(fn: Callable[..., Any], task: Any, *shared: Any) -> Any:
    """Run fn(*shared, task) in a worker; an exception becomes a TaskError value, so one bad task
    never takes the pool (or the run) down with it."""
    try:
        return fn(*shared, task)
    except Exception as exc:  # noqa: BLE001 - reported as the task's error row
        return TaskError(describe(exc), traceback.format_exc())


class Executor(ABC):
    """Runs fn over tasks. Use as a context manager so workers (and a Ray it started) stop."""

    kind: ClassVar[str]

    def __init__(self, options: ExecutorOptions, workers: int = 1):
        self.options = options
        self.workers = max(1, workers)

    @abstractmethod
    def map(self, fn: Callable[..., Any], tasks: Sequence[T], *shared: Any,
            timeout: float | None = None) -> Iterator[tuple[T, Any]]:
        """Yield (task, fn(*shared, task) or TaskError) for every task, as each finishes.
        `shared` is sent to the workers once where the executor can (Ray's object store).
        `timeout`: seconds a task may run, from its start in a worker (not its wait in a queue);
        one that runs longer is killed with its worker and comes back as a TaskTimedOut."""

    def close(self) -> None:
        pass

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
