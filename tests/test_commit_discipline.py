"""Commit discipline: no run counts as loaded unless its test cases and messages all landed, whatever fails or dies in
between; the next load then equals, row for row, a clean load of the same API (every analytics view and the raw test
cases and messages: tests/prebuilt.py's references); `verify` names damage and the next load re-fetches exactly the
damaged runs. On every engine where the scenario is the same; DuckDB's own faults here, PostgreSQL's (its COPYs, its
server) in tests/test_commit_discipline_postgres.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import WarehouseError
from pipelines.readers.verify import verify_warehouse
from tests.commands import run_cli
from tests.commit_checks import (
    accept_rows_again,
    copy_rows_of_newest_load_again,
    duckdb_file,
    reject_new_rows,
    run_test_case_path,
    working_copy,
)
from tests.loads import kill_during, load, load_process
from tests.snapshots import assert_same_relations, snapshot, values
from tests.warehouse_checks import raw_duplicates, requested_test_case_paths
from tests.warehouses import Warehouse, on_engines


def assert_equals_clean_load(target: Warehouse, warehouses, prebuilt, epochs: tuple[int, ...], what: str) -> None:  # noqa: ANN001
    assert_same_relations(prebuilt.expected(warehouses, epochs), snapshot(target, raw=True), what=what)
    assert raw_duplicates(target) == [(0, 0)], what
    assert verify_warehouse(target.engine()) == [], what


@on_engines("duckdb")
@pytest.mark.parametrize("table, column, step", [
    ("test_case_messages", "_dlt_load_id", "load"),  # dlt's load step: messages refused after the test cases landed
    ("loaded_runs", "load_id", "commit"),  # our commit step raises
])
def test_a_load_failing_after_the_test_cases_landed_leaves_nothing_the_next_load_trusts(
    worlds, loaded_warehouse, warehouses, prebuilt, table, column, step
):
    """The reported poisoning: a load that fails after the new test cases landed but before their messages did
    (a real DuckDB error: the table refuses them); the next load must fetch those runs again, not report
    `Loaded 0 test cases ... 0 new or changed runs` over a warehouse missing their messages."""
    db = loaded_warehouse.db  # the tiny world at epoch 0
    reject_new_rows(working_copy(db), table, column)
    with pytest.raises(WarehouseError if step == "load" else Exception):
        load(db, worlds[1].url)
    with duckdb_file(working_copy(db), read_only=True) as (connection, _):
        loads = connection.execute("select count(distinct _dlt_load_id) from benchmarks_raw.test_cases").fetchone()[0]
    assert loads == 2, "the failed load's test cases landed (the situation this test is about)"
    accept_rows_again(working_copy(db), table)
    healed = load(db, worlds[1].url)
    if step == "load":  # the runs whose messages never landed are fetched again, and only they
        assert healed.runs_fetched > 0 and healed.test_cases > 0 and healed.messages > 0, healed.summary()
    else:  # everything had landed whole: the next load's commit records it, nothing is fetched twice
        assert healed.runs_fetched == 0, healed.summary()
    assert_equals_clean_load(loaded_warehouse, warehouses, prebuilt, (0, 1), f"after a failure in the {step} step")


@on_engines("duckdb")
def test_a_load_that_ran_out_of_memory_then_the_next_load_equals_a_clean_one(worlds, loaded_warehouse, warehouses,
                                                                           prebuilt, monkeypatch):
    """The reported case itself: DuckDB out of memory in dlt's load step (exit 6, published file intact), then a load
    with enough memory must bring the warehouse to what a clean load makes, not report nothing to do."""
    db = loaded_warehouse.db
    published = db.read_bytes()
    monkeypatch.setenv("WAREHOUSE__DUCKDB_MEMORY_LIMIT", "1MB")  # too little for DuckDB to insert tiny's rows
    with pytest.raises(WarehouseError, match="out of memory"):
        load(db, worlds[1].url)
    assert db.read_bytes() == published
    monkeypatch.delenv("WAREHOUSE__DUCKDB_MEMORY_LIMIT")
    healed = load(db, worlds[1].url)
    assert healed.runs_fetched > 0 and not healed.unchanged, healed.summary()
    assert_equals_clean_load(loaded_warehouse, warehouses, prebuilt, (0, 1), "after running out of memory")


@on_engines("duckdb")
@pytest.mark.parametrize("stage, delay", [("load", 0.05), ("commit", 0.0), ("views", 0.0)])
def test_a_load_killed_between_steps_then_the_next_load_equals_a_clean_one(worlds, loaded_warehouse, warehouses,
                                                                         prebuilt, stage, delay):
    kill_during(load_process(loaded_warehouse, worlds[1].url), stage, delay)
    load(loaded_warehouse, worlds[1].url)  # the next load
    assert_equals_clean_load(loaded_warehouse, warehouses, prebuilt, (0, 1), f"killed in {stage}")


@on_engines("duckdb")
def test_rows_a_retried_copy_doubled_are_removed_by_the_next_commit(worlds, loaded_warehouse, warehouses, prebuilt):
    """dlt retried a COPY whose commit had in fact landed: every row of the load is there twice, before our
    commit step ran (here it failed). The next load's commit removes the re-copies and fetches nothing again."""
    db = loaded_warehouse.db
    reject_new_rows(working_copy(db), "loaded_runs", "load_id")
    with pytest.raises(Exception, match="CHECK constraint"):
        load(db, worlds[1].url)
    accept_rows_again(working_copy(db), "loaded_runs")
    with duckdb_file(working_copy(db)) as (connection, names):
        copy_rows_of_newest_load_again(connection.execute, names)
    assert load(db, worlds[1].url).runs_fetched == 0
    assert_equals_clean_load(loaded_warehouse, warehouses, prebuilt, (0, 1), "after a doubled copy")


