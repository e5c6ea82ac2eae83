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

from pipelines.tables import (
    LOADED_RUNS,
    RECOPY_KEYS,
    RUN_LOADS,
    RUN_ROW_TABLES,
    TEST_CASE_MESSAGES,
    TEST_CASES,
)
from pipelines.tables.declaration import LOAD_ID_COLUMN
from pipelines.warehouse.engine import Names, quote

# The claim's count of each table's rows (pipelines/api/source.py run_claims).
CLAIM_COLUMNS = {TEST_CASES.name: "test_cases", TEST_CASE_MESSAGES.name: "messages"}


def not_recorded(alias: str, names: Names) -> str:
    """SQL condition: row `alias` is not of its run's recorded load (one anti-join on (probe_run_id, load id))."""
    return (
        f"not exists (select 1 from {names.raw(LOADED_RUNS.name)} as recorded where recorded.probe_run_id = "
        f"{alias}.probe_run_id and recorded.load_id = {alias}.{LOAD_ID_COLUMN})"
    )


def remove_duplicate_rows(connection: Any, names: Names, row_id: str) -> None:
    """Delete exact re-copies: rows with the same key in the same load, one kept. Only the (run, load) pairs that may
    hold them are looked at, so this stays cheap on every load: pairs not recorded yet, and recorded pairs holding
    more rows than their claim counted. Claims (one row per run and load) are all looked at."""
    for table, key in RECOPY_KEYS.items():  # claims first: the pairs below are found through them
        raw = names.raw(table)
        columns = ", ".join(f"t.{quote(column)}" for column in (*key, LOAD_ID_COLUMN))
        suspects = "" if table == RUN_LOADS.name else (
            f"inner join ({_suspect_pairs(table, names)}) as suspect on suspect.probe_run_id = t.probe_run_id "
            f"and suspect.load_id = t.{LOAD_ID_COLUMN}"
        )
        connection.execute(
            f"delete from {raw} where {row_id} in (select {row_id} from (select t.{row_id}, row_number() over "
            f"(partition by {columns}) as copy from {raw} as t {suspects}) "
            "as numbered where copy > 1)"
        )


def _suspect_pairs(table: str, names: Names) -> str:
    """The (run, load) pairs of `table` not recorded, or holding more rows than their claim counted (no correlated
    subquery: one aggregate and two hash joins on every engine)."""
    raw, claims, loaded = names.raw(table), names.raw(RUN_LOADS.name), names.raw(LOADED_RUNS.name)
    return (
        f"select distinct held.probe_run_id, held.load_id from (select probe_run_id, {LOAD_ID_COLUMN} as load_id, "
        f"count(*) as row_count from {raw} group by probe_run_id, {LOAD_ID_COLUMN}) as held "
        f"left join {loaded} as recorded on recorded.probe_run_id = held.probe_run_id "
        "and recorded.load_id = held.load_id "
        f"left join {claims} as c on c.probe_run_id = held.probe_run_id and c.{LOAD_ID_COLUMN} = held.load_id "
        f"where recorded.probe_run_id is null or held.row_count > c.{quote(CLAIM_COLUMNS[table])}"
    )


def prune_unrecorded_rows(connection: Any, names: Names) -> None:
    """Delete the test cases, messages and claims that are not of their run's recorded load: superseded loads and
    loads that did not land whole alike. The runs of the latter are then fetched again."""
    for table in (*RUN_ROW_TABLES, RUN_LOADS):
        raw = names.raw(table.name)
        connection.execute(f"delete from {raw} as t where {not_recorded('t', names)}")
