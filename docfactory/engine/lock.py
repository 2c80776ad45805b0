"""One writer per run folder: every command that writes a run holds `RUN/.lock` (an exclusive
fcntl.flock) for its whole duration; a second one refuses at once, naming the holder.

flock belongs to the open file, so the kernel drops it when the holder exits however it exits
(kill -9 included): there is never a stale lock to clean up, and the PID and command written into
the file are only information for the message. The lock is re-entrant within a process (`engine
run` calls generate, augment, ... which take it again). A loop's evaluation sets (RUN/evalsets/NAME)
are run folders of their own but part of RUN: writing one is refused while another process holds
RUN's lock. A run at an fsspec URL has no lock: one writer at a time there stays the caller's job,
as the catalog module says.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from docfactory.engine import storage

LOCK_FILE = ".lock"

_held: dict[str, list] = {}  # run root -> [fd, depth], for re-entry from the same process
_guard = threading.Lock()


class RunLocked(RuntimeError):
    """Another process writes this run folder."""


def holder(run_dir: Path | str) -> str | None:
    """'pid N: command' of the process holding the run's lock, or None when nobody does."""
    path = Path(storage.run_root(run_dir)) / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _describe(path: Path) -> str:
    text = path.read_text(errors="replace").strip()
    pid, _, command = text.partition("\n")
    return f"pid {pid}: {command}" if pid else "a process that has not written its PID yet"


@contextmanager
def run_lock(run_dir: Path | str, argv: Sequence[str] | None = None, create: bool = True) -> Iterator[None]:
    """Hold RUN/.lock while the block runs; RunLocked (naming the holder) if another process has it.
    Without `create`, a run folder that does not exist is not locked (nor made): the command that
    needs it reports it missing."""
    root = storage.run_root(run_dir)
    if storage.is_url(root) or (not create and not Path(root).is_dir()):
        yield
        return
    with _guard:
        entry = _held.get(root)
        if entry is not None:
            entry[1] += 1
        else:
            _held[root] = [_acquire(Path(root), argv or sys.argv), 1]
    try:
        yield
    finally:
        with _guard:
            entry = _held[root]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[root]
                os.close(entry[0])  # closing the file releases the flock


def _acquire(root: Path, argv: Sequence[str]) -> int:
    owner = root.parent.parent
    if root.parent.name == "evalsets" and str(owner) not in _held and (who := holder(owner)) is not None:
        raise RunLocked(f"{root}: an evaluation set of {owner}, which another engine process is writing ({who}); "
                        "wait for it to finish (or stop it), then run this again")
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunLocked(f"{root}: another engine process is writing this run ({_describe(path)}); "
                        "wait for it to finish (or stop it), then run this again") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n{' '.join(argv)}\n".encode(), 0)
    return fd


def locks_run(create: bool = False):
    """Decorate a step whose first argument is the run it writes: it runs holding RUN/.lock, so a
    Python caller gets the same one-writer guarantee as the `engine` command (re-entrant: the CLI's
    own lock and a loop's nested steps are the same holder). A None run takes no lock."""
    import functools

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(run_dir, *args, **kwargs):
            if run_dir is None:
                return fn(run_dir, *args, **kwargs)
            with run_lock(run_dir, create=create):
                return fn(run_dir, *args, **kwargs)
        return wrapper
    return decorate


def is_held_here(run_dir: Path | str) -> bool:
    return storage.run_root(run_dir) in _held
