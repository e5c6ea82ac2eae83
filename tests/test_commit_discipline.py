"""Commit discipline on DuckDB: no run counts as loaded unless its test cases and messages all landed, whatever
fails or dies in between; the next load then equals, row for row, a clean load of the same API (every analytics view
and the raw test cases and messages); `verify` names damage and the next load re-fetches exactly the damaged runs.

PostgreSQL: tests/test_commit_discipline_postgres.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.errors import WarehouseError
from pipelines.load.runner import run_load
from pipelines.readers.verify import verify_warehouse
from pipelines.warehouse.duckdb.file import DuckDbFile
from simulator.server import Simulator
from tests.commands import kill_during, load_process, run_cli
from tests.commit_checks import (
    accept_rows_again,
    copy_rows_of_newest_load_again,
    duckdb_file,
    duckdb_snapshot,
    reject_new_rows,
    run_test_case_path,
    working_copy,
)
from tests.warehouse_checks import assert_same_relations, raw_rows, requested_test_case_paths


class Worlds:
    """The simulator's world at epoch 0 and 1 (tiny), and what a clean load of each makes (0, then 0 and 1)."""

    def __init__(self, directory: Path) -> None:
        self.simulators = [Simulator(scale="tiny", epoch=epoch).start() for epoch in (0, 1)]
        self.urls = [simulator.url for simulator in self.simulators]
        first, second = directory / "ref0" / "w.duckdb", directory / "ref1" / "w.duckdb"
        run_load(first, base_url=self.urls[0])
        run_load(second, base_url=self.urls[0])
        run_load(second, base_url=self.urls[1])
        self.expected = [duckdb_snapshot(first), duckdb_snapshot(second)]
        assert self.expected[0]["test_case_messages"].rows and self.expected[0] != self.expected[1]

    def stop(self) -> None:
        for simulator in self.simulators:
            simulator.stop()


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> Iterator[Worlds]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCES__BENCHMARKS__API_KEY", "demo-key")
        made = Worlds(tmp_path_factory.mktemp("references"))
        yield made
    made.stop()


def assert_equals_clean_load(db: Path, worlds: Worlds, epoch: int, what: str) -> None:
    assert_same_relations(worlds.expected[epoch], duckdb_snapshot(db), what=what)
    assert verify_warehouse(DuckDbFile(db)) == [], what


@pytest.mark.parametrize("table, column, step", [
    ("test_case_messages", "_dlt_load_id", "load"),  # dlt's load step: messages refused after the test cases landed
    ("loaded_runs", "load_id", "commit"),  # our commit step raises
])
def test_a_load_failing_after_the_test_cases_landed_leaves_nothing_the_next_load_trusts(
    worlds, tmp_path, table, column, step
):
    """The reported poisoning: a load that fails after the new test cases landed but before their messages did
    (a real DuckDB error: the table refuses them); the next load must fetch those runs again, not report
    `Loaded 0 test cases ... 0 new or changed runs` over a warehouse missing their messages."""
    db = tmp_path / "w.duckdb"
    run_load(db, base_url=worlds.urls[0])
    reject_new_rows(working_copy(db), table, column)
    with pytest.raises(WarehouseError if step == "load" else Exception):
        run_load(db, base_url=worlds.urls[1])
    with duckdb_file(working_copy(db), read_only=True) as (connection, _):
        loads = connection.execute("select count(distinct _dlt_load_id) from benchmarks_raw.test_cases").fetchone()[0]
    assert loads == 2, "the failed load's test cases landed (the situation this test is about)"
    accept_rows_again(working_copy(db), table)
    healed = run_load(db, base_url=worlds.urls[1])
    if step == "load":  # the runs whose messages never landed are fetched again, and only they
        assert healed.runs_fetched > 0 and healed.test_cases > 0 and healed.messages > 0, healed.summary()
    else:  # everything had landed whole: the next load's commit records it, nothing is fetched twice
        assert healed.runs_fetched == 0, healed.summary()
    assert_equals_clean_load(db, worlds, 1, f"after a failure in the {step} step")


def test_a_load_that_ran_out_of_memory_then_the_next_load_equals_a_clean_one(worlds, tmp_path, monkeypatch):
    """The reported case itself: DuckDB out of memory in dlt's load step (exit 6, published file intact), then a load
    with enough memory must bring the warehouse to what a clean load makes, not report nothing to do."""
    db = tmp_path / "w.duckdb"
    run_load(db, base_url=worlds.urls[0])
    published = db.read_bytes()
    monkeypatch.setenv("WAREHOUSE__DUCKDB_MEMORY_LIMIT", "1MB")  # too little for DuckDB to insert tiny's rows
    with pytest.raises(WarehouseError, match="out of memory"):
        run_load(db, base_url=worlds.urls[1])
    assert db.read_bytes() == published
    monkeypatch.delenv("WAREHOUSE__DUCKDB_MEMORY_LIMIT")
    healed = run_load(db, base_url=worlds.urls[1])
    assert healed.runs_fetched > 0 and not healed.unchanged, healed.summary()
    assert_equals_clean_load(db, worlds, 1, "after running out of memory")


