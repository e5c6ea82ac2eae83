"""Ctrl-C and SIGTERM stop a command within seconds, at any moment, with one line and exit 130 / 143.

Python runs signal handlers in the main thread only, and only between two bytecodes: a main thread inside a DuckDB
statement, or in a `finally` that joins a worker thread stuck in a read or an insert, would not see a signal for
minutes. So besides the handler, which raises in the main thread as Ctrl-C always did, a watcher thread wakes on the
signal itself (`signal.set_wakeup_fd`), interrupts what can be interrupted (what registered with `interruptible`:
DuckDB's `interrupt()`, the API session), and ends the process with `os._exit` if it is still alive after
`INTERRUPT_GRACE_S`. Safe for the data: until the publish nothing a reader sees has changed, and the next
load converges (as after a SIGKILL). A signal during the publish (`committing`) is held until the publish is done.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from pipelines.errors import ExitCode

EXIT_CODES = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}
# A load still running this long after the signal (a read, an insert or a thread that cannot be interrupted) is ended
# at once; 5 s is the promise, this leaves room for the exit itself.
INTERRUPT_GRACE_S = 3.0
KEPT = "Interrupted; the warehouse keeps its previous contents."
PUBLISHED = "Interrupted after publishing; the warehouse holds this load's data."


class Terminated(KeyboardInterrupt):
    """SIGTERM (e.g. from a scheduler or `kill`), handled like Ctrl-C: stop cleanly, keep the warehouse as it was."""


@dataclass
class _State:
    installed: bool = False
    running: bool = False
    quiet_logs: bool = True
    signum: int = 0
    signalled_at: float = 0.0
    committing: bool = False
    committed_at: float = 0.0
    published: bool = False
    exit_claimed: bool = False
    recorded: bool = False
    stoppers: dict[int, Callable[[], object]] = field(default_factory=dict)
    recorders: list[Callable[[], object]] = field(default_factory=list)
    deadline: threading.Thread | None = None


_state = _State()
_lock = threading.RLock()  # re-entrant: the handler may run in the main thread while it holds the lock
_changed = threading.Condition(_lock)


def install() -> None:
    """Take over SIGINT and SIGTERM for the rest of the process (main thread only). Until a command is `running`,
    a signal is only noted: click would turn it into `Aborted!` and exit 1."""
    with _lock:
        _state.installed = True
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(reader, writer), name="benchmarks-signals", daemon=True).start()
    for signum in EXIT_CODES:
        signal.signal(signum, _handle)


def release() -> None:
    """Hand the signals back, for a command that stops on Ctrl-C / SIGTERM by itself (the simulator)."""
    with _lock:
        _state.installed = False
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def running(*, verbose: bool = False) -> Iterator[None]:
    """The command itself: a signal raises in the main thread (at once, if one came before). Unless `verbose`, a
    signal also silences the log (dlt complains about the worker threads it could not join)."""
    with _lock:
        _state.running, _state.quiet_logs = True, not verbose
        if _state.signum:
            raise exception_for(_state.signum)
    try:
        yield
    finally:
        _state.running = False


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def exception_for(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def received() -> int:
    """The signal that asked us to stop, or 0."""
    return _state.signum


def exit_code(exc: BaseException | None = None) -> int:
    if _state.signum:
        return EXIT_CODES[_state.signum]
    return ExitCode.TERMINATED if isinstance(exc, Terminated) else ExitCode.INTERRUPTED


def message() -> str:
    """The one line for the user: whether this load's data was published before the signal came."""
    return PUBLISHED if _state.published else KEPT


def claim_exit() -> bool:
    """True for the first caller only: whoever prints the interruption's line (the command or the watchdog)."""
    with _lock:
        first, _state.exit_claimed = not _state.exit_claimed, True
        return first


@contextmanager
def interruptible(stop: Callable[[], object]) -> Iterator[None]:
    """Within the block, a signal calls `stop` (from another thread) to end what the block waits for."""
    key = id(stop)
    with _lock:
        _state.stoppers[key] = stop
    try:
        yield
    finally:
        with _lock:
            _state.stoppers.pop(key, None)


