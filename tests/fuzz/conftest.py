"""Fuzz tests: random and mutated inputs through the real parsers, each call under a hard time
limit. Every test uses derandomize=True, so CI runs the same examples every time."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Callable, ContextManager, Iterator

import pytest


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    # hypothesis' deadline reports a slow call only once it returns; a hang needs SIGALRM, which
    # interrupts the main thread even inside a C call that checks signals.
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds}s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def time_limit() -> Callable[[float], ContextManager[None]]:
    """`with time_limit(5): ...` fails the test with TimeoutError if the block runs past 5 s."""
    return _time_limit
