"""Commit discipline on PostgreSQL (a real, throwaway server): dlt commits each COPY on its own, so a backend killed
during the message COPY, or a COPY doubled by a retry, must neither count a run as loaded nor keep a row twice; the
next load equals a clean load row for row; `verify --destination postgres` names damage in the raw schema and the
next load fetches exactly the damaged runs. The DuckDB versions are in tests/test_commit_discipline.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pipelines.load import change_check
from pipelines.load.runner import run_load
from pipelines.readers.verify import verify_warehouse
from pipelines.warehouse.attempts import read_attempt
from pipelines.warehouse.destinations import open_engine
from pipelines.warehouse.engine import Names
from simulator.server import Simulator
from tests.commands import postgres_load_process, run_cli, wait_for_stage
from tests.commit_checks import copy_rows_of_newest_load_again, run_test_case_path, whole_snapshot
from tests.test_postgres_reliability import raw_duplicates
from tests.warehouse_checks import assert_same_relations, requested_test_case_paths

CREDENTIALS = "DESTINATION__POSTGRES__CREDENTIALS"


def load_into_pg(url: str, **options):  # noqa: ANN201 - a LoadResult
    return run_load(destination="postgres", base_url=url, **options)


def pg_snapshot(server, database: str) -> dict:  # noqa: ANN001
    with server.connect(database) as connection:
        return whole_snapshot(connection, Names())


class PgWorlds:
    """The simulator at epoch 0 and 1 (tiny), and what clean loads into PostgreSQL make of them (0; 0 then 1)."""

    def __init__(self, server, patch) -> None:  # noqa: ANN001
        self.simulators = [Simulator(scale="tiny", epoch=epoch).start() for epoch in (0, 1)]
        self.urls = [simulator.url for simulator in self.simulators]
        self.references = [server.create_database(), server.create_database()]
        for reference, epochs in zip(self.references, ((0,), (0, 1)), strict=True):
            patch.setenv(CREDENTIALS, server.url(reference))
            for epoch in epochs:
                load_into_pg(self.urls[epoch])
        self.expected = [pg_snapshot(server, reference) for reference in self.references]
        assert self.expected[0]["test_case_messages"].rows and self.expected[0] != self.expected[1]

    def stop(self, server) -> None:  # noqa: ANN001
        for simulator in self.simulators:
            simulator.stop()
        for reference in self.references:
            server.drop_database(reference)


@pytest.fixture(scope="module")
def worlds(postgres, tmp_path_factory) -> Iterator[PgWorlds]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCES__BENCHMARKS__API_KEY", "demo-key")
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
        made = PgWorlds(postgres, patch)
        yield made
    made.stop(postgres)


def assert_equals_clean_load(pg_database, worlds: PgWorlds, epoch: int, what: str) -> None:  # noqa: ANN001
    assert_same_relations(worlds.expected[epoch], pg_snapshot(pg_database.server, pg_database.name), what=what)
    with pg_database.connect() as connection:
        assert raw_duplicates(connection) == (0, 0), what
    assert verify_warehouse(open_engine("postgres")) == [], what


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


def kill_the_message_copy(pg_database, process) -> None:  # noqa: ANN001
    """Hold a SHARE lock on test_case_messages so the load's message COPY waits (the test-case COPY does not), then
    kill that backend, as a server crash would."""
    with pg_database.connect() as holder, pg_database.connect() as killer:
        assert wait_for_stage(process, "extract")  # the commit of what earlier loads left is done
        holder.cursor().execute("begin; lock table benchmarks_raw.test_case_messages in share mode")
        copy = waiting_backend(killer, "copy %test_case_messages%")
        killer.cursor().execute("select pg_terminate_backend(%s)", [copy])
        holder.cursor().execute("commit")


def refuse_new_messages(pg_database, process) -> None:  # noqa: ANN001
    """A CHECK constraint refuses the load's messages (a real server error, terminal for dlt); the test cases land."""
    with pg_database.connect() as connection:
        connection.cursor().execute(
            "alter table benchmarks_raw.test_case_messages add constraint refuse_new check (_dlt_load_id <= "
            "'0') not valid")


@pytest.mark.parametrize("fault", [kill_the_message_copy, refuse_new_messages])
def test_a_message_copy_that_fails_after_the_test_cases_landed_never_counts_their_runs_as_loaded(
    pg_database, worlds, fault
):
    load_into_pg(worlds.urls[0])
    process = postgres_load_process(worlds.urls[1])
    fault(pg_database, process)
    _, errors = process.communicate(timeout=120)
    with pg_database.connect() as connection:
        connection.cursor().execute("alter table benchmarks_raw.test_case_messages drop constraint if exists "
                                    "refuse_new")
    if process.returncode != 0:  # dlt gave up the package (after a killed backend it may retry the job instead)
        assert process.returncode == 6 and errors.strip().splitlines()[-1].startswith("error: "), errors
        healed = load_into_pg(worlds.urls[1])
        assert healed.runs_fetched > 0 and healed.messages > 0, healed.summary()
    assert process.returncode != 0 or fault is kill_the_message_copy, errors
    assert_equals_clean_load(pg_database, worlds, 1, f"after {fault.__name__} (exit {process.returncode})")


