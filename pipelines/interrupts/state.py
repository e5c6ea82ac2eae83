"""What the process knows about a signal: which came and when, whether the publish is under way or done, who prints
the last line. Shared by the signal's side (watchdog.py) and the command's side (blocks.py), under one lock."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines.errors import ExitCode

EXIT_CODES = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}
KEPT = "Interrupted; the warehouse keeps its previous contents."
PUBLISHED = "Interrupted after publishing; the warehouse holds this load's data."


class Terminated(KeyboardInterrupt):
    """SIGTERM (e.g. from a scheduler or `kill`), handled like Ctrl-C: stop cleanly, keep the warehouse as it was."""


@dataclass
class SignalState:
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


state = SignalState()  # one per process, as the signal handlers are
lock = threading.RLock()  # re-entrant: the handler may run in the main thread while it holds the lock
changed = threading.Condition(lock)


def exception_for(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def received() -> int:
    """The signal that asked us to stop, or 0."""
    return state.signum


def exit_code(exc: BaseException | None = None) -> int:
    if state.signum:
        return EXIT_CODES[state.signum]
    return ExitCode.TERMINATED if isinstance(exc, Terminated) else ExitCode.INTERRUPTED


def message() -> str:
    """The one line for the user: whether this load's data was published before the signal came."""
    return PUBLISHED if state.published else KEPT


def claim_exit() -> bool:
    """True for the first caller only: whoever prints the interruption's line (the command or the watchdog)."""
    with lock:
        first, state.exit_claimed = not state.exit_claimed, True
        return first


def published() -> bool:
    return state.published
