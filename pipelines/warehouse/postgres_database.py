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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines import settings
from pipelines.benchmarks.tables import ColumnType
from pipelines.errors import ConfigError, WarehouseError, first_line
from pipelines.locking import LoadAlreadyRunning
from pipelines.warehouse.engine import Names
from pipelines.warehouse.introspect import table_exists, view_names

TYPE_NAMES = {
    ColumnType.BIGINT: "bigint",
    ColumnType.TEXT: "varchar",
    ColumnType.DOUBLE: "double precision",
    ColumnType.TIMESTAMP: "timestamp with time zone",
    ColumnType.JSON: "jsonb",
}
# The views behind analytics' tables; internal, like benchmarks_stg (their rows change while a load runs).
MART_VIEWS_SCHEMA = "benchmarks_marts"
# While publish runs the views. Hash joins only: the planner misjudges the views' filters (the latest run per probe)
# as one row and then joins all test cases by nested loop once per run: 55 s instead of about 1 s at the medium
# scale (perf/RESULTS-postgres.md). Only for that transaction; readers read the tables it fills.
PUBLISH_SETTINGS = {"enable_nestloop": "off"}
# pg_try_advisory_lock(LOCK_CLASS, LOCK_ID): one load per database, whichever host it runs on.
LOCK_CLASS, LOCK_ID = 0x62656E63, 1  # "benc"
CREDENTIALS_HELP = (
    "set DESTINATION__POSTGRES__CREDENTIALS=postgresql://user:password@host:port/database, or `credentials` under "
    "[destination.postgres] in .dlt/secrets.toml"
)