@on_engines("duckdb")
def test_rows_doubled_after_a_commit_are_healed_by_the_next_load(worlds, loaded_warehouse, warehouses, prebuilt):
    """What an older version left after a doubled COPY (kept forever): the next load of a changed world equals a
    clean load; the doubled runs no longer match their claims and are fetched again."""
    db = loaded_warehouse.db
    for path in (db, working_copy(db)):
        with duckdb_file(path) as (connection, names):
            copy_rows_of_newest_load_again(connection.execute, names)
    load(db, worlds[1].url)
    assert_equals_clean_load(loaded_warehouse, warehouses, prebuilt, (0, 1), "after rows doubled before this load")


def damage_a_run(target: Warehouse) -> int:
    """Delete one run's messages, as a lost COPY would (on DuckDB in the published file and its working copy);
    returns the run."""
    run_id = int(values(target, "select min(probe_run_id) from {raw}.test_case_messages")[0][0])
    if target.engine_name == "postgres":
        with target.connect() as connection:
            connection.cursor().execute("delete from benchmarks_raw.test_case_messages where probe_run_id = %s",
                                        [run_id])
        return run_id
    for path in (target.db, working_copy(target.db)):
        with duckdb_file(path) as (connection, names):
            connection.execute(f"delete from {names.raw('test_case_messages')} where probe_run_id = ?", [run_id])
    return run_id


def test_verify_names_a_damaged_run_and_the_next_load_fetches_exactly_it(worlds, warehouse, warehouses, prebuilt,
                                                                        tmp_path):
    load(warehouse, worlds[0].url)  # from the same API as the next load, which could then take the short way
    worlds[0].clear_requests()
    assert run_cli("verify", *warehouse.cli_args, cwd=tmp_path, env=warehouse.env).returncode == 0
    run_id = damage_a_run(warehouse)
    damaged = run_cli("verify", *warehouse.cli_args, cwd=tmp_path, env=warehouse.env)
    assert damaged.returncode == 1 and damaged.stdout.startswith(f"run {run_id}: 0 messages stored"), damaged.stdout
    assert len(damaged.stdout.strip().splitlines()) == 1, damaged.stdout
    if warehouse.engine_name == "postgres":
        assert warehouse.server.password not in damaged.stdout + damaged.stderr
    simulator = worlds[0]
    healed = load(warehouse, simulator.url)  # not "Nothing changed upstream": verify made it look
    assert requested_test_case_paths(simulator.requests) == [run_test_case_path(simulator.world, run_id)]
    assert healed.runs_fetched == 1
    assert_equals_clean_load(warehouse, warehouses, prebuilt, (0,), "after healing a damaged run")


@on_engines("duckdb")
def test_a_warehouse_of_an_older_version_keeps_its_whole_runs_and_refetches_the_damaged_one(
    worlds, warehouse, warehouses, prebuilt, tmp_path
):
    """Before this work there were no claims: a consistent run is kept as loaded, the one whose messages never
    landed (the reported bug) is fetched again by the next load, and only it."""
    db: Path = warehouse.db
    load(db, worlds[0].url)  # from the same API as the next load, which could then take the short way
    worlds[0].clear_requests()
    run_id = damage_a_run(warehouse)
    for path in (db, working_copy(db)):
        with duckdb_file(path) as (connection, names):
            for table in ("loaded_runs", "run_loads"):
                connection.execute(f"drop table {names.raw(table)} cascade")
    damaged = run_cli("verify", "--db", str(db), cwd=tmp_path)
    assert damaged.returncode == 1 and damaged.stdout.startswith(f"run {run_id}: "), damaged.stdout
    simulator = worlds[0]
    load(db, simulator.url)
    assert requested_test_case_paths(simulator.requests) == [run_test_case_path(simulator.world, run_id)]
    assert_equals_clean_load(warehouse, warehouses, prebuilt, (0,), "after the first load of an older warehouse")
