"""PostgreSQL as the warehouse engine: one database many readers share, loads from any host.

dlt loads the raw tables (schema benchmarks_raw) in place, and the views are re-created in benchmarks_stg and
benchmarks_marts, which readers are not meant to read. What readers read, the schema `analytics`, holds tables:
`publish` refills every one of them from its view in benchmarks_marts in one transaction (DELETE and INSERT, no
DDL unless a view's columns changed). PostgreSQL's MVCC does the rest: a dashboard query sees the whole previous
state until that transaction commits and the whole new one after, never blocks a load and is never blocked by one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from pipelines import interrupts, settings
from pipelines.errors import ConfigError, WarehouseError
from pipelines.tables import ColumnType
from pipelines.warehouse.attempts import LoadAttempt
from pipelines.warehouse.engine import Names
from pipelines.warehouse.introspect import table_exists, view_names
from pipelines.warehouse.postgres import lock as pg_lock
from pipelines.warehouse.postgres import state as pg_state
from pipelines.warehouse.postgres.connection import PgConnection, raw_connection, server_errors
from pipelines.warehouse.postgres.publish import PUBLISH_SETTINGS, publish_views

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
CREDENTIALS_HELP = (
    "set DESTINATION__POSTGRES__CREDENTIALS=postgresql://user:password@host:port/database, or `credentials` under "
    "[destination.postgres] in .dlt/secrets.toml"
)


class PostgresDatabase:
    """The `Engine` for one PostgreSQL database (see pipelines/warehouse/engine.py)."""

    name = "PostgreSQL"
    dialect = "postgres"
    type_names = TYPE_NAMES
    row_id = "ctid"
    # None: dlt chooses per table (pg_destination.py): Arrow batches as CSV through COPY, the lists as INSERT
    loader_file_format = None
    mart_views_schema = MART_VIEWS_SCHEMA
    stores_nul_characters = False  # text and jsonb refuse U+0000: the source replaces it (nul_text.py)

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials  # dlt's PostgresCredentials; never printed (location has no password)
        self.location = (
            f"postgresql://{credentials.username}@{credentials.host}:{credentials.port}/{credentials.database}"
        )
        self.working_dir = state_home() / f"postgres-{_slug(credentials.host)}-{credentials.port}-" \
                                          f"{_slug(credentials.database)}"

    @classmethod
    def from_dlt_config(cls, *, reading: bool = False) -> PostgresDatabase:
        """Credentials the dlt way: DESTINATION__POSTGRES__CREDENTIALS or [destination.postgres] in secrets.toml.
        `reading`: the read role's (`read_credentials`, same places) when set, never the loader's then."""
        from pipelines.load.dlt_runtime import use_current_configuration

        use_current_configuration()
        if reading:
            read_credentials = _resolve_credentials("read_credentials", required=False)
            if read_credentials is not None:
                return cls(read_credentials)
        return cls(_resolve_credentials("credentials", required=True))

    @property
    def driver_error(self) -> type[Exception]:
        import psycopg2

        return psycopg2.Error

    def configure(self, load_settings: dict[str, Any]) -> None:
        """No settings of its own beyond the credentials."""

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
        """Through a server-side cursor, in a read-only transaction that ends when the reader is exhausted."""
        import pyarrow as pa

        connection.raw.autocommit = False
        cursor = connection.raw.cursor(name="benchmarks_arrow_reader")
        cursor.execute(sql)
        rows = cursor.fetchmany(batch_rows)
        schema = pa.schema([(column.name, _arrow_type(column.type_code)) for column in cursor.description])

        def batches(rows: list[tuple]) -> Iterator[pa.RecordBatch]:
            try:
                while rows:
                    columns = zip(zip(*rows, strict=True), schema, strict=True)
                    yield pa.RecordBatch.from_arrays([_arrow_array(values, field.type) for values, field in columns],
                                                     schema=schema)
                    rows = cursor.fetchmany(batch_rows)
            finally:
                cursor.close()
                connection.raw.rollback()
                connection.raw.autocommit = True

        return pa.RecordBatchReader.from_batches(schema, batches(rows))

    @contextmanager
    def _connect(self, *, read_only: bool = False, application_name: str = "benchmarks-etl") -> Iterator[PgConnection]:
        """A connection of the load (server failures inside become one-line WarehouseErrors) or, read_only, a
        session whose every transaction is read-only."""
        options = "-c default_transaction_read_only=on" if read_only else ""
        # Ctrl-C / SIGTERM cancel the statement the server is running for us (pipelines/interrupts.py)
        with self._raw(application_name=application_name, options=options) as raw, interrupts.interruptible(raw.cancel):
            if read_only:
                yield PgConnection(raw)
                return
            with server_errors(self.location, "loading"):
                yield PgConnection(raw)

    def _raw(self, **parameters: Any) -> Any:
        return raw_connection(self.credentials, self.location, **parameters)


def _resolve_credentials(key: str, *, required: bool) -> Any:
    """dlt's PostgresCredentials under destination.postgres.<key> (a URL or a table of fields); None when that key
    is not set and not required. The loader's are resolved by dlt's section lookup, as dlt itself does."""
    import dlt
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.exceptions import ConfigurationException
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    try:
        if required:
            return resolve_configuration(PostgresCredentials(), sections=("destination", "postgres", key))
        value = dlt.secrets.get(f"destination.postgres.{key}")  # no fallback to the loader's credentials
        return None if value is None else resolve_configuration(PostgresCredentials(), explicit_value=value)
    except ConfigurationException:
        help_text = CREDENTIALS_HELP if required else (
            f"set {settings.POSTGRES_READ_CREDENTIALS_SETTING}=postgresql://user:password@host:port/database"
        )
        raise ConfigError(f"No usable PostgreSQL {key.replace('_', ' ')}: {help_text}.") from None


def state_home() -> Path:
    """Where loads into a server keep their local working state (dlt's pending packages, the change check's
    record, the last attempt): $XDG_STATE_HOME/benchmarks-etl, by default ~/.local/state/benchmarks-etl."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "benchmarks-etl"


def _table_names(connection: PgConnection, schema: str) -> list[str]:
    return view_names(connection, schema, kinds=("BASE TABLE",))


def _arrow_type(type_code: int) -> Any:
    """PostgreSQL's type OIDs as Arrow types; anything else travels as text."""
    import pyarrow as pa

    return {
        16: pa.bool_(), 20: pa.int64(), 21: pa.int64(), 23: pa.int64(), 700: pa.float64(), 701: pa.float64(),
        1700: pa.float64(), 1114: pa.timestamp("us"), 1184: pa.timestamp("us", tz="UTC"), 1082: pa.date32(),
    }.get(type_code, pa.string())


def _arrow_array(values: tuple, arrow_type: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_floating(arrow_type):  # numeric arrives as Decimal
        values = tuple(None if value is None else float(value) for value in values)
    elif pa.types.is_string(arrow_type):  # json as dicts and lists, anything unmapped as its text
        values = tuple(value if value is None or isinstance(value, str) else _as_text(value) for value in values)
    return pa.array(values, type=arrow_type)


def _as_text(value: Any) -> str:
    import json

    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))
