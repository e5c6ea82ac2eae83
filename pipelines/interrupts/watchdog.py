"""The signal's side: the handler, which raises in the main thread as Ctrl-C always did; a watcher thread woken by
the signal itself, which interrupts what registered as `interruptible`; and the deadline, which ends the process if
it is still alive `INTERRUPT_GRACE_S` after the signal (or after the publish it waited for)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from contextlib import suppress

from pipelines.interrupts.blocks import record_interruption
from pipelines.interrupts.state import (
    EXIT_CODES,
    Terminated,
    changed,
    claim_exit,
    exception_for,
    exit_code,
    lock,
    message,
    state,
)

# A load still running this long after the signal (a read, an insert or a thread that cannot be interrupted) is ended
# at once; 5 s is the promise, this leaves room for the exit itself.
INTERRUPT_GRACE_S = 3.0


def install() -> None:
    """Take over SIGINT and SIGTERM for the rest of the process (main thread only). Until a command is `running`,
    a signal is only noted: click would turn it into `Aborted!` and exit 1."""
    with lock:
        state.installed = True
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(reader, writer), name="benchmarks-signals", daemon=True).start()
    for signum in EXIT_CODES:
        signal.signal(signum, _handle)


def release() -> None:
    """Hand the signals back, for a command that stops on Ctrl-C / SIGTERM by itself (the simulator)."""
    with lock:
        state.installed = False
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_terminated)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def exit_if_interrupted() -> None:
    """At the end of the command: an interrupted process exits now, without joining threads that may never end."""
    if not state.signum:
        return
    if claim_exit():
        _write_line(message())
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    os._exit(exit_code())


def _handle(signum: int, frame: object) -> None:
    _noticed(signum)
    if state.running and not state.committing:
        raise exception_for(signum)


def _watch(reader: socket.socket, writer: socket.socket) -> None:
    """Wakes on every signal, whatever the main thread is doing. (`writer` is kept open for the process.)"""
    while True:
        for signum in reader.recv(64):
            if signum in EXIT_CODES and state.installed:
                _noticed(signum)


def _noticed(signum: int) -> None:
    """The first signal: interrupt what can be, and arm the deadline."""
    with lock:
        if not state.signum:
            state.signum, state.signalled_at = signum, time.monotonic()
        if state.deadline is not None:
            return
        state.deadline = threading.Thread(target=_exit_at_deadline, name="benchmarks-deadline", daemon=True)
        stoppers = [] if state.committing else list(state.stoppers.values())
        if state.quiet_logs:
            logging.disable(logging.CRITICAL)  # what the stop cuts short is no news: the one line says it
    state.deadline.start()
    for stop in stoppers:
        with suppress(Exception):
            stop()


def _exit_at_deadline() -> None:
    """Exit `INTERRUPT_GRACE_S` after the signal (or after the publish it waited for), if still alive by then."""
    with changed:
        changed.wait_for(lambda: not state.committing)
        start = max(state.signalled_at, state.committed_at)
    time.sleep(max(0.0, start + INTERRUPT_GRACE_S - time.monotonic()))
    with changed:
        changed.wait_for(lambda: not state.committing)
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
