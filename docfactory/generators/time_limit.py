"""A wall-clock limit per document, so a template whose loops never end (the sandbox caps `range`
at 100,000, but nested loops multiply) is rejected instead of hanging the whole step.

SIGALRM based: it acts only in a process's main thread (pool and Ray workers run tasks there) and
leaves an earlier-firing outer alarm alone (a test's own time limit, say), restoring it after.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator

DOC_TIME_LIMIT_S = 120.0  # a page takes ~0.2 s; this only catches runaway templates


class DocumentTimeLimit(Exception):
    pass


@contextmanager
def document_time_limit(seconds: float | None) -> Iterator[None]:
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    outer_delay = signal.getitimer(signal.ITIMER_REAL)[0] if usable else 0.0
    if not usable or (outer_delay and outer_delay <= seconds):
        yield
        return

    def on_alarm(signum, frame):
        raise DocumentTimeLimit(f"rendering took longer than {seconds:g} s (a template loop that never ends?)")

    outer_handler = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_delay:
            signal.setitimer(signal.ITIMER_REAL, max(outer_delay - (time.monotonic() - started), 1e-3))
