"""Connections to the PostgreSQL warehouse (psycopg2 behind the DB-API interface the engine-neutral modules use),
and what a server-side failure means, in one line.

psycopg2 raises by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html); the classes a load can
meet on a healthy setup are named here, so the user reads the cause (disk full, permission, timeout, lost
connection) instead of a driver's class name."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from pipelines import interrupts
from pipelines.errors import OutOfSpaceError, WarehouseError, first_line

# SQLSTATE (or its two-character class) -> what happened, for the user.
CAUSES = {
    "53100": "the server's disk is full",
    "53200": "the server ran out of memory",
    "53": "the server ran out of resources",
    "42501": "permission denied",
    "57014": "a statement was cancelled (statement_timeout, or cancelled by an administrator)",
    "55P03": "a lock could not be taken in time (lock_timeout)",
    "57P01": "the server was shut down or the session terminated by an administrator",
    "57P02": "the server crashed",
    "57P03": "the server is starting up or shutting down",
    "57": "the server stopped the session",
    "08": "the connection to the server was lost",
    "40P01": "a deadlock with another session",
    "40": "a transaction was rolled back by the server",
    "25006": "the session is read-only",
}
ADVICE = {
    "53100": "free space on the server and run the load again",
    "42501": "grant the loader the privilege, or remove the object it cannot change",
    "57014": "raise or unset statement_timeout for the loader's role",
}


class PgConnection:
    """A psycopg2 connection in autocommit mode with the interface the engine-neutral modules use:
    `execute(sql, parameters)` with `?` placeholders, returning the cursor. Transactions are explicit
    (`begin transaction` ... `commit`), as on DuckDB."""

    def __init__(self, raw: Any, on_begin: Callable[[Any], None] | None = None) -> None:
        self.raw = raw
        self.on_begin = on_begin  # run inside every transaction this connection begins (the lock's fence)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        if self.on_begin is not None and sql.strip().lower() == "begin transaction":
            self.raw.cursor().execute(sql)
            self.on_begin(self.raw.cursor())
            return self.raw.cursor()
        cursor = self.raw.cursor()
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql.replace("%", "%%").replace("?", "%s"), list(parameters))
        return cursor

    def rollback_quietly(self) -> None:
        """Roll back if the session is still there; a lost session has rolled back already."""
        with suppress(Exception):  # the failure being handled is the one to report
            self.execute("rollback")


def cause_of(exc: BaseException) -> tuple[str, str | None]:
    """(what happened, the SQLSTATE) for a psycopg2 error; a closed connection (InterfaceError) counts as lost."""
    import psycopg2

    code = getattr(exc, "pgcode", None)
    if code:
        return CAUSES.get(code) or CAUSES.get(code[:2]) or first_line(exc), code
    if isinstance(exc, psycopg2.InterfaceError | psycopg2.OperationalError):
        return CAUSES["08"], "08000"
    return first_line(exc), None


def server_failure(exc: BaseException, location: str, action: str) -> WarehouseError:
    """One line: where, during what, the cause, the server's own words, and that readers keep the previous load."""
    cause, code = cause_of(exc)
    detail = first_line(exc)
    said = "" if detail == cause or detail in ("connection already closed", "") else f" ({detail})"
    advice = ADVICE.get(code or "", "run the load again once the server is healthy")
    kind = OutOfSpaceError if code == "53100" else WarehouseError
    return kind(f"PostgreSQL at {location} failed while {action}: {cause}{said}; readers keep the previous load; "
                f"{advice}.")


@contextmanager
def server_errors(location: str, action: str) -> Iterator[None]:
    """psycopg2's errors raised inside as one-line WarehouseErrors (exit 6) naming the cause."""
    import psycopg2

    try:
        yield
    except psycopg2.Error as exc:
        raise server_failure(exc, location, action) from exc


@contextmanager
def raw_connection(credentials: Any, location: str, *, application_name: str = "benchmarks-etl",
                   options: str = "", **parameters: Any) -> Iterator[Any]:
    """A psycopg2 connection in autocommit mode; WarehouseError naming the database when it cannot connect."""
    import psycopg2

    try:
        raw = psycopg2.connect(
            host=credentials.host, port=credentials.port, user=credentials.username, password=credentials.password,
            dbname=credentials.database, connect_timeout=credentials.connect_timeout,
            application_name=application_name, options=options, **parameters,
        )
    except psycopg2.Error as exc:
        raise WarehouseError(f"Cannot connect to {location}: {first_line(exc)}") from None
    raw.autocommit = True
    try:
        yield raw
    finally:
        raw.close()


@contextmanager
def connected(credentials: Any, location: str, *, read_only: bool = False,
              application_name: str = "benchmarks-etl") -> Iterator[PgConnection]:
    """A connection of the load (server failures inside become one-line WarehouseErrors) or, read_only, a session
    whose every transaction is read-only. Ctrl-C / SIGTERM cancel the statement the server is running for us
    (pipelines/interrupts/)."""
    options = "-c default_transaction_read_only=on" if read_only else ""
    with raw_connection(credentials, location, application_name=application_name, options=options) as raw, \
            interrupts.interruptible(raw.cancel):
        if read_only:
            yield PgConnection(raw)
            return
        with server_errors(location, "loading"):
            yield PgConnection(raw)
