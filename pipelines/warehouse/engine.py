"""The engine interface: everything about the warehouse that depends on the database engine, and nothing else.

DuckDB (duckdb/file.py) and PostgreSQL (postgres/database.py) implement `Engine`; the source, the mapping, the SQL
files and the modules beside this one do not know which engine they feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipelines.tables.declaration import ColumnType
from pipelines.warehouse import settings


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal of our own text (statements such as COMMENT ON take no bound parameters)."""
    return "'" + str(text).strip().replace("'", "''") + "'"


@dataclass(frozen=True)
class Names:
    """Fully qualified, quoted names in one warehouse; `prefix` is what an engine puts before a schema,
    `identifier_quote` what it quotes identifiers with (Spark: a backtick)."""

    prefix: str = ""
    identifier_quote: str = '"'

    def quoted(self, identifier: str) -> str:
        mark = self.identifier_quote
        return mark + identifier.replace(mark, mark + mark) + mark

    def schema(self, schema: str) -> str:
        return f"{self.prefix}{self.quoted(schema)}"

    def table(self, schema: str, name: str) -> str:
        return f"{self.schema(schema)}.{self.quoted(name)}"

    def raw(self, table: str) -> str:
        return self.table(settings.RAW_SCHEMA, table)

    def analytics(self, view: str) -> str:
        return self.table(settings.ANALYTICS_SCHEMA, view)


class Engine(Protocol):
    """One warehouse on one engine: where dlt loads, how a load is published, how readers connect.

    Connections are DB-API style (`execute(sql, parameters)` returning a cursor with `fetchall()` and
    `description`), with `?` placeholders.
    """

    name: str  # the engine's name in messages ("DuckDB")
    dialect: str  # sqlglot's name for the engine's SQL dialect
    type_names: Mapping[ColumnType, str]  # the DDL type of each logical column type
    row_id: str  # a pseudo-column that tells two otherwise identical rows apart
    working_dir: Path  # dlt's pending packages and state, the load lock, the load records
    location: str  # what to name in messages (a file path, a database URL without password)
    driver_error: type[Exception]  # what the engine's driver raises
    loader_file_format: str | None  # the file format dlt loads with ("parquet"); None: the destination chooses
    mart_views_schema: str  # where apply_views creates the marts' views (analytics itself, or a private schema)
    # Whether text may hold U+0000; where not, the source replaces it with U+FFFD (pipelines/api/nul_text.py)
    stores_nul_characters: bool

    def commit_loaded_runs(self) -> None:
        """Record which runs the warehouse holds whole, as of what has landed so far (pipelines/warehouse/commit.py
        on engines that delete and insert in a transaction; a new publication on a lake)."""

    def known_run_signatures(self) -> dict[int, str]:
        """probe_run_id -> the signature of the run the warehouse holds whole, as the last commit recorded it."""

    def apply_views(self) -> int:
        """(Re)create the views of sql/ (pipelines/warehouse/views.py); returns how many."""

    def load_lock(self) -> AbstractContextManager[None]:
        """Held for a whole load: a second load of the same warehouse fails at once (LoadAlreadyRunning)."""

    def record_attempt(self, attempt: Any) -> None:
        """Record a load attempt (a run_log.LoadAttempt) in the warehouse itself, for `status` on other hosts; a
        no-op where the working folder's record is the only one (DuckDB: one machine)."""

    def recorded_attempts(self) -> tuple[Any, Any, bool] | None:
        """(the last attempt, when the last successful load finished, whether the last is still running) as the
        warehouse records them, or None where it records none (then the working folder's record counts)."""

    def load_settings(self) -> dict[str, Any]:
        """The engine's own settings a load runs with (resolved by dlt when the engine was built), secrets left out:
        the change check records them beside the source's."""

    def prepare_for_load(self) -> str | None:
        """Make the state a load writes ready, before dlt writes to it; returns a line for the user, if any."""

    def dlt_destination(self) -> Any:
        """The dlt destination a load writes through."""

    def fit_memory_to(self, largest_rows_bytes: int) -> None:
        """Before dlt's load step: the largest rows extracted hold this much text (duckdb_memory.LargestRows)."""

    def connect_for_load(self) -> AbstractContextManager[Any]:
        """A connection to the state the load is writing (not yet seen by readers)."""

    def refresh_statistics(self) -> None:
        """After dlt wrote the raw tables: what the engine's planner needs to know about them (row counts, value
        distributions) before the prune, the views and the publish query them."""

    def compact(self) -> None:
        """Before the views: rewrite the state the load writes so that no byte of a deleted row stays in what
        readers get (messages dropped by `sources.benchmarks.conversations = false` must not be recoverable)."""

    def publish(self) -> None:
        """Make what the load wrote what readers see, all at once (the views of `mart_views_schema` become what
        `analytics` shows)."""

    def out_of_space_message(self) -> str:
        """One line for a load the disk filled up under: where, how much room a load needs, what to do."""

    def published_identity(self) -> list[int]:
        """Changes whenever the published warehouse is replaced or written to; empty when there is none."""

    def connect_published(self) -> AbstractContextManager[Any]:
        """A read-only connection to what readers see; WarehouseError when there is nothing to read yet."""

    def names(self, connection: Any) -> Names:
        """How to name tables and views over `connection`."""

    def function_definition(self, name: str, parameters: list[str], body: str) -> str:
        """The statement that (re)defines SQL function `name`(parameters) = body (sql/macros/); numbers are doubles."""

    def arrow_reader(self, connection: Any, sql: str, batch_rows: int) -> Any:
        """The rows of `sql` as a pyarrow RecordBatchReader of batches of at most `batch_rows` rows (memory does not
        grow with the result); read it before the connection closes."""
