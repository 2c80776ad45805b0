"""Stage timing for benchmarks: `with timed(times, "layout"): ...` adds the seconds to times[stage]."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import MutableMapping


@contextmanager
def timed(times: MutableMapping[str, float] | None, stage: str):
    start = time.perf_counter()
    yield
    if times is not None:
        times[stage] = times.get(stage, 0.0) + time.perf_counter() - start
