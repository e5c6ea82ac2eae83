"""Where a load's time goes, from its stage marks: the `[  12.3s] publish: ...` lines a load prints on stderr when
it is not --quiet and stderr is not a terminal (pipelines/progress.py), or the same marks recorded in-process.

A stage lasts until the next one starts; the last one until the load ends (the summary's "in X s", which counts
from the same start give or take a millisecond). `setup` is what comes before the first mark (settings, the change
check's lists, importing dlt); `load` includes pruning superseded test cases; `publish` includes remembering the
load's fingerprint (a few milliseconds).
"""

from __future__ import annotations

import re
import time

from pipelines.progress import LoadProgress

MARK = re.compile(r"^\S+ \[\s*([0-9.]+)s\] ([a-z -]+?)(?::|$)", re.MULTILINE)
SUMMARY_SECONDS = re.compile(r" in ([0-9.]+) s\.\s*$", re.MULTILINE)


def marks_from_lines(stderr: str) -> list[tuple[str, float]]:
    return [(name, float(elapsed)) for elapsed, name in MARK.findall(stderr)]


def summary_seconds(stdout: str) -> float | None:
    found = SUMMARY_SECONDS.findall(stdout)
    return float(found[-1]) if found else None


def durations(marks: list[tuple[str, float]], end: float) -> dict[str, float]:
    """Seconds per stage (summed when a stage recurs), `setup` first."""
    if not marks:
        return {}
    result = {"setup": marks[0][1]}
    for (name, started), (_, finished) in zip(marks, [*marks[1:], ("end", end)], strict=True):
        result[name] = result.get(name, 0.0) + max(finished - started, 0.0)
    return result


def describe(stage_seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in stage_seconds.items())


class RecordingProgress(LoadProgress):
    """A silent progress that keeps the stage marks, for a load run in-process."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()
        self.marks: list[tuple[str, float]] = []

    def stage(self, name: str, detail: str = "") -> None:
        self.marks.append((name, time.monotonic() - self.started))

    def durations(self) -> dict[str, float]:
        return durations(self.marks, time.monotonic() - self.started)
