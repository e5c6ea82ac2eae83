"""Commit discipline on PostgreSQL's own faults (a real, throwaway server): dlt commits each COPY on its own, so a
backend killed during the message COPY, or a COPY doubled by a retry, must neither count a run as loaded nor keep a
row twice; the next load equals a clean load row for row (tests/prebuilt.py's references). The scenarios both
engines share are in tests/test_commit_discipline.py.
"""

from __future__ import annotations

import time

import pytest

from pipelines.load import change_check
from pipelines.readers.verify import verify_warehouse
from pipelines.warehouse.attempts import read_attempt
from pipelines.warehouse.engine import Names
from tests.commands import run_cli
from tests.commit_checks import copy_rows_of_newest_load_again
from tests.loads import load, load_process, wait_for_stage
from tests.snapshots import assert_same_relations, snapshot
from tests.warehouse_checks import raw_duplicates, requested_test_case_paths
from tests.warehouses import Warehouse, on_engines

pytestmark = on_engines("postgres")


def assert_equals_clean_load(target: Warehouse, warehouses, prebuilt, epochs: tuple[int, ...], what: str) -> None:  # noqa: ANN001
    assert_same_relations(prebuilt.expected(warehouses, epochs), snapshot(target, raw=True), what=what)
    assert raw_duplicates(target) == [(0, 0)], what
    assert verify_warehouse(target.engine()) == [], what


def waiting_backend(connection, pattern: str, timeout: float = 60) -> int:  # noqa: ANN001
    """The pid of the load's backend waiting for a lock in a statement matching `pattern` (SQL LIKE)."""
    cursor = connection.cursor()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cursor.execute("select pid from pg_stat_activity where datname = current_database() and pid <> "
                       "pg_backend_pid() and wait_event_type = 'Lock' and query ilike %s", [pattern])
        found = cursor.fetchone()
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no load statement like {pattern!r} waited for the lock")


def kill_the_message_copy(warehouse, process) -> None:  # noqa: ANN001
    """Hold a SHARE lock on test_case_messages so the load's message COPY waits (the test-case COPY does not), then
    kill that backend, as a server crash would."""
    with warehouse.connect() as holder, warehouse.connect() as killer:
        assert wait_for_stage(process, "extract")  # the commit of what earlier loads left is done
        holder.cursor().execute("begin; lock table benchmarks_raw.test_case_messages in share mode")
        copy = waiting_backend(killer, "copy %test_case_messages%")
        killer.cursor().execute("select pg_terminate_backend(%s)", [copy])
        holder.cursor().execute("commit")


def refuse_new_messages(warehouse, process) -> None:  # noqa: ANN001
    """A CHECK constraint refuses the load's messages (a real server error, terminal for dlt); the test cases land."""
    with warehouse.connect() as connection:
        connection.cursor().execute(
            "alter table benchmarks_raw.test_case_messages add constraint refuse_new check (_dlt_load_id <= "
            "'0') not valid")


@pytest.mark.parametrize("fault", [kill_the_message_copy, refuse_new_messages])
def test_a_message_copy_that_fails_after_the_test_cases_landed_never_counts_their_runs_as_loaded(
    loaded_warehouse, warehouses, prebuilt, worlds, fault
):
    warehouse = loaded_warehouse  # the tiny world at epoch 0
    process = load_process(warehouse, worlds[1].url)
    fault(warehouse, process)
    _, errors = process.communicate(timeout=120)
    with warehouse.connect() as connection:
        connection.cursor().execute("alter table benchmarks_raw.test_case_messages drop constraint if exists "
                                    "refuse_new")
    if process.returncode != 0:  # dlt gave up the package (after a killed backend it may retry the job instead)
        assert process.returncode == 6 and errors.strip().splitlines()[-1].startswith("error: "), errors
        healed = load(warehouse, worlds[1].url)
        assert healed.runs_fetched > 0 and healed.messages > 0, healed.summary()
    assert process.returncode != 0 or fault is kill_the_message_copy, errors
    assert_equals_clean_load(warehouse, warehouses, prebuilt, (0, 1),
                             f"after {fault.__name__} (exit {process.returncode})")


def test_a_copy_doubled_before_the_commit_step_is_removed_by_it(loaded_warehouse, warehouses, prebuilt, worlds):
    """'dlt retried a COPY whose commit had landed': while the load waits to commit (the test holds a lock on
    loaded_runs), every test case, message and claim of the load is copied again; the commit step keeps one."""
    warehouse = loaded_warehouse
    with warehouse.connect() as holder, warehouse.connect() as watcher:
        process = load_process(warehouse, worlds[1].url)
        assert wait_for_stage(process, "normalize")  # fetched; the commit step is still to come
        holder.cursor().execute("begin; lock table benchmarks_raw.loaded_runs in access exclusive mode")
        waiting_backend(watcher, "%loaded_runs%")
        cursor = holder.cursor()
        copy_rows_of_newest_load_again(cursor.execute, Names())
        cursor.execute("select count(*) from (select id from benchmarks_raw.test_cases group by id having "
                       "count(*) > 1) as d")
        assert cursor.fetchone()[0] > 0, "the rows are doubled (inside the test's transaction)"
        holder.cursor().execute("commit")
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors
    assert_equals_clean_load(warehouse, warehouses, prebuilt, (0, 1), "after a doubled COPY")


def test_a_postgres_warehouse_of_an_older_version_is_fetched_again_once(loaded_warehouse, warehouses, prebuilt,
                                                                       worlds):
    """Before this work there were no claims, and "" may have been stored as NULL: every run is fetched again."""
    warehouse = loaded_warehouse
    with warehouse.connect() as connection:
        connection.cursor().execute("drop table benchmarks_raw.loaded_runs, benchmarks_raw.run_loads cascade")
    change_check.forget(warehouse.engine())  # as a new version's code does
    simulator = worlds[0]
    load(warehouse, simulator.url)
    runs = {run["id"] for _, _, run in simulator.world.iter_runs() if run["totalCount"]}
    assert len(requested_test_case_paths(simulator.requests)) == len(runs)
    assert_equals_clean_load(warehouse, warehouses, prebuilt, (0,), "after the first load of an older warehouse")


def test_a_load_whose_publish_failed_is_recorded_as_failed(loaded_warehouse, warehouses, prebuilt, worlds, tmp_path):
    """'Successful' means published: a publish refused by the server (a trigger raising on analytics.models) leaves
    the attempt record failed and `status` unhealthy; the next load publishes and equals a clean one."""
    warehouse = loaded_warehouse
    with warehouse.connect() as connection:
        connection.cursor().execute(
            "create function refuse() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$;"
            "create trigger refuse before insert on analytics.models for each statement execute function refuse()")
    with pytest.raises(Exception, match="refused"):
        load(warehouse, worlds[1].url)
    assert read_attempt(warehouse.engine().working_dir).status == "failed"
    status = run_cli("status", *warehouse.cli_args, cwd=tmp_path, env=warehouse.env)
    assert status.returncode == 1 and "Health: OK" not in status.stdout, status.stdout
    with warehouse.connect() as connection:
        connection.cursor().execute("drop trigger refuse on analytics.models")
    load(warehouse, worlds[1].url)
    assert_equals_clean_load(warehouse, warehouses, prebuilt, (0, 1), "after a failed publish")
