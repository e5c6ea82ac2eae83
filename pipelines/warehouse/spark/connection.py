"""A Spark Connect session as the DB-API style connection the shared modules use: `execute(sql, parameters)` with
`?` placeholders, returning a cursor with `fetchall`, `fetchone` and `description`."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pipelines.errors import WarehouseError

# Every endpoint evaluates dates in UTC (the cluster should say so too: docs/spark.md); ANSI mode stays on (Spark 4's
# default), so a view that would divide by zero or cast badly fails instead of returning NULL.
SESSION_SETTINGS = {"spark.sql.session.timeZone": "UTC"}
DEFAULT_CONNECT_PORT = 15002  # Spark Connect's, when the URL names none
REACH_TIMEOUT_SECONDS = 10.0


class SparkCursor:
    """The rows of one statement, fetched whole through Arrow (statements here return few rows)."""

    def __init__(self, table: Any) -> None:
        self._rows = [tuple(row.values()) for row in table.to_pylist()]
        self.description = [(name, None, None, None, None, None, None) for name in table.column_names]

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None


class SparkConnection:
    """One Spark Connect session."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> SparkCursor:
        return SparkCursor(self.session.sql(sql, args=list(parameters) if parameters else None).toArrow())

    def relation_names(self, schema: str, kinds: tuple[str, ...]) -> list[str]:
        """The views and tables of `schema` in name order, of the information_schema `kinds` ("VIEW", "BASE TABLE")
        asked for; Spark has no information_schema (pipelines/warehouse/introspect.py)."""
        if not self.session.catalog.databaseExists(schema):
            return []
        return sorted(table.name for table in self.session.catalog.listTables(schema)
                      if ("VIEW" if table.tableType == "VIEW" else "BASE TABLE") in kinds and not table.isTemporary)


@contextmanager
def connected(connect_url: str, location: str) -> Iterator[SparkConnection]:
    """A new session on the endpoint, stopped at the end; an endpoint that cannot be reached is a WarehouseError."""
    from pyspark.sql import SparkSession

    # pyspark logs every failed statement with its JVM stack trace at ERROR; our errors are one line
    for logger in ("pyspark", "SQLQueryContextLogger"):
        logging.getLogger(logger).setLevel(logging.CRITICAL)
    _check_reachable(connect_url, location)
    try:
        session = SparkSession.builder.remote(connect_url).create()
        for key, value in SESSION_SETTINGS.items():
            session.conf.set(key, value)
    except Exception as exc:  # noqa: BLE001 - grpc's and pyspark's errors alike
        raise WarehouseError(f"Cannot reach the Spark Connect server for {location}: {_first_line(exc)}") from None
    try:
        yield SparkConnection(session)
    finally:
        session.stop()


def _check_reachable(connect_url: str, location: str) -> None:
    """Spark Connect's client retries an endpoint it cannot reach for about ten minutes (its default retry policy);
    a load or a reader must fail at once, with one line. Only the host and port are named: the URL may hold a token."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(connect_url)
        host, port = parts.hostname, parts.port or DEFAULT_CONNECT_PORT
    except ValueError as exc:
        raise WarehouseError(f"The Spark Connect URL for {location} is not sc://host:port: {exc}") from None
    if parts.scheme != "sc" or not host:
        raise WarehouseError(f"The Spark Connect URL for {location} is not sc://host:port.")
    try:
        socket.create_connection((host, port), timeout=REACH_TIMEOUT_SECONDS).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        message = f"Cannot reach the Spark Connect server at {host}:{port} for {location}: {reason}."
        raise WarehouseError(message) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
