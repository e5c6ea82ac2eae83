"""Progress of a load: live bars on a terminal, one log line per stage otherwise (cron), nothing with --quiet.

The source reports through `LoadProgress`; it never prints. Everything goes to stderr, so stdout keeps just the
summary line.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from typing import TextIO

COUNTERS = ("models", "runs", "test cases")


class LoadProgress:
    """Silent base: counts what was done, shows nothing. Subclasses render."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {name: 0 for name in COUNTERS}

    def stage(self, name: str, detail: str = "") -> None:
        """A new step of the load begins (e.g. 'extract', 'load')."""

    def set_total(self, counter: str, total: int) -> None:
        """Start `counter` over, with `total` to do."""
        with self._lock:
            self.totals[counter] = total
            self.done[counter] = 0
        self._changed(counter)

    def advance(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            self.done[counter] = self.done.get(counter, 0) + amount
        self._changed(counter)

    def _changed(self, counter: str) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress(LoadProgress):
    """One timestamped line per stage, for logs: enough to see where a slow or failed load was."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self._started = time.monotonic()

    def stage(self, name: str, detail: str = "") -> None:
        counts = ", ".join(
            f"{self.done[c]:,}/{self.totals[c]:,} {c}" for c in COUNTERS if c in self.totals
        )
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        elapsed = time.monotonic() - self._started
        parts = [p for p in (detail, counts) if p]
        self.stream.write(f"{stamp} [{elapsed:6.1f}s] {name}" + (f": {'; '.join(parts)}" if parts else "") + "\n")
        self.stream.flush()


class RichProgress(LoadProgress):
    """Live bars (done of total, rate, ETA) for models, runs and test cases on an interactive terminal."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[progress.data.speed]{task.fields[rate]:>10}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._tasks = {name: self._progress.add_task(name, total=None, rate="", start=False) for name in COUNTERS}
        self._started_at: dict[str, float] = {}
        self._stage_task = self._progress.add_task("stage", total=None, rate="", visible=True)
        self._progress.start()

    def stage(self, name: str, detail: str = "") -> None:
        self._progress.update(self._stage_task, description=name[:12], rate=detail)

    def _changed(self, counter: str) -> None:
        task = self._tasks[counter]
        if counter not in self._started_at:
            self._started_at[counter] = time.monotonic()
            self._progress.start_task(task)
        elapsed = max(time.monotonic() - self._started_at[counter], 1e-6)
        done = self.done.get(counter, 0)
        self._progress.update(
            task, completed=done, total=self.totals.get(counter), rate=f"{done / elapsed:,.0f}/s"
        )

    def close(self) -> None:
        self._progress.stop()


def make_progress(*, quiet: bool, interactive: bool | None = None) -> LoadProgress:
    if quiet:
        return LoadProgress()
    if interactive is None:
        interactive = sys.stderr.isatty()
    return RichProgress() if interactive else LineProgress()
