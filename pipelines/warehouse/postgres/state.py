"""What a PostgreSQL warehouse records about its own loads, in a schema of ours (`benchmarks_state`), so that every
host sees the same: the lock's epoch (fencing), each load attempt's outcome (for `status`), and which tables in
`analytics` this project created (the only ones a load may drop or re-create)."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

from pipelines.warehouse.attempts import LoadAttempt

STATE_SCHEMA = "benchmarks_state"
TABLES_DDL = (
    f"create schema if not exists {STATE_SCHEMA}",
    # One row: bumped by every load that takes the lock; a load checks it still holds the epoch it bumped.
    f"create table if not exists {STATE_SCHEMA}.load_fence (id int primary key, epoch bigint not null, "
    "holder text, taken_at timestamptz not null default now())",
    f"insert into {STATE_SCHEMA}.load_fence (id, epoch) values (1, 0) on conflict (id) do nothing",
    f"create table if not exists {STATE_SCHEMA}.load_attempts (epoch bigint primary key, started_at text not null, "
    "status text not null, finished_at text, summary text, error text, host text, pid int)",
    # Added after the table (warehouses recorded by an older version gain it at their next load).
    f"alter table {STATE_SCHEMA}.load_attempts add column if not exists wrote_data boolean",
    f"create table if not exists {STATE_SCHEMA}.analytics_tables (name text primary key, "
    "created_at timestamptz not null default now())",
)
ATTEMPTS_KEPT = 1000


def ensure_state_tables(cursor: Any) -> None:
    """Create our schema and tables when missing (run by the lock holder only, so loads never race on it)."""
    for statement in TABLES_DDL:
        cursor.execute(statement)


def record_attempt(cursor: Any, epoch: int, attempt: LoadAttempt) -> None:
    """Insert or update this load's row (its epoch identifies it); older rows beyond ATTEMPTS_KEPT go."""
    cursor.execute(
        f"insert into {STATE_SCHEMA}.load_attempts (epoch, started_at, status, finished_at, summary, error, host, "
        "pid, wrote_data) values (%s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict (epoch) do update set status = "
        "excluded.status, finished_at = excluded.finished_at, summary = excluded.summary, error = excluded.error, "
        "wrote_data = excluded.wrote_data",
        [epoch, attempt.started_at, attempt.status, attempt.finished_at, attempt.summary, attempt.error,
         socket.gethostname(), attempt.pid, attempt.wrote_data],
    )
    cursor.execute(f"delete from {STATE_SCHEMA}.load_attempts where epoch <= %s", [epoch - ATTEMPTS_KEPT])


def read_attempts(cursor: Any) -> tuple[LoadAttempt | None, datetime | None, bool]:
    """(the newest attempt, when the newest successful one finished, whether the newest is still running: its load
    still holds the lock). (None, None, False) when no load of this version ran yet."""
    cursor.execute("select to_regclass(%s)", [f"{STATE_SCHEMA}.load_attempts"])
    if cursor.fetchone()[0] is None:
        return None, None, False
    cursor.execute(
        # wrote_data read through to_jsonb: a reader may meet a table no load of this version has added it to yet
        f"select a.started_at, a.status, a.finished_at, a.summary, a.error, a.pid, "
        "(to_jsonb(a) ->> 'wrote_data')::boolean, f.epoch = a.epoch "
        f"and exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.granted and l.objsubid = 2 "
        "and l.classid = %s and l.objid = %s and l.database = (select oid from pg_database "
        f"where datname = current_database())) from {STATE_SCHEMA}.load_attempts a, {STATE_SCHEMA}.load_fence f "
        "order by a.epoch desc limit 1",
        list(LOCK_KEY),
    )
    row = cursor.fetchone()
    cursor.execute(f"select max(finished_at) from {STATE_SCHEMA}.load_attempts where status = 'succeeded'")
    succeeded = cursor.fetchone()[0]
    if row is None:
        return None, None, False
    attempt = LoadAttempt(started_at=row[0], status=row[1], finished_at=row[2], summary=row[3], error=row[4],
                          pid=row[5], wrote_data=row[6])
    return attempt, datetime.fromisoformat(succeeded) if succeeded else None, bool(row[7])


# pg_try_advisory_lock(classid, objid): one load per database, whichever host it runs on.
LOCK_KEY = (0x62656E63, 1)  # "benc"
