"""One load at a time per warehouse: an exclusive lock file, so a cron overlap exits at once instead of racing."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import BenchmarksEtlError, ExitCode


class LoadAlreadyRunning(BenchmarksEtlError):
    """Another load holds the warehouse's lock."""

    exit_code = ExitCode.TRY_AGAIN_LATER


@contextmanager
def exclusive_load_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking flock on `lock_path` for the duration of a load.

    The kernel releases the lock when the process dies, even by SIGKILL, so a crashed load never blocks the next.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LoadAlreadyRunning(
                f"Another load of this warehouse is running (pid {holder}); this one exits without changes."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


class LoadLockLost(LoadAlreadyRunning):
    """The load's lock was lost while it ran (on PostgreSQL: its lock connection ended, so another load may have
    taken it); the load stopped before writing anything more."""
