"""Ctrl-C and SIGTERM stop a command within seconds, at any moment, with one line and exit 130 / 143.

Python runs signal handlers in the main thread only, and only between two bytecodes: a main thread inside a DuckDB
statement, or in a `finally` that joins a worker thread stuck in a read or an insert, would not see a signal for
minutes. So besides the handler, which raises in the main thread as Ctrl-C always did, a watcher thread wakes on the
signal itself (`signal.set_wakeup_fd`), interrupts what can be interrupted (what registered with `interruptible`:
DuckDB's `interrupt()`, the API session), and ends the process with `os._exit` if it is still alive after
`INTERRUPT_GRACE_S`. Safe for the data: until the publish nothing a reader sees has changed, and the next
load converges (as after a SIGKILL). A signal during the publish (`committing`) is held until the publish is done.

The signal's side is in watchdog.py, the blocks the command runs in are in blocks.py, what both share in state.py;
the rest of the code uses them through this package: `interrupts.interruptible(...)`.
"""

from pipelines.interrupts.blocks import (
    as_interruption,
    committing,
    interruptible,
    record_interruption,
    recorded_by,
    running,
)
from pipelines.interrupts.state import (
    KEPT,
    PUBLISHED,
    Terminated,
    claim_exit,
    exception_for,
    exit_code,
    message,
    published,
    received,
)
from pipelines.interrupts.watchdog import INTERRUPT_GRACE_S, exit_if_interrupted, install, release

__all__ = [
    "INTERRUPT_GRACE_S", "KEPT", "PUBLISHED", "Terminated", "as_interruption", "claim_exit", "committing",
    "exception_for", "exit_code", "exit_if_interrupted", "install", "interruptible", "message", "published",
    "received", "record_interruption", "recorded_by", "release", "running",
]