def test_a_copy_doubled_before_the_commit_step_is_removed_by_it(pg_database, worlds):
    """'dlt retried a COPY whose commit had landed': while the load waits to commit (the test holds a lock on
    loaded_runs), every test case, message and claim of the load is copied again; the commit step keeps one."""
    load_into_pg(worlds.urls[0])
    with pg_database.connect() as holder, pg_database.connect() as watcher:
        process = postgres_load_process(worlds.urls[1])
        assert wait_for_stage(process, "normalize")  # fetched; the commit step is still to come
        holder.cursor().execute("begin; lock table benchmarks_raw.loaded_runs in access exclusive mode")
        waiting_backend(watcher, "%loaded_runs%")
        cursor = holder.cursor()
        copy_rows_of_newest_load_again(cursor.execute, Names())
        assert raw_duplicates(holder) != (0, 0)
        holder.cursor().execute("commit")
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors
    assert_equals_clean_load(pg_database, worlds, 1, "after a doubled COPY")


def test_verify_names_a_damaged_run_and_the_next_load_fetches_exactly_it_on_postgres(pg_database, worlds, tmp_path):
    load_into_pg(worlds.urls[0])
    assert run_cli("verify", "--destination", "postgres", cwd=tmp_path).returncode == 0
    with pg_database.connect() as connection:
        cursor = connection.cursor()
        cursor.execute("delete from benchmarks_raw.test_case_messages where probe_run_id = (select "
                       "min(probe_run_id) from benchmarks_raw.test_case_messages) returning probe_run_id")
        run_id = cursor.fetchone()[0]
    damaged = run_cli("verify", "--destination", "postgres", cwd=tmp_path)
    assert damaged.returncode == 1 and damaged.stdout.startswith(f"run {run_id}: 0 messages stored"), damaged.stdout
    assert pg_database.server.password not in damaged.stdout + damaged.stderr
    simulator = worlds.simulators[0]
    simulator.clear_requests()
    load_into_pg(worlds.urls[0])  # not "Nothing changed upstream": verify made it look
    assert requested_test_case_paths(simulator.requests) == [run_test_case_path(simulator.world, run_id)]
    assert_equals_clean_load(pg_database, worlds, 0, "after healing a damaged run")


def test_a_postgres_warehouse_of_an_older_version_is_fetched_again_once(pg_database, worlds):
    """Before this work there were no claims, and "" may have been stored as NULL: every run is fetched again."""
    load_into_pg(worlds.urls[0])
    with pg_database.connect() as connection:
        connection.cursor().execute("drop table benchmarks_raw.loaded_runs, benchmarks_raw.run_loads cascade")
    change_check.forget(open_engine("postgres"))  # as a new version's code does
    simulator = worlds.simulators[0]
    simulator.clear_requests()
    load_into_pg(worlds.urls[0])
    runs = {run["id"] for _, _, run in simulator.world.iter_runs() if run["totalCount"]}
    assert len(requested_test_case_paths(simulator.requests)) == len(runs)
    assert_equals_clean_load(pg_database, worlds, 0, "after the first load of an older warehouse")


def test_a_load_whose_publish_failed_is_recorded_as_failed(pg_database, worlds, tmp_path):
    """'Successful' means published: a publish refused by the server (a trigger raising on analytics.models) leaves
    the attempt record failed and `status` unhealthy; the next load publishes and equals a clean one."""
    load_into_pg(worlds.urls[0])
    with pg_database.connect() as connection:
        connection.cursor().execute(
            "create function refuse() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$;"
            "create trigger refuse before insert on analytics.models for each statement execute function refuse()")
    with pytest.raises(Exception, match="refused"):
        load_into_pg(worlds.urls[1])
    assert read_attempt(open_engine("postgres").working_dir).status == "failed"
    status = run_cli("status", "--destination", "postgres", cwd=tmp_path)
    assert status.returncode == 1 and "Health: OK" not in status.stdout, status.stdout
    with pg_database.connect() as connection:
        connection.cursor().execute("drop trigger refuse on analytics.models")
    load_into_pg(worlds.urls[1])
    assert_equals_clean_load(pg_database, worlds, 1, "after a failed publish")
