"""A small record of the latest load attempt, kept beside the warehouse so `status` can report failures too.

dlt records only the loads that succeeded; monitoring also needs to know that last night's load failed and why.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.safe_text import terminal_text
from pipelines.warehouse import paths


@dataclass
class LoadAttempt:
    started_at: str
    status: str  # "running", "succeeded" or "failed"
    finished_at: str | None = None
    summary: str | None = None
    error: str | None = None
    pid: int | None = None
    # True: the load published new data; False: nothing changed upstream, nothing written; None: not known (failed,
    # running, or recorded by an older version). `check --since-last-load` tells by it what arrived in the last load.
    wrote_data: bool | None = None


def attempt_path(working_dir: Path) -> Path:
    """In the warehouse's working folder (`Engine.working_dir`)."""
    return working_dir / "last_attempt.json"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def attempt_record(attempt: LoadAttempt) -> dict[str, Any]:
    """The attempt as stored. The error and summary are kept as one line of literal text (safe_text.terminal_text):
    an API's error body cannot smuggle control codes into `status`."""
    record = asdict(attempt)
    for key in ("error", "summary"):
        if record[key] is not None:
            record[key] = terminal_text(record[key])
    return record


def attempt_from(record: dict[str, Any]) -> LoadAttempt | None:
    """A stored record as an attempt; None for anything else (extra keys, such as a lake's `host`, left out)."""
    try:
        return LoadAttempt(**{name: record[name] for name in LoadAttempt.__dataclass_fields__ if name in record})
    except (TypeError, ValueError):  # a required field missing: not a record of ours
        return None


def write_attempt(working_dir: Path, attempt: LoadAttempt) -> None:
    """Write atomically, so a reader never sees half a record."""
    paths.write_text_atomically(attempt_path(working_dir), json.dumps(attempt_record(attempt), indent=2))


def read_attempt(working_dir: Path) -> LoadAttempt | None:
    path = attempt_path(working_dir)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent or unreadable (permissions)
        return None
    return attempt_from(record) if isinstance(record, dict) else None
