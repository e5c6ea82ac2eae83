"""`status`: is the warehouse fresh and was the last load good? Made for humans and for monitoring (exit code)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.errors import first_line
from pipelines.readers.durations import duration_text
from pipelines.readers.published import open_read_only
from pipelines.safe_text import json_text, terminal_text
from pipelines.warehouse import settings
from pipelines.warehouse.attempts import LoadAttempt, read_attempt
from pipelines.warehouse.destinations import Warehouse, as_engine
from pipelines.warehouse.introspect import table_exists, view_row_counts


@dataclass
class WarehouseStatus:
    location: str  # the file, or the database URL without its password
    last_success_at: datetime | None
    loads: int
    view_rows: dict[str, int]
    last_attempt: LoadAttempt | None
    problems: list[str] = field(default_factory=list)

    def age(self, now: datetime) -> timedelta | None:
        return None if self.last_success_at is None else now - self.last_success_at


def collect_status(
    warehouse: Warehouse, *, max_age: timedelta | None = None, now: datetime | None = None
) -> WarehouseStatus:
    now = now or datetime.now(UTC)
    engine = as_engine(warehouse)
    with open_read_only(engine) as (connection, names):
        last_success_at, loads = None, 0
        if table_exists(connection, settings.RAW_SCHEMA, "_dlt_loads"):
            last_success_at, loads = connection.execute(
                f"select max(inserted_at), count(*) from {names.raw('_dlt_loads')} where status = 0"
            ).fetchone()
        view_rows = view_row_counts(connection, names)
    recorded = _recorded_attempts(engine)
    if recorded is not None:  # the warehouse's own record (PostgreSQL): the same from every host
        attempt, recorded_success, running = recorded
        successes = [recorded_success.astimezone(UTC)] if recorded_success else []
    else:
        attempt = read_attempt(engine.working_dir)
        running = attempt is not None and attempt.status == "running" and _is_alive(attempt.pid)
        successes = [last_success_at.astimezone(UTC)] if last_success_at else []
        if attempt is not None and attempt.status == "succeeded" and attempt.finished_at:
            # A load that found nothing changed upstream writes nothing to the warehouse, only this record.
            successes.append(datetime.fromisoformat(attempt.finished_at).astimezone(UTC))
    status = WarehouseStatus(
        location=engine.location,
        last_success_at=max(successes, default=None),
        loads=loads,
        view_rows=view_rows,
        last_attempt=attempt,
    )
    if attempt is not None and attempt.status == "failed":
        status.problems.append(f"the last load failed at {attempt.finished_at}: {attempt.error}")
    if attempt is not None and attempt.status == "running" and not running:
        status.problems.append(
            f"the last load (started {attempt.started_at}) was killed before it finished; the next load completes it"
        )
    if status.last_success_at is None:
        status.problems.append("no load has succeeded yet")
    elif max_age is not None and status.age(now) > max_age:
        age, limit = duration_text(status.age(now)), duration_text(max_age)
        status.problems.append(f"the last successful load is {age} old (max {limit})")
    return status


def _recorded_attempts(engine: Any) -> tuple[LoadAttempt | None, datetime | None, bool] | None:
    """The warehouse's record of load attempts, where it keeps one; a record it cannot read is a failed attempt,
    never a healthy one."""
    try:
        return engine.recorded_attempts()
    except (engine.driver_error, OSError) as exc:  # OSError: a lake this host cannot read (Spark)
        unreadable = LoadAttempt(started_at="unknown", status="failed", finished_at="unknown",
                                 error=f"cannot read the record of load attempts: {first_line(exc)}")
        return unreadable, None, False


def render_status(status: WarehouseStatus, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    lines = [f"Warehouse: {status.location}"]
    if status.last_success_at is None:
        lines.append("Last successful load: never")
    else:
        lines.append(
            f"Last successful load: {status.last_success_at:%Y-%m-%d %H:%M:%S} UTC "
            f"({duration_text(status.age(now))} ago); loads that wrote data: {status.loads}"
        )
    attempt = status.last_attempt
    if attempt is not None:
        detail = attempt.summary if attempt.status == "succeeded" else attempt.error
        lines.append(f"Last attempt: {attempt.status} at {attempt.finished_at or attempt.started_at}" +
                     (f" - {detail}" if detail else ""))
    lines.append("Rows per view:")
    lines.extend(f"  analytics.{view:<24} {rows:>12,}" for view, rows in status.view_rows.items())
    lines.append("Health: OK" if not status.problems else "Health: PROBLEM - " + "; ".join(status.problems))
    return "\n".join(terminal_text(line) for line in lines)  # a stored error cannot drive the terminal


def status_json(status: WarehouseStatus, now: datetime | None = None) -> str:
    """The facts `render_status` prints, as one JSON object for monitoring (keys documented in docs/operations.md)."""
    now = now or datetime.now(UTC)
    age = status.age(now)
    record = {
        "warehouse": status.location,
        "healthy": not status.problems,
        "problems": status.problems,
        "last_success_at": status.last_success_at.isoformat() if status.last_success_at else None,
        "age_seconds": round(age.total_seconds(), 3) if age is not None else None,
        "loads": status.loads,
        "last_attempt": asdict(status.last_attempt) if status.last_attempt else None,
        "view_rows": status.view_rows,
    }
    return json_text(json.dumps(record, ensure_ascii=False, indent=2))


def _is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True