@contextmanager
def recorded_by(record: Callable[[], object]) -> Iterator[None]:
    """Within the block, `record_interruption` (by the command, or the watchdog before it exits) calls `record`."""
    with _lock:
        _state.recorders.append(record)
    try:
        yield
    finally:
        with _lock:
            _state.recorders.remove(record)


def record_interruption() -> None:
    """Write down that this load was interrupted, once, whoever notices first."""
    with _lock:
        if _state.recorded:
            return
        _state.recorded = True
        for record in list(_state.recorders):
            with suppress(Exception):
                record()


def published() -> bool:
    return _state.published


@contextmanager
def committing() -> Iterator[None]:
    """The publish: once begun it finishes; a signal meanwhile is raised when it is done (and says so).

    It does not begin after a signal came: the load stops before anything visible changed.
    """
    with _lock:
        if _state.signum:
            raise exception_for(_state.signum)
        _state.committing = True
    try:
        yield
    except BaseException:
        _end_commit(published=False)
        raise
    _end_commit(published=True)
    if _state.signum:
        raise exception_for(_state.signum)


def _end_commit(*, published: bool) -> None:
    with _changed:
        _state.committing, _state.committed_at, _state.published = False, time.monotonic(), published
        _changed.notify_all()


@contextmanager
def as_interruption() -> Iterator[None]:
    """Once a signal came, whatever the block raises is the interruption (DuckDB turns it into a RuntimeError, a
    closed socket into an API error): the command reports it as such."""
    try:
        yield
    except BaseException as exc:
        if _state.signum and not isinstance(exc, KeyboardInterrupt):
            raise exception_for(_state.signum) from exc
        raise


def exit_if_interrupted() -> None:
    """At the end of the command: an interrupted process exits now, without joining threads that may never end."""
    if not _state.signum:
        return
    if claim_exit():
        _write_line(message())
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    os._exit(exit_code())


def _handle(signum: int, frame: object) -> None:
    _noticed(signum)
    if _state.running and not _state.committing:
        raise exception_for(signum)


def _watch(reader: socket.socket, writer: socket.socket) -> None:
    """Wakes on every signal, whatever the main thread is doing. (`writer` is kept open for the process.)"""
    while True:
        for signum in reader.recv(64):
            if signum in EXIT_CODES and _state.installed:
                _noticed(signum)


def _noticed(signum: int) -> None:
    """The first signal: interrupt what can be, and arm the deadline."""
    with _lock:
        if not _state.signum:
            _state.signum, _state.signalled_at = signum, time.monotonic()
        if _state.deadline is not None:
            return
        _state.deadline = threading.Thread(target=_exit_at_deadline, name="benchmarks-deadline", daemon=True)
        stoppers = [] if _state.committing else list(_state.stoppers.values())
        if _state.quiet_logs:
            logging.disable(logging.CRITICAL)  # what the stop cuts short is no news: the one line says it
    _state.deadline.start()
    for stop in stoppers:
        with suppress(Exception):
            stop()


def _exit_at_deadline() -> None:
    """Exit `INTERRUPT_GRACE_S` after the signal (or after the publish it waited for), if still alive by then."""
    with _changed:
        _changed.wait_for(lambda: not _state.committing)
        start = max(_state.signalled_at, _state.committed_at)
    time.sleep(max(0.0, start + INTERRUPT_GRACE_S - time.monotonic()))
    with _changed:
        _changed.wait_for(lambda: not _state.committing)
    record_interruption()
    if claim_exit():
        _write_line(message())
    os._exit(exit_code())


def _write_line(line: str) -> None:
    """Straight to stderr's file descriptor: the main thread may be anywhere in Python's own writing."""
    with suppress(Exception):
        sys.stderr.flush()
    show_cursor = "\x1b[?25h" if os.isatty(2) else ""  # a live progress display may have hidden it
    with suppress(OSError):
        os.write(2, f"{show_cursor}{line}\n".encode())