@pytest.mark.parametrize("stage, delay", [("load", 0.05), ("commit", 0.0), ("views", 0.0)])
def test_a_load_killed_between_steps_then_the_next_load_equals_a_clean_one(worlds, tmp_path, stage, delay):
    db = tmp_path / "w.duckdb"
    run_load(db, base_url=worlds.urls[0])
    kill_during(load_process(db, worlds.urls[1]), stage, delay)
    recovery = load_process(db, worlds.urls[1])
    _, errors = recovery.communicate(timeout=120)
    assert recovery.returncode == 0, errors
    assert_equals_clean_load(db, worlds, 1, f"killed in {stage}")


def test_rows_a_retried_copy_doubled_are_removed_by_the_next_commit(worlds, tmp_path):
    """dlt retried a COPY whose commit had in fact landed: every row of the load is there twice, before our
    commit step ran (here it failed). The next load's commit removes the re-copies and fetches nothing again."""
    db = tmp_path / "w.duckdb"
    run_load(db, base_url=worlds.urls[0])
    reject_new_rows(working_copy(db), "loaded_runs", "load_id")
    with pytest.raises(Exception, match="CHECK constraint"):
        run_load(db, base_url=worlds.urls[1])
    accept_rows_again(working_copy(db), "loaded_runs")
    with duckdb_file(working_copy(db)) as (connection, names):
        copy_rows_of_newest_load_again(connection.execute, names)
    assert run_load(db, base_url=worlds.urls[1]).runs_fetched == 0
    assert_equals_clean_load(db, worlds, 1, "after a doubled copy")


def test_rows_doubled_after_a_commit_are_healed_by_the_next_load(worlds, tmp_path):
    """What an older version left after a doubled COPY (kept forever): the next load of a changed world equals a
    clean load; the doubled runs no longer match their claims and are fetched again."""
    db = tmp_path / "w.duckdb"
    run_load(db, base_url=worlds.urls[0])
    for path in (db, working_copy(db)):
        with duckdb_file(path) as (connection, names):
            copy_rows_of_newest_load_again(connection.execute, names)
    run_load(db, base_url=worlds.urls[1])
    assert_equals_clean_load(db, worlds, 1, "after rows doubled before this load")


def damage_a_run(db: Path) -> int:
    """Delete one run's messages in the published file and its working copy, as a lost COPY would; returns it."""
    run_id = raw_rows(db, "select min(probe_run_id) from benchmarks_raw.test_case_messages")[0][0]
    for path in (db, working_copy(db)):
        with duckdb_file(path) as (connection, names):
            connection.execute(f"delete from {names.raw('test_case_messages')} where probe_run_id = ?", [run_id])
    return run_id


def test_verify_names_a_damaged_run_and_the_next_load_fetches_exactly_it(worlds, tmp_path):
    db = tmp_path / "w.duckdb"
    run_load(db, base_url=worlds.urls[0])
    assert run_cli("verify", "--db", str(db), cwd=tmp_path).returncode == 0
    run_id = damage_a_run(db)
    damaged = run_cli("verify", "--db", str(db), cwd=tmp_path)
    assert damaged.returncode == 1 and f"run {run_id}: 0 messages stored" in damaged.stdout, damaged.stdout
    assert len(damaged.stdout.strip().splitlines()) == 1, damaged.stdout
    simulator = worlds.simulators[0]
    simulator.clear_requests()
    healed = run_load(db, base_url=worlds.urls[0])
    assert requested_test_case_paths(simulator.requests) == [run_test_case_path(simulator.world, run_id)]
    assert healed.runs_fetched == 1
    assert_equals_clean_load(db, worlds, 0, "after healing a damaged run")


def test_a_warehouse_of_an_older_version_keeps_its_whole_runs_and_refetches_the_damaged_one(worlds, tmp_path):
    """Before this work there were no claims: a consistent run is kept as loaded, the one whose messages never
    landed (the reported bug) is fetched again by the next load, and only it."""
    db = tmp_path / "w.duckdb"
    run_load(db, base_url=worlds.urls[0])
    run_id = damage_a_run(db)
    for path in (db, working_copy(db)):
        with duckdb_file(path) as (connection, names):
            for table in ("loaded_runs", "run_loads"):
                connection.execute(f"drop table {names.raw(table)} cascade")
    damaged = run_cli("verify", "--db", str(db), cwd=tmp_path)
    assert damaged.returncode == 1 and damaged.stdout.startswith(f"run {run_id}: "), damaged.stdout
    simulator = worlds.simulators[0]
    simulator.clear_requests()
    run_load(db, base_url=worlds.urls[0])
    assert requested_test_case_paths(simulator.requests) == [run_test_case_path(simulator.world, run_id)]
    assert_equals_clean_load(db, worlds, 0, "after the first load of an older warehouse")
