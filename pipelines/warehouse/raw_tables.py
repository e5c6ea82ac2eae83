"""The raw tables dlt loads into (schema benchmarks_raw): created empty when the API gave no rows for them yet, and
the run signatures they hold, which decide what the next load fetches."""

from __future__ import annotations

from typing import Any

from pipelines import settings
from pipelines.benchmarks.tables import RAW_TABLES, TEST_CASES
from pipelines.warehouse.engine import Engine, Names, quote
from pipelines.warehouse.introspect import table_exists


def ensure_raw_tables(connection: Any, names: Names, engine: Engine) -> None:
    """A table the API gave no rows for yet (say, no test case has a conversation) does not exist until dlt first
    loads it; it is created empty with its declared columns so the views work. dlt adds any further columns it
    needs when it first loads the table."""
    connection.execute(f"create schema if not exists {names.schema(settings.RAW_SCHEMA)}")
    for table in RAW_TABLES:
        columns = table.ddl_columns(engine.type_names, quote)
        connection.execute(f"create table if not exists {names.raw(table.name)} ({columns})")
    add_missing_columns(connection, names, engine)


def add_missing_columns(connection: Any, names: Names, engine: Engine) -> None:
    """A column declared after a warehouse was made (say nul_replaced) is added to its table if the loads since
    did not: dlt adds a new column only to the tables it writes rows to, and the views need it everywhere."""
    rows = connection.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ?",
        [settings.RAW_SCHEMA],
    ).fetchall()
    present = set(rows)
    for table in RAW_TABLES:
        for column in table.columns:
            if (table.name, column.name) not in present:
                connection.execute(
                    f"alter table {names.raw(table.name)} add column {quote(column.name)} "
                    f"{engine.type_names[column.type]}"
                )


def known_run_signatures(engine: Engine) -> dict[int, str]:
    """probe_run_id -> signature of the test cases the warehouse holds for it (empty for a new warehouse).

    The signature is stored on every test case row and written in the same transaction as the rows, so it
    always describes what is really there, even after an interrupted load.
    """
    with engine.connect_for_load() as connection:
        if not table_exists(connection, settings.RAW_SCHEMA, TEST_CASES.name):
            return {}
        table = engine.names(connection).raw(TEST_CASES.name)
        rows = connection.execute(  # each run's newest load's signature, in SQL every engine runs
            f"select t.probe_run_id, max(t.run_signature) from {table} as t inner join (select probe_run_id, "
            f"max(_dlt_load_id) as newest from {table} group by probe_run_id) as n on t.probe_run_id = "
            "n.probe_run_id and t._dlt_load_id = n.newest group by t.probe_run_id"
        ).fetchall()
    return {int(run_id): signature for run_id, signature in rows}
