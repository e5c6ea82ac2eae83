"""The commit point of a load: which runs the warehouse holds whole, decided by us, in one transaction.

dlt writes test_cases, test_case_messages and run_loads (one claim per fetched run: how many test cases and messages
the source produced for it) in separate jobs, each committed on its own (on PostgreSQL each COPY in a transaction of
its own on a thread pool), and a job retried after its COPY committed copies the same rows twice. So after dlt's load
step, `commit_loaded_runs`, in one transaction on any engine:

1. removes exact re-copies (same key, same load) among the rows not yet recorded;
2. recomputes `loaded_runs` from the data: for every run, the newest claim whose rows are all there (the counts of
   its run's rows with its load id equal the claim);
3. deletes every test case, message and claim that is not of its run's recorded load (superseded and incomplete
   loads alike).

The next load fetches every run whose recorded signature is not its current one (`raw_tables.known_run_signatures`
reads `loaded_runs` only), and the staging views show only rows of recorded (run, load) pairs. Everything is derived
from what is stored, so a crash or a failure anywhere converges at the next commit; and rows damaged later (a run's
messages deleted) no longer match their claim, so that run is fetched again.

Warehouses made before claims existed: on DuckDB a run's newest rows are taken as loaded when they are consistent
(as many test cases as the total count its signature encodes, and messages of the same load); on PostgreSQL an older
version may have stored "" as NULL, so its runs are all fetched again, once.
"""

from __future__ import annotations

from typing import Any

from pipelines.tables import (
    LOADED_RUNS,
    RUN_LOADS,
    RUN_ROW_TABLES,
    TEST_CASE_MESSAGES,
    TEST_CASES,
)
from pipelines.tables.declaration import LOAD_ID_COLUMN
from pipelines.warehouse import settings
from pipelines.warehouse.engine import Engine, Names, quote
from pipelines.warehouse.introspect import table_exists
from pipelines.warehouse.raw_tables import ensure_raw_tables
from pipelines.warehouse.repair import prune_unrecorded_rows, remove_duplicate_rows

# Whether rows an older version loaded (without claims) may be kept when consistent, per engine dialect.
LEGACY_ROWS_TRUSTED = {"duckdb": True, "postgres": False}


def commit_loaded_runs(engine: Engine) -> None:
    """Record the runs whose rows landed whole and drop every other row; one transaction (see the module)."""
    with engine.connect_for_load() as connection:
        names = engine.names(connection)
        connection.execute("begin transaction")
        try:
            ensure_raw_tables(connection, names, engine, (*RUN_ROW_TABLES, RUN_LOADS))  # appended: no dlt columns
            first_commit = not table_exists(connection, settings.RAW_SCHEMA, LOADED_RUNS.name)
            if first_commit:
                create_loaded_runs(connection, names, engine)
            remove_duplicate_rows(connection, names, engine.row_id)
            if first_commit and LEGACY_ROWS_TRUSTED.get(engine.dialect, False):
                claim_consistent_legacy_runs(connection, names)
            record_complete_runs(connection, names)
            prune_unrecorded_rows(connection, names)
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise


def create_loaded_runs(connection: Any, names: Names, engine: Engine) -> None:
    columns = LOADED_RUNS.ddl_columns(engine.type_names, quote)
    connection.execute(f"create table {names.raw(LOADED_RUNS.name)} ({columns})")


def record_complete_runs(connection: Any, names: Names) -> None:
    """loaded_runs := per run, the newest claim whose test cases and messages are all there."""
    claims, loaded = names.raw(RUN_LOADS.name), names.raw(LOADED_RUNS.name)
    load = LOAD_ID_COLUMN
    connection.execute(f"delete from {loaded}")
    connection.execute(
        f"insert into {loaded} (probe_run_id, load_id, run_signature) "
        f"with cases as ({rows_per_run_load(names.raw(TEST_CASES.name))}), "
        f"messages as ({rows_per_run_load(names.raw(TEST_CASE_MESSAGES.name))}), "
        f"complete as (select c.probe_run_id, c.{load} as load_id, c.run_signature, row_number() over "
        f"(partition by c.probe_run_id order by c.{load} desc) as recency from {claims} as c "
        f"left join cases on cases.probe_run_id = c.probe_run_id and cases.load_id = c.{load} "
        f"left join messages on messages.probe_run_id = c.probe_run_id and messages.load_id = c.{load} "
        "where c.test_cases = coalesce(cases.row_count, 0) and c.messages = coalesce(messages.row_count, 0)) "
        "select probe_run_id, load_id, run_signature from complete where recency = 1"
    )


def rows_per_run_load(table: str) -> str:
    """SQL: rows of `table` per (probe_run_id, load_id), as row_count; what a claim is compared with."""
    return (f"select probe_run_id, {LOAD_ID_COLUMN} as load_id, count(*) as row_count from {table} "
            f"group by probe_run_id, {LOAD_ID_COLUMN}")


def claim_consistent_legacy_runs(connection: Any, names: Names) -> None:
    """Claims for the runs an older version loaded whole: each run's newest load, when it holds as many test cases as
    the total count its signature encodes and messages of that load (the reported damage: a load's new test cases
    landed, its messages did not). A run whose test cases all have no conversation is fetched again, once."""
    cases, messages, claims = (names.raw(t.name) for t in (TEST_CASES, TEST_CASE_MESSAGES, RUN_LOADS))
    load = LOAD_ID_COLUMN
    connection.execute(
        f"insert into {claims} (probe_run_id, run_signature, test_cases, messages, {load}) "
        f"with newest as (select probe_run_id, max({load}) as load_id from {cases} group by probe_run_id), "
        f"conversations as ({rows_per_run_load(messages)}) "
        f"select t.probe_run_id, max(t.run_signature), count(*), max(conversations.row_count), t.{load} "
        f"from {cases} as t inner join newest on newest.probe_run_id = t.probe_run_id and newest.load_id = t.{load} "
        f"inner join conversations on conversations.probe_run_id = t.probe_run_id and conversations.load_id = t.{load} "
        f"group by t.probe_run_id, t.{load} "
        "having count(distinct t.run_signature) = 1 and count(distinct t.id) = count(*) "
        "and split_part(max(t.run_signature), '|', 1) = cast(count(*) as varchar)"
    )
