"""One writer at a time per lake.

Two runs that write the same lake at once would each write the spans neither had seen yet (every
span twice), and a run that starts would take the other's half-written files for a killed run's
leftovers. So every run that writes (ingest, compact, rebuild, doctor --fix, purge) holds the
lake's lock while it works; a second one waits for it, and says so. Readers never take it.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

LOCK_NAME = "writer.lock"


def lock_path(spans_dir: Path) -> Path:
    """Beside the spans (not among their partitions), so every process writing them finds it."""
    return spans_dir.parent / LOCK_NAME


def _lock(spans_dir: Path) -> FileLock:
    # One lock object per file in a process, counting its holders across threads: a run that holds
    # it may construct more Lakes (the rollups read the days back) without waiting for itself.
    path = lock_path(spans_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path, thread_local=False, is_singleton=True)


@contextmanager
def exclusive(spans_dir: Path, what: str) -> Iterator[None]:
    """Hold the lake's lock for `what`; wait (saying so on stderr) while another run has it."""
    lock = _lock(spans_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"lens: {what} waits for another run writing the lake at {spans_dir.parent} to finish",
              file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@contextmanager
def unless_busy(spans_dir: Path) -> Iterator[bool]:
    """The lock if no other run holds it (True), else nothing (False): a killed run's leftovers are
    cleared only when no other run may be writing files that look like them."""
    lock = _lock(spans_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
