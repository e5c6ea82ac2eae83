"""PostgreSQL as the warehouse engine: one database many readers share, loads from any host.

dlt loads the raw tables (schema benchmarks_raw) in place, and the views are re-created in benchmarks_stg and
benchmarks_marts, which readers are not meant to read. What readers read, the schema `analytics`, holds tables:
`publish` refills every one of them from its view in benchmarks_marts in one transaction (DELETE and INSERT, no
DDL unless a view's columns changed). PostgreSQL's MVCC does the rest: a dashboard query sees the whole previous
state until that transaction commits and the whole new one after, never blocks a load and is never blocked by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

from pipelines.errors import WarehouseError
from pipelines.tables.declaration import ColumnType
from pipelines.warehouse import settings
from pipelines.warehouse.attempts import LoadAttempt
from pipelines.warehouse.engine import Names
from pipelines.warehouse.introspect import table_exists, view_names
from pipelines.warehouse.paths import state_home
from pipelines.warehouse.postgres import lock as pg_lock
from pipelines.warehouse.postgres import state as pg_state
from pipelines.warehouse.postgres.connection import PgConnection, connected, raw_connection, server_errors
from pipelines.warehouse.postgres.publish import PUBLISH_SETTINGS, publish_views
from pipelines.warehouse.sql_steps import TransactionalSqlSteps

TYPE_NAMES = {
    ColumnType.BIGINT: "bigint",
    ColumnType.TEXT: "varchar",
    ColumnType.DOUBLE: "double precision",
    ColumnType.TIMESTAMP: "timestamp with time zone",
    ColumnType.JSON: "jsonb",
}
# The views behind analytics' tables; internal, like benchmarks_stg (their rows change while a load runs).
MART_VIEWS_SCHEMA = "benchmarks_marts"
__all__ = ["MART_VIEWS_SCHEMA", "PUBLISH_SETTINGS", "PostgresDatabase"]


class PostgresDatabase(TransactionalSqlSteps):
    """The `Engine` for one PostgreSQL database (see pipelines/warehouse/engine.py)."""

    name = "PostgreSQL"
    dialect = "postgres"
    type_names = TYPE_NAMES
    row_id = "ctid"
    # None: dlt chooses per table (postgres/destination.py): Arrow batches as CSV through COPY, the lists as INSERT
    loader_file_format = None
    mart_views_schema = MART_VIEWS_SCHEMA
    stores_nul_characters = False  # text and jsonb refuse U+0000: the source replaces it (nul_text.py)

    def __init__(self, credentials: Any) -> None:
        """`credentials`: dlt's PostgresCredentials, resolved for the command (postgres/configuration.py)."""
        self.credentials = credentials  # dlt's PostgresCredentials; never printed (location has no password)
        self.location = (
            f"postgresql://{credentials.username}@{credentials.host}:{credentials.port}/{credentials.database}"
        )
        self.working_dir = state_home() / f"postgres-{_slug(credentials.host)}-{credentials.port}-" \
                                          f"{_slug(credentials.database)}"

    @property
    def driver_error(self) -> type[Exception]:
        import psycopg2

        return psycopg2.Error

    def load_settings(self) -> dict[str, Any]:
        """Nothing beyond the credentials, which name the database and so its working folder."""
        return {}

    @contextmanager
    def load_lock(self) -> Iterator[None]:
        """A session-level advisory lock on a connection of its own, with a fence every write checks
        (pipelines/warehouse/postgres/lock.py). PostgreSQL releases it when the session ends, so a load killed on
        any host never blocks the next one."""
        with server_errors(self.location, "taking the load lock"), pg_lock.held_lock(self._raw, self.location):
            yield

    def record_attempt(self, attempt: LoadAttempt) -> None:
        """In benchmarks_state.load_attempts, in a transaction of its own, so `status` on any host sees it. A load
        that lost its lock records nothing (the load that took it owns the record now); a server that cannot be
        reached is not this load's failure to report: its last record then says it is running, with no lock held."""
        fence = pg_lock.ACTIVE
        if fence is None or pg_lock.lost_lock() is not None:
            return
        with suppress(WarehouseError, self.driver_error), self._raw() as raw:
            pg_state.record_attempt(raw.cursor(), fence.epoch, attempt)

    def recorded_attempts(self) -> tuple[LoadAttempt | None, Any, bool] | None:
        """(the last attempt, when the last successful load finished, whether the last is still running) as the
        database records them; None when it records none yet (a warehouse loaded by an older version)."""
        with self.connect_published() as connection:
            attempt, succeeded_at, running = pg_state.read_attempts(connection.raw.cursor())
        return None if attempt is None else (attempt, succeeded_at, running)

    def prepare_for_load(self) -> str | None:
        self.working_dir.mkdir(parents=True, exist_ok=True)
        return None

    def dlt_destination(self) -> Any:
        from pipelines.warehouse.postgres.destination import benchmarks_postgres

        return benchmarks_postgres(credentials=self.credentials)

    def fit_memory_to(self, largest_rows_bytes: int) -> None:
        """Nothing: the server has its own memory settings."""

    @contextmanager
    def connect_for_load(self) -> Iterator[PgConnection]:
        """A connection for the load's own writes: it checks that this load still holds its lock first, and again
        inside every transaction it begins."""
        with self._connect() as connection:
            pg_lock.check_active_fence(connection.raw.cursor())
            connection.on_begin = pg_lock.check_active_fence
            yield connection

    def compact(self) -> None:
        """Nothing: roles decide who reads what (docs/postgres.md), a deleted row is never readable through SQL, and
        autovacuum reclaims its space."""

    def refresh_statistics(self) -> None:
        """ANALYZE the raw tables. Right after dlt's COPY they have no statistics until autovacuum gets to them, and
        without statistics the planner may join a million test cases by nested loop (at the large scale one
        analytics view ran for more than 8 minutes; perf/RESULTS-postgres.md)."""
        with self.connect_for_load() as connection:
            tables = [Names().raw(table) for table in _table_names(connection, settings.RAW_SCHEMA)]
            if tables:
                connection.execute(f"analyze {', '.join(tables)}")

    def publish(self) -> None:
        """Refill every analytics table from its view in benchmarks_marts, all in one transaction
        (pipelines/warehouse/postgres/publish.py); a failure on the server is one line naming its cause."""
        with self._connect() as connection, server_errors(self.location, "publishing"):
            publish_views(connection, view_names(connection, MART_VIEWS_SCHEMA), MART_VIEWS_SCHEMA)

    def out_of_space_message(self) -> str:
        return (
            f"The PostgreSQL server at {self.location} ran out of disk space during the load; the warehouse keeps "
            "its previous contents. Free space on the server and run the load again."
        )

    def published_identity(self) -> list[int]:
        """dlt's load records (every load that wrote data adds one) and how many analytics tables there are;
        empty when nothing was published yet."""
        with self._connect() as connection:
            tables = len(_table_names(connection, settings.ANALYTICS_SCHEMA))
            if not tables or not table_exists(connection, settings.RAW_SCHEMA, "_dlt_loads"):
                return []
            loads, newest = connection.execute(
                "select count(*), cast(coalesce(extract(epoch from max(inserted_at)) * 1000000, 0) as bigint) "
                f"from {Names().raw('_dlt_loads')}"
            ).fetchone()
        return [tables, int(loads), int(newest)]

    @contextmanager
    def connect_published(self) -> Iterator[PgConnection]:
        """A session whose every transaction is read-only (default_transaction_read_only)."""
        with self._connect(read_only=True) as connection:
            exists = connection.execute(
                "select count(*) from information_schema.tables where table_schema = ?", [settings.ANALYTICS_SCHEMA]
            ).fetchone()[0]
            if not exists:
                raise WarehouseError(
                    f"No warehouse in {self.location}; run `benchmarks-etl load --destination postgres` first."
                )
            yield connection

    def names(self, connection: Any) -> Names:
        return Names()

    def function_definition(self, name: str, parameters: list[str], body: str) -> str:
        """An SQL function over doubles (PostgreSQL's `/` on integers would truncate), immutable so the planner may
        inline it."""
        arguments = ", ".join(f"{parameter} double precision" for parameter in parameters)
        return (f"create or replace function {name}({arguments}) returns double precision language sql immutable "
                f"as $function$ select {body} $function$")

    def arrow_reader(self, connection: PgConnection, sql: str, batch_rows: int) -> Any:
        """Through a server-side cursor, in a read-only transaction that ends when the reader is exhausted
        (pipelines/warehouse/postgres/rows_to_arrow.py)."""
        from pipelines.warehouse.postgres.rows_to_arrow import arrow_reader

        return arrow_reader(connection.raw, sql, batch_rows)

    def _connect(self, *, read_only: bool = False) -> AbstractContextManager[PgConnection]:
        return connected(self.credentials, self.location, read_only=read_only)

    def _raw(self, **parameters: Any) -> Any:
        return raw_connection(self.credentials, self.location, **parameters)




def _table_names(connection: PgConnection, schema: str) -> list[str]:
    return view_names(connection, schema, kinds=("BASE TABLE",))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))
