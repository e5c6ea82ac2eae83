"""The raw tables dlt loads into (schema benchmarks_raw): created empty when the API gave no rows for them yet, and
the signatures of the runs recorded as loaded, which decide what the next load fetches."""

from __future__ import annotations

from typing import Any

from pipelines.tables import LOADED_RUNS, RAW_TABLES
from pipelines.tables.declaration import Table
from pipelines.warehouse import settings
from pipelines.warehouse.engine import Engine, Names, quote
from pipelines.warehouse.introspect import table_exists


def ensure_raw_tables(connection: Any, names: Names, engine: Engine, tables: tuple[Table, ...] = RAW_TABLES) -> None:
    """A table the API gave no rows for yet (say, no test case has a conversation) does not exist until dlt first
    loads it; it is created empty with its declared columns so the views work. dlt adds any further columns it
    needs when it first loads the table."""
    connection.execute(f"create schema if not exists {names.schema(settings.RAW_SCHEMA)}")
    for table in tables:
        columns = table.ddl_columns(engine.type_names, quote)
        connection.execute(f"create table if not exists {names.raw(table.name)} ({columns})")
    add_missing_columns(connection, names, engine, tables)


def add_missing_columns(connection: Any, names: Names, engine: Engine, tables: tuple[Table, ...]) -> None:
    """A column declared after a warehouse was made (say nul_replaced) is added to its table if the loads since
    did not: dlt adds a new column only to the tables it writes rows to, and the views need it everywhere."""
    rows = connection.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ?",
        [settings.RAW_SCHEMA],
    ).fetchall()
    present = set(rows)
    for table in tables:
        for column in table.columns:
            if (table.name, column.name) not in present:
                connection.execute(
                    f"alter table {names.raw(table.name)} add column {quote(column.name)} "
                    f"{engine.type_names[column.type]}"
                )


def known_run_signatures(engine: Engine) -> dict[int, str]:
    """probe_run_id -> signature of the test cases the warehouse holds whole for it (empty for a new warehouse).

    Read from loaded_runs only, which the commit step (pipelines/warehouse/commit.py) writes in one transaction
    once a run's rows are all there: a run whose rows landed in part is not in it, and is fetched again.
    """
    with engine.connect_for_load() as connection:
        if not table_exists(connection, settings.RAW_SCHEMA, LOADED_RUNS.name):
            return {}
        rows = connection.execute(
            f"select probe_run_id, run_signature from {engine.names(connection).raw(LOADED_RUNS.name)}"
        ).fetchall()
    return {int(run_id): signature for run_id, signature in rows}
