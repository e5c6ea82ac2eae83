"""Keeping the appended bulk tables exact: rows a retried copy doubled, and rows that are not of their run's
recorded load (a re-fetched run's older rows, the rows of a load that did not land whole).

The bulk tables are appended to (a merge would copy every message twice and sort them). dlt may copy the same file
twice (a job retried after its COPY committed, or a killed load resumed); `remove_duplicate_rows` removes those
exact re-copies. Which load each run's rows belong to is recorded in `loaded_runs` (pipelines/warehouse/commit.py);
`prune_unrecorded_rows` deletes every other row. Both run inside the commit step's transaction, on the connection
it gives them.
"""

from __future__ import annotations

from typing import Any

from pipelines.benchmarks.tables import LOAD_ID_COLUMN, LOADED_RUNS, RECOPY_KEYS, RUN_LOADS, RUN_ROW_TABLES
from pipelines.warehouse.engine import Names, quote


def not_recorded(alias: str, names: Names) -> str:
    """SQL condition: row `alias` is not of its run's recorded load (one anti-join on (probe_run_id, load id))."""
    return (
        f"not exists (select 1 from {names.raw(LOADED_RUNS.name)} as recorded where recorded.probe_run_id = "
        f"{alias}.probe_run_id and recorded.load_id = {alias}.{LOAD_ID_COLUMN})"
    )


def remove_duplicate_rows(connection: Any, names: Names, row_id: str) -> None:
    """Delete exact re-copies: rows with the same key in the same load, one kept. Only rows not yet recorded are
    looked at: a load's rows are checked once, by the commit step that follows it, so this stays cheap."""
    for table, key in RECOPY_KEYS.items():
        raw = names.raw(table)
        columns = ", ".join(quote(column) for column in (*key, LOAD_ID_COLUMN))
        connection.execute(
            f"delete from {raw} where {row_id} in (select {row_id} from (select t.{row_id}, row_number() over "
            f"(partition by {columns}) as copy from {raw} as t where {not_recorded('t', names)}) as numbered "
            "where copy > 1)"
        )


def prune_unrecorded_rows(connection: Any, names: Names) -> None:
    """Delete the test cases, messages and claims that are not of their run's recorded load: superseded loads and
    loads that did not land whole alike. The runs of the latter are then fetched again."""
    for table in (*RUN_ROW_TABLES, RUN_LOADS):
        raw = names.raw(table.name)
        connection.execute(f"delete from {raw} as t where {not_recorded('t', names)}")
