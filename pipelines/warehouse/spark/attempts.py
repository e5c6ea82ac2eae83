"""Load attempts recorded in the lake, so that `status` on every host sharing it sees the same: a load that failed or
is running on another host, and when the last successful load finished.

One small file per attempt, named by when its lease was taken and the lease's own name (so the names sort by start,
and the file tells which lease to look at to know whether the load still runs), each rewritten whole as the attempt
moves on; the newest ATTEMPTS_KEPT are kept. The last successful attempt is also copied to one file of its own, so
that a run of failures longer than that never hides when the warehouse was last loaded.

    <lake>/benchmarks_state/attempts/<lease start, ns>-<lease name>.json
    <lake>/benchmarks_state/last_success.json
"""

from __future__ import annotations

import time
from datetime import datetime

from pipelines.warehouse.attempts import LoadAttempt, attempt_from, attempt_record
from pipelines.warehouse.spark.lake import Lake
from pipelines.warehouse.spark.lease import Lease, is_standing

STATE = "benchmarks_state"
ATTEMPTS = (STATE, "attempts")
LAST_SUCCESS = (STATE, "last_success.json")
ATTEMPTS_KEPT = 100


def record_attempt(lake: Lake, lease: Lease, attempt: LoadAttempt) -> None:
    """Write this load's record (written only by the lease's holder, so never by two loads at once)."""
    record = {**attempt_record(attempt), "host": lease.host, "lease": lease.name}
    lake.write_json(lake.path(*ATTEMPTS, f"{lease.started_ns:020d}-{lease.name}"), record)
    if attempt.status == "succeeded":
        lake.write_json(lake.path(*LAST_SUCCESS), record)
    for old in _attempt_files(lake)[:-ATTEMPTS_KEPT]:
        lake.remove(old)


def recorded_attempts(lake: Lake) -> tuple[LoadAttempt, datetime | None, bool] | None:
    """(the newest attempt, when the last successful one finished, whether the newest still runs: its lease stands);
    None when the lake records no attempt (nothing loaded yet, or only by a version that did not record them)."""
    files = _attempt_files(lake)
    newest = lake.read_json(files[-1]) if files else None
    attempt = attempt_from(newest) if isinstance(newest, dict) else None
    if attempt is None:
        return None
    success = lake.read_json(lake.path(*LAST_SUCCESS))
    finished = success.get("finished_at") if isinstance(success, dict) else None
    running = attempt.status == "running" and is_standing(lake, str(newest.get("lease")), time.time())
    return attempt, datetime.fromisoformat(finished) if finished else None, running


def _attempt_files(lake: Lake) -> list[str]:
    """Every attempt file, oldest first (their names start with the lease's start)."""
    return lake.json_files(lake.path(*ATTEMPTS))