class PgConnection:
    """A psycopg2 connection in autocommit mode with the interface the engine-neutral modules use:
    `execute(sql, parameters)` with `?` placeholders, returning the cursor. Transactions are explicit
    (`begin transaction` ... `commit`), as on DuckDB."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        cursor = self.raw.cursor()
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql.replace("%", "%%").replace("?", "%s"), list(parameters))
        return cursor


class PostgresDatabase:
    """The `Engine` for one PostgreSQL database (see pipelines/warehouse/engine.py)."""

    name = "PostgreSQL"
    dialect = "postgres"
    type_names = TYPE_NAMES
    row_id = "ctid"
    loader_file_format = "csv"  # dlt sends Arrow batches as CSV through COPY, not as INSERT ... VALUES
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
    def from_dlt_config(cls) -> PostgresDatabase:
        """Credentials the dlt way: DESTINATION__POSTGRES__CREDENTIALS or [destination.postgres] in secrets.toml."""
        from dlt.common.configuration import resolve_configuration
        from dlt.common.configuration.exceptions import ConfigurationException
        from dlt.destinations.impl.postgres.configuration import PostgresCredentials

        from pipelines.dlt_runtime import use_current_configuration

        use_current_configuration()
        try:
            credentials = resolve_configuration(
                PostgresCredentials(), sections=("destination", "postgres", "credentials")
            )
        except ConfigurationException:
            raise ConfigError(f"No usable PostgreSQL credentials: {CREDENTIALS_HELP}.") from None
        return cls(credentials)

    @property
    def driver_error(self) -> type[Exception]:
        import psycopg2

        return psycopg2.Error

    def configure(self, load_settings: dict[str, Any]) -> None:
        """No settings of its own beyond the credentials."""

    @contextmanager
    def load_lock(self) -> Iterator[None]:
        """A session-level advisory lock, held on a connection of its own for the whole load. PostgreSQL releases
        it when the session ends, so a load killed on any host never blocks the next one."""
        with self._connect(application_name="benchmarks-etl load lock") as connection:
            taken = connection.execute("select pg_try_advisory_lock(?, ?)", [LOCK_CLASS, LOCK_ID]).fetchone()[0]
            if not taken:
                holder = connection.execute(
                    "select a.pid, coalesce(host(a.client_addr), 'a local socket') from pg_locks l "
                    "join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.classid = ? "
                    "and l.objid = ? and l.granted and l.database = (select oid from pg_database "
                    "where datname = current_database())",
                    [LOCK_CLASS, LOCK_ID],
                ).fetchone()
                who = f"server pid {holder[0]}, connected from {holder[1]}" if holder else "unknown"
                raise LoadAlreadyRunning(
                    f"Another load into {self.location} is running ({who}); this one exits without changes."
                )
            yield

    def prepare_for_load(self) -> str | None:
        self.working_dir.mkdir(parents=True, exist_ok=True)
        return None

    def dlt_destination(self) -> Any:
        import dlt

        return dlt.destinations.postgres(credentials=self.credentials)

    def fit_memory_to(self, largest_rows_bytes: int) -> None:
        """Nothing: the server has its own memory settings."""

    def connect_for_load(self) -> Any:
        return self._connect()

    def refresh_statistics(self) -> None:
        """ANALYZE the raw tables. Right after dlt's COPY they have no statistics until autovacuum gets to them, and
        without statistics the planner may join a million test cases by nested loop (at the large scale one
        analytics view ran for more than 8 minutes; perf/RESULTS-postgres.md)."""
        with self._connect() as connection:
            tables = [Names().raw(table) for table in _table_names(connection, settings.RAW_SCHEMA)]
            if tables:
                connection.execute(f"analyze {', '.join(tables)}")

    def publish(self) -> None:
        """Refill every analytics table from its view in benchmarks_marts, all in one transaction."""
        from pipelines.warehouse.views import comment_statements

        with self._connect() as connection:
            marts = view_names(connection, MART_VIEWS_SCHEMA)
            names = self.names(connection)
            connection.execute("begin transaction")
            try:
                for setting, value in PUBLISH_SETTINGS.items():
                    connection.execute(f"set local {setting} = {value}")
                connection.execute(f"create schema if not exists {names.schema(settings.ANALYTICS_SCHEMA)}")
                for view in marts:
                    self._refill(connection, names, view)
                for table in set(_table_names(connection, settings.ANALYTICS_SCHEMA)) - set(marts):
                    connection.execute(f"drop table {names.analytics(table)}")  # a view that no longer exists
                for statement in comment_statements(names, dict.fromkeys(marts, settings.ANALYTICS_SCHEMA), "table"):
                    connection.execute(statement)
                connection.execute("commit")
            except BaseException:
                connection.execute("rollback")
                raise

    def _refill(self, connection: PgConnection, names: Names, view: str) -> None:
        source, target = names.table(MART_VIEWS_SCHEMA, view), names.analytics(view)
        if _columns(connection, settings.ANALYTICS_SCHEMA, view) == _columns(connection, MART_VIEWS_SCHEMA, view):
            connection.execute(f"delete from {target}")
        else:  # new, or its view's columns changed with the code: readers wait for this transaction instead
            connection.execute(f"drop table if exists {target}")
            connection.execute(f"create table {target} as select * from {source} with no data")
        connection.execute(f"insert into {target} select * from {source}")
        connection.execute(f"analyze {target}")

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
        import psycopg2

        options = "-c default_transaction_read_only=on" if read_only else ""
        try:
            raw = psycopg2.connect(
                host=self.credentials.host, port=self.credentials.port, user=self.credentials.username,
                password=self.credentials.password, dbname=self.credentials.database,
                connect_timeout=self.credentials.connect_timeout, application_name=application_name, options=options,
            )
        except psycopg2.Error as exc:
            raise WarehouseError(f"Cannot connect to {self.location}: {first_line(exc)}") from None
        raw.autocommit = True
        try:
            yield PgConnection(raw)
        finally:
            raw.close()


def state_home() -> Path:
    """Where loads into a server keep their local working state (dlt's pending packages, the change check's
    record, the last attempt): $XDG_STATE_HOME/benchmarks-etl, by default ~/.local/state/benchmarks-etl."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "benchmarks-etl"


def _columns(connection: PgConnection, schema: str, relation: str) -> list[tuple[str, str]]:
    return connection.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a join pg_class c "
        "on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = ? "
        "and a.attnum > 0 and not a.attisdropped order by a.attnum",
        [schema, relation],
    ).fetchall()


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
        values = tuple(None if value is None or isinstance(value, str) else _as_text(value) for value in values)
    return pa.array(values, type=arrow_type)


def _as_text(value: Any) -> str:
    import json

    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))
