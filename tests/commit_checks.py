"""Helpers of the commit-discipline tests (tests/test_commit_discipline*.py): real faults to inject into a DuckDB
file, doubled copies on either engine."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from pipelines.warehouse import paths, settings
from pipelines.warehouse.engine import Names, quote


@contextmanager
def duckdb_file(path: Path, read_only: bool = False):  # noqa: ANN201 - (connection, names)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        catalog = connection.execute("select current_database()").fetchone()[0]
        yield connection, Names(prefix=f"{quote(catalog)}.")
    finally:
        connection.close()


def working_copy(db: Path) -> Path:
    return paths.working_db_for(db)


def reject_new_rows(db_file: Path, table: str, column: str) -> None:
    """Make `table` of a DuckDB file refuse every row newer than those it holds: re-created with a CHECK on
    `column` (a load id), so the next write to it fails with DuckDB's own constraint error."""
    with duckdb_file(db_file) as (connection, names):
        ddl = connection.execute(
            "select sql from duckdb_tables() where schema_name = ? and table_name = ?", [settings.RAW_SCHEMA, table]
        ).fetchone()[0]
        newest = connection.execute(f"select coalesce(max({quote(column)}), '') from {names.raw(table)}").fetchone()[0]
        _recreate(connection, names, table, ddl.rstrip().rstrip(";")[:-1] + f", check ({quote(column)} <= '{newest}'))")


def accept_rows_again(db_file: Path, table: str) -> None:
    """Undo `reject_new_rows`: the table re-created without its CHECK, with its rows."""
    with duckdb_file(db_file) as (connection, names):
        ddl = connection.execute(
            "select sql from duckdb_tables() where schema_name = ? and table_name = ?", [settings.RAW_SCHEMA, table]
        ).fetchone()[0]
        _recreate(connection, names, table, ddl[: ddl.rindex(", CHECK")] + ");")


def _recreate(connection: Any, names: Names, table: str, ddl: str) -> None:
    kept = f"{table}_kept"
    connection.execute(f"alter table {names.raw(table)} rename to {quote(kept)}")
    connection.execute(ddl)
    connection.execute(f"insert into {names.raw(table)} select * from {names.raw(kept)}")
    connection.execute(f"drop table {names.raw(kept)}")


def copy_rows_of_newest_load_again(execute: Callable[[str], Any], names: Names) -> None:
    """What dlt does when it retries a COPY whose commit had landed: every test case, message and claim of the
    newest load is there twice. `execute` runs one statement on the warehouse."""
    claims = names.raw("run_loads")
    for table in ("test_cases", "test_case_messages", "run_loads"):
        execute(f"insert into {names.raw(table)} select * from {names.raw(table)} "
                f"where _dlt_load_id = (select max(_dlt_load_id) from {claims})")


def run_test_case_path(world: Any, run_id: int) -> str:
    model_id = next(model for model, _, run in world.iter_runs() if run["id"] == run_id)
    return f"/api/v2/benchmarks/models/{model_id}/runs/{run_id}/test-cases"
