"""The command's side: the blocks it runs in, which say what a signal does there. The command itself raises at once
(`running`), the publish finishes first (`committing`), a wait is ended by its stopper (`interruptible`), a load is
recorded as interrupted (`recorded_by`), and whatever a block raises after a signal is the interruption."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from pipelines.interrupts.state import changed, exception_for, lock, state


@contextmanager
def running(*, verbose: bool = False) -> Iterator[None]:
    """The command itself: a signal raises in the main thread (at once, if one came before). Unless `verbose`, a
    signal also silences the log (dlt complains about the worker threads it could not join)."""
    with lock:
        state.running, state.quiet_logs = True, not verbose
        if state.signum:
            raise exception_for(state.signum)
    try:
        yield
    finally:
        state.running = False


@contextmanager
def interruptible(stop: Callable[[], object]) -> Iterator[None]:
    """Within the block, a signal calls `stop` (from another thread) to end what the block waits for."""
    key = id(stop)
    with lock:
        state.stoppers[key] = stop
    try:
        yield
    finally:
        with lock:
            state.stoppers.pop(key, None)


@contextmanager
def recorded_by(record: Callable[[], object]) -> Iterator[None]:
    """Within the block, `record_interruption` (by the command, or the watchdog before it exits) calls `record`."""
    with lock:
        state.recorders.append(record)
    try:
        yield
    finally:
        with lock:
            state.recorders.remove(record)


def record_interruption() -> None:
    """Write down that this load was interrupted, once, whoever notices first."""
    with lock:
        if state.recorded:
            return
        state.recorded = True
        for record in list(state.recorders):
            with suppress(Exception):
                record()


@contextmanager
def committing() -> Iterator[None]:
    """The publish: once begun it finishes; a signal meanwhile is raised when it is done (and says so).

    It does not begin after a signal came: the load stops before anything visible changed.
    """
    with lock:
        if state.signum:
            raise exception_for(state.signum)
        state.committing = True
    try:
        yield
    except BaseException:
        _end_commit(published=False)
        raise
    _end_commit(published=True)
    if state.signum:
        raise exception_for(state.signum)


def _end_commit(*, published: bool) -> None:
    with changed:
        state.committing, state.committed_at, state.published = False, time.monotonic(), published
        changed.notify_all()


@contextmanager
def as_interruption() -> Iterator[None]:
    """Once a signal came, whatever the block raises is the interruption (DuckDB turns it into a RuntimeError, a
    closed socket into an API error): the command reports it as such."""
    try:
        yield
    except BaseException as exc:
        if state.signum and not isinstance(exc, KeyboardInterrupt):
            raise exception_for(state.signum) from exc
        raise

