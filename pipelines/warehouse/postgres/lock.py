"""One load at a time per PostgreSQL database, from any number of hosts, and a load that lost its lock writes
nothing more.

The lock is a session-level advisory lock on a connection of its own (keepalives on, idle timeouts off for that
session). A session can still end under the load (a server restart, pg_terminate_backend), and the lock with it, so
the lock alone proves nothing later on. Hence the fence: whoever takes the lock bumps an epoch (a row in
benchmarks_state.load_fence), and every write of ours (each dlt job, each of our transactions, the publish) first
checks, in its own transaction and holding the row FOR SHARE, that the epoch is still its own and that its lock
session still holds the lock. A newer load's bump waits for those transactions to end; after it, every check fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipelines.errors import BenchmarksEtlError, WarehouseError
from pipelines.warehouse.file_lock import LoadAlreadyRunning, LoadLockLost
from pipelines.warehouse.postgres.state import LOCK_KEY, STATE_SCHEMA, ensure_state_tables

LOCK_SESSION_OPTIONS = "-c idle_session_timeout=0 -c idle_in_transaction_session_timeout=0 -c statement_timeout=0"
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
# (whether this load's lock session still holds the lock, the epoch now, whether the server restarted since)
FENCE_STATE = (
    "select exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.granted and l.objsubid = 2 "
    "and l.classid = %s and l.objid = %s and l.pid = %s and l.database = (select oid from pg_database "
    "where datname = current_database())), f.epoch, pg_postmaster_start_time() > %s "
    f"from {STATE_SCHEMA}.load_fence f where f.id = 1 for share of f"
)


@dataclass(frozen=True)
class Fence:
    """This load's epoch, the server pid of its lock session and when (server time) it took the lock."""

    epoch: int
    lock_pid: int
    taken_at: Any
    location: str

    def check(self, cursor: Any) -> None:
        """LoadLockLost unless this load still holds the lock; run it inside the transaction it guards. After a
        server restart that no other load followed yet, a WarehouseError (exit 6) saying so instead."""
        try:
            cursor.execute(FENCE_STATE, [*LOCK_KEY, self.lock_pid, self.taken_at])
            held, epoch, restarted = cursor.fetchone()
        except Exception as exc:  # noqa: BLE001 - the connection or the server went away: the lock may have too
            if self.still_held():
                raise
            raise self.lost() from exc
        if not (held and epoch == self.epoch):
            raise self.lost(restarted=bool(restarted) and epoch == self.epoch)

    def still_held(self) -> bool:
        return ACTIVE is self and _lost is None

    def lost(self, restarted: bool = False) -> BenchmarksEtlError:
        global _lost
        if restarted:
            _lost = WarehouseError(
                f"The PostgreSQL server at {self.location} restarted during the load (its sessions, this load's lock "
                "among them, ended); the load stopped without writing more and readers keep the previous load. "
                "Run it again."
            )
        else:
            _lost = LoadLockLost(
                f"This load lost its lock on {self.location} (its lock session ended: a server restart, "
                "pg_terminate_backend or a timeout), so another load may be running; it stopped without writing "
                "more. Run it again."
            )
        return _lost


ACTIVE: Fence | None = None  # the fence of the load this process runs (one at a time)
_lost: BenchmarksEtlError | None = None


def check_active_fence(cursor: Any) -> None:
    """Inside dlt's jobs and our transactions: LoadLockLost when this process's load lost its lock."""
    if _lost is not None:
        raise _lost
    if ACTIVE is not None:
        ACTIVE.check(cursor)


def lost_lock() -> BenchmarksEtlError | None:
    return _lost


@contextmanager
def held_lock(connect: Callable[..., Any], location: str) -> Iterator[Fence]:
    """Take the lock and bump the epoch; LoadAlreadyRunning when another load holds it. A failure while held
    becomes LoadLockLost when the lock was lost meanwhile (whatever broke first, that is the cause); a failure of the
    warehouse itself (WarehouseError) only when another load has taken the lock since, not after a bare restart."""
    global ACTIVE, _lost
    with connect(application_name="benchmarks-etl load lock", options=LOCK_SESSION_OPTIONS, **KEEPALIVES) as raw:
        cursor = raw.cursor()
        cursor.execute("select pg_try_advisory_lock(%s, %s), pg_backend_pid()", list(LOCK_KEY))
        taken, pid = cursor.fetchone()
        if not taken:
            raise LoadAlreadyRunning(f"Another load into {location} is running ({_holder(cursor)}); this one exits "
                                     "without changes.")
        ensure_state_tables(cursor)
        cursor.execute(f"update {STATE_SCHEMA}.load_fence set epoch = epoch + 1, holder = %s, taken_at = now() "
                       "where id = 1 returning epoch, taken_at", [f"pid {pid}"])
        epoch, taken_at = cursor.fetchone()
        ACTIVE, _lost = Fence(epoch, pid, taken_at, location), None
        try:
            yield ACTIVE
        except BaseException as exc:
            if _lost is None and not isinstance(exc, LoadAlreadyRunning) and not _lock_session_alive(raw) \
                    and (not isinstance(exc, WarehouseError) or _taken_over(connect, ACTIVE)):
                ACTIVE.lost()
            if _lost is not None and exc is not _lost:
                raise _lost from exc
            raise
        finally:
            ACTIVE = None


def _taken_over(connect: Callable[..., Any], fence: Fence) -> bool:
    """Whether another load has taken the lock since this one did (the epoch moved on). A failure of the warehouse
    itself (exit 6: a server restart, a package the next load already cleared away) then has that as its cause."""
    try:
        with connect(application_name="benchmarks-etl load lock check") as raw, raw.cursor() as cursor:
            cursor.execute(f"select epoch from {STATE_SCHEMA}.load_fence where id = 1")
            row = cursor.fetchone()
    except Exception:  # noqa: BLE001 - the server cannot say: keep the failure as it is
        return False
    return row is not None and row[0] != fence.epoch


def _lock_session_alive(raw: Any) -> bool:
    try:
        with raw.cursor() as cursor:
            cursor.execute("select 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means the session is gone
        return False


def _holder(cursor: Any) -> str:
    cursor.execute(
        "select a.pid, coalesce(host(a.client_addr), 'a local socket') from pg_locks l join pg_stat_activity a "
        "on a.pid = l.pid where l.locktype = 'advisory' and l.classid = %s and l.objid = %s and l.granted "
        "and l.database = (select oid from pg_database where datname = current_database())",
        list(LOCK_KEY),
    )
    holder = cursor.fetchone()
    return f"server pid {holder[0]}, connected from {holder[1]}" if holder else "unknown"
