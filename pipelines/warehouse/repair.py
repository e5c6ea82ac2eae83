"""Keeping the appended bulk tables exact: a re-fetched run's older rows, and rows a killed load copied twice.

The bulk tables are appended to (a merge would copy every message twice and sort them). So a re-fetched run has its
old rows until `prune_superseded_test_cases` removes them, and a load killed between a copy and dlt recording it can
copy the same file twice when resumed; `remove_duplicate_rows` removes those.
"""

from __future__ import annotations

from pipelines import settings
from pipelines.benchmarks.tables import LOAD_ID_COLUMN, NATURAL_KEYS
from pipelines.warehouse.engine import Engine, quote
from pipelines.warehouse.introspect import table_exists


def prune_superseded_test_cases(engine: Engine) -> None:
    """Delete the rows of runs that a newer load fetched again: each run keeps the rows of its newest load only.

    Until this runs (say the process died just before), the staging views already hide such rows: they keep only
    test cases whose run signature is the run's current one.
    """
    with engine.connect_for_load() as connection:
        names = engine.names(connection)
        for table in NATURAL_KEYS:
            if not table_exists(connection, settings.RAW_SCHEMA, table):
                continue
            connection.execute(
                f"delete from {names.raw(table)} as t using (select probe_run_id, max({LOAD_ID_COLUMN}) as newest "
                f"from {names.raw(table)} group by probe_run_id) as n "
                f"where t.probe_run_id = n.probe_run_id and t.{LOAD_ID_COLUMN} < n.newest"
            )


def remove_duplicate_rows(engine: Engine) -> int:
    """Delete exact re-copies in the bulk tables (keeping the newest load's row); returns how many were removed."""
    removed = 0
    with engine.connect_for_load() as connection:
        names = engine.names(connection)
        for table, key in NATURAL_KEYS.items():
            if not table_exists(connection, settings.RAW_SCHEMA, table):
                continue
            raw, row_id = names.raw(table), engine.row_id
            columns = ", ".join(quote(column) for column in key)
            before = connection.execute(f"select count(*) from {raw}").fetchone()[0]
            connection.execute(
                f"delete from {raw} where {row_id} in (select {row_id} from (select {row_id}, row_number() over "
                f"(partition by {columns} order by {LOAD_ID_COLUMN} desc) as copy from {raw}) as numbered "
                "where copy > 1)"
            )
            removed += before - connection.execute(f"select count(*) from {raw}").fetchone()[0]
    return removed
