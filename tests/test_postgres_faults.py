"""PostgreSQL under server faults (a real, throwaway server: simulator/throwaway_postgres.py): a lock session that
dies mid-load or with its load, idle timeouts, failures during publish (permission, statement timeout, a terminated
session), tables in analytics that are not ours, `status` from a host without the local record, a server that
crashes."""

from __future__ import annotations

import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.errors import BenchmarksEtlError, WarehouseError
from pipelines.warehouse.file_lock import LoadLockLost
from simulator.throwaway_postgres import PostgresUnavailable, ThrowawayPostgres, binaries
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load, load_process, wait_for_stage
from tests.snapshots import assert_same_relations, snapshot
from tests.throwaway import started
from tests.warehouses import CREDENTIALS, PostgresWarehouse, on_engines

LOCK_APPLICATION = "benchmarks-etl load lock"


def admin(database: PostgresWarehouse, *statements: str) -> list[tuple]:
    """Run statements as the superuser in this database; the last one's rows."""
    rows: list[tuple] = []
    with database.connect() as connection:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
    return rows


def role_of(database: PostgresWarehouse) -> str:
    assert database.login is not None
    return database.login[0]


@pytest.fixture()
def loader_db(postgres, monkeypatch) -> Iterator[PostgresWarehouse]:
    """A fresh database and a loader role that is not a superuser (so privileges and role settings apply); the
    loads log in as that role."""
    role, password = f"loader_{secrets.token_hex(4)}", secrets.token_hex(8)
    database = PostgresWarehouse(postgres, postgres.create_database(), login=(role, password))
    with postgres.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(f"create role {role} login password '{password}'")
        cursor.execute(f'grant create, connect on database "{database.name}" to {role}')
    monkeypatch.setenv(CREDENTIALS, database.url)
    yield database
    postgres.drop_database(database.name)
    with postgres.connect() as connection:
        connection.cursor().execute(f"drop role if exists {role}")


def backends(database: PostgresWarehouse, condition: str) -> list[int]:
    return [pid for (pid,) in admin(database,
        f"select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() "
        f"and {condition}")]


def wait_for_backend(database: PostgresWarehouse, condition: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = backends(database, condition)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no backend with {condition}")


def cli_load(url: str, tmp_path, *extra: str):  # noqa: ANN201 - a CompletedProcess
    return run_cli("load", "--destination", "postgres", "--base-url", url, *extra, cwd=tmp_path, key="demo-key")


@on_engines("postgres")
def test_a_load_whose_lock_session_dies_exits_75_and_the_other_publishes(loader_db, start_simulator, warehouses,
                                                                          prebuilt):
    """The lock's backend is terminated while the first load extracts; a second load then takes the lock. Exactly
    one publishes: the first stops at its next write (the fence), exit 75, one line; the warehouse equals a clean
    load."""
    sim = start_simulator("tiny", latency_ms=30)
    first = load_process(loader_db, sim.url)
    assert wait_for_stage(first, "extract")
    lock_pid = wait_for_backend(loader_db, f"application_name = '{LOCK_APPLICATION}'")
    admin(loader_db, f"select pg_terminate_backend({lock_pid})")
    second = load_process(loader_db, sim.url)
    _, second_errors = second.communicate(timeout=120)
    _, first_errors = first.communicate(timeout=120)
    assert second.returncode == 0, second_errors
    assert first.returncode == 75, first_errors
    last = first_errors.strip().splitlines()[-1]
    assert last.startswith("error: This load lost its lock") and "Traceback" not in first_errors, first_errors
    clean = prebuilt.expected(warehouses, (0,), raw=False)
    assert_same_relations(clean, snapshot(loader_db), what="after the lost lock")
    assert admin(loader_db, "select status from benchmarks_state.load_attempts order by epoch") == \
        [("running",), ("succeeded",)], "the load that lost its lock records nothing after it lost it"


@pytest.mark.parametrize("taken_over", [True, False], ids=["another-load-took-the-lock", "no-load-followed"])
def test_a_warehouse_failure_after_the_lock_session_died_names_the_lost_lock_only_if_taken_over(loader_db, taken_over):
    """Whatever fails once the lock session died (here a warehouse error, as when the next load already cleared
    away this load's package) is reported as the lost lock (exit 75) when another load has taken the lock since,
    and as itself when none has (a bare server restart keeps its own message)."""
    failure = WarehouseError("this load's package could not be found")
    with pytest.raises(BenchmarksEtlError) as raised, loader_db.engine().load_lock():
        admin(loader_db, "select pg_terminate_backend(pid, 10000) from pg_stat_activity "
                         f"where application_name = '{LOCK_APPLICATION}'")
        if taken_over:
            admin(loader_db, "update benchmarks_state.load_fence set epoch = epoch + 1 where id = 1")
        raise failure
    assert isinstance(raised.value, LoadLockLost) is taken_over
    assert (raised.value is failure) is not taken_over


def test_idle_session_timeout_does_not_end_the_lock_session(loader_db, start_simulator):
    """A database with idle_session_timeout: the lock session idles for the whole load and keeps its lock (the
    server would end an idle session after 0.3 s, and the load would carry on unlocked)."""
    admin(loader_db, f'alter database "{loader_db.name}" set idle_session_timeout = 300')  # 0.3 s
    sim = start_simulator("tiny", latency_ms=30)
    process = load_process(loader_db, sim.url)
    assert wait_for_stage(process, "extract")
    time.sleep(1.5)
    held = advisory_locks(loader_db)
    _, errors = process.communicate(timeout=120)
    assert held == 1, "the load still holds its lock after idling past idle_session_timeout"
    assert process.returncode == 0, errors
    assert snapshot(loader_db)["test_cases"].rows


def test_a_permission_failure_in_publish_is_one_line_and_status_elsewhere_says_so(loader_db, start_simulator,
                                                                                   tmp_path):
    """An analytics table of ours given to another role: the publish fails with the cause named (exit 6), and
    `status` from a host without the local record (a fresh XDG_STATE_HOME) does not say OK."""
    sim = start_simulator("tiny")
    assert cli_load(sim.url, tmp_path).returncode == 0
    admin(loader_db, "create role other_owner_" + role_of(loader_db)[-8:],
                    f"alter table analytics.models owner to other_owner_{role_of(loader_db)[-8:]}")
    sim.set_epoch(1)
    failed = cli_load(sim.url, tmp_path)
    assert_one_line_error(failed, 6, "failed while publishing", "permission denied")
    elsewhere = run_cli("status", "--destination", "postgres", cwd=tmp_path, key=None,
                        env={"XDG_STATE_HOME": str(tmp_path / "other-host")})
    assert elsewhere.returncode == 1, elsewhere.stdout + elsewhere.stderr
    assert "Health: PROBLEM" in elsewhere.stdout and "permission denied" in elsewhere.stdout, elsewhere.stdout
    admin(loader_db, f"alter table analytics.models owner to {role_of(loader_db)}",
                    f"drop role other_owner_{role_of(loader_db)[-8:]}")
    assert cli_load(sim.url, tmp_path).returncode == 0
    healthy = run_cli("status", "--destination", "postgres", cwd=tmp_path, key=None,
                      env={"XDG_STATE_HOME": str(tmp_path / "other-host")})
    assert healthy.returncode == 0 and "Health: OK" in healthy.stdout, healthy.stdout


def test_a_statement_timeout_during_publish_is_named(loader_db, start_simulator, tmp_path):
    """The loader's role has a statement_timeout; a reader holds a lock publish must wait for, longer than that."""
    sim = start_simulator("tiny")
    assert cli_load(sim.url, tmp_path).returncode == 0
    admin(loader_db, f"alter role {role_of(loader_db)} set statement_timeout = '2s'")
    sim.set_epoch(1)
    with loader_db.connect() as holder:
        holder.cursor().execute("begin; lock table analytics.models in exclusive mode")
        failed = cli_load(sim.url, tmp_path)
        holder.cursor().execute("rollback")
    assert_one_line_error(failed, 6, "failed while publishing", "statement_timeout")


@on_engines("postgres")
def test_a_session_terminated_during_publish_is_named_and_the_next_load_converges(
    loader_db, start_simulator, warehouses, prebuilt
):
    """Publish waits for a lock a reader holds; its backend is terminated meanwhile (as an administrator or a
    failover would). One line, exit 6, readers keep the previous load; the next load publishes the new one."""
    sim = start_simulator("tiny")
    before = prebuilt.expected(warehouses, (0,), raw=False)
    load(loader_db, sim.url)
    sim.set_epoch(1)
    with loader_db.connect() as holder:
        holder.cursor().execute("begin; lock table analytics.models in exclusive mode")
        process = load_process(loader_db, sim.url)
        publisher = wait_for_backend(loader_db, "wait_event_type = 'Lock' and query ilike '%analytics%'")
        admin(loader_db, f"select pg_terminate_backend({publisher})")
        _, errors = process.communicate(timeout=120)
        holder.cursor().execute("rollback")
    assert process.returncode == 6, errors
    last = errors.strip().splitlines()[-1]
    assert "failed while publishing" in last, errors
    assert "the connection to the server was lost" in last or "terminated by an administrator" in last, errors
    assert "Traceback" not in errors
    assert_same_relations(before, snapshot(loader_db), what="after the failed publish")
    load(loader_db, sim.url)
    clean = prebuilt.expected(warehouses, (1,), raw=False)  # a clean load of epoch 1
    assert_same_relations(clean, snapshot(loader_db), what="after the next load")


def test_tables_in_analytics_that_are_not_ours_are_never_dropped(loader_db, start_simulator, tmp_path):
    """A table of the loader's own and one of another role survive loads; one named like our view blocks the
    publish, named in the error (exit 6), until it is moved."""
    sim = start_simulator("tiny")
    assert cli_load(sim.url, tmp_path).returncode == 0
    other = f"notes_owner_{role_of(loader_db)[-8:]}"
    admin(loader_db, f"set role {role_of(loader_db)}", "create table analytics.my_notes (note text)",
                    "insert into analytics.my_notes values ('keep me')", "reset role",
                    f"create role {other}", "create table analytics.their_notes (note text)",
                    f"alter table analytics.their_notes owner to {other}")
    sim.set_epoch(1)
    assert cli_load(sim.url, tmp_path).returncode == 0
    assert admin(loader_db, "select note from analytics.my_notes") == [("keep me",)]
    assert admin(loader_db, "select to_regclass('analytics.their_notes') is not null") == [(True,)]
    admin(loader_db, "drop table analytics.their_notes", f"drop role {other}")

    fresh = PostgresWarehouse(loader_db.server, loader_db.server.create_database(), loader_db.login)
    try:
        admin(fresh, f'grant create, connect on database "{fresh.name}" to {role_of(fresh)}',
              "create schema analytics", f"alter schema analytics owner to {role_of(fresh)}",
              "create table analytics.leaderboard (x int)")
        blocked = run_cli("load", "--destination", "postgres", "--base-url", sim.url, cwd=tmp_path, key="demo-key",
                          env={CREDENTIALS: fresh.url, "XDG_STATE_HOME": str(tmp_path / "fresh")})
        assert_one_line_error(blocked, 6, "analytics.leaderboard", "not created by this project")
        assert admin(fresh, "select count(*) from analytics.leaderboard") == [(0,)]
    finally:
        loader_db.server.drop_database(fresh.name)


@pytest.fixture()
def own_server(tmp_path, monkeypatch) -> Iterator[ThrowawayPostgres]:
    """A server of this test's own, since the test crashes it (the session's server serves every other test)."""
    server = ThrowawayPostgres(Path(tempfile.mkdtemp(prefix="benchmarks-postgres-crash-")))
    started(server, PostgresUnavailable, "PostgreSQL")
    yield server
    server.stop()


def crash_and_restart(server: ThrowawayPostgres) -> None:
    """pg_ctl stop -m immediate and start again: every session ends at once, nothing is shut down cleanly."""
    server._run(f"{binaries() / 'pg_ctl'} -D {server.data_dir} -l {server.directory / 'server.log'} -m immediate "
                "-w -t 60 restart")


@on_engines("postgres")
def test_a_server_crash_during_copy_is_one_line_exit_6_and_the_next_load_converges(own_server, start_simulator,
                                                                                    warehouses, prebuilt):
    """Both bulk COPYs wait for a lock a reader holds; the server crashes and restarts under them. The load says
    so in one line (exit 6, not a lost lock: no other load took it), and the next load equals a clean one."""
    sim = start_simulator("tiny")
    database = PostgresWarehouse(own_server, own_server.create_database())
    load(database, sim.url)
    sim.set_epoch(1)
    process = load_process(database, sim.url)
    # after the commit step a load starts with (it reads both tables), before the COPYs
    assert wait_for_stage(process, "extract"), "the load reached its extract"
    with database.connect() as holder:
        holder.cursor().execute("begin; lock table benchmarks_raw.test_cases, benchmarks_raw.test_case_messages "
                                "in exclusive mode")
        deadline = time.monotonic() + 60
        while len(crash_waiters(database)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(crash_waiters(database)) == 2, "both COPYs wait for the lock"
        crash_and_restart(own_server)
    _, errors = process.communicate(timeout=180)
    assert process.returncode == 6, errors
    last = errors.strip().splitlines()[-1]
    assert last.startswith("error: ") and own_server.password not in errors, errors
    assert "restarted" in last or "connection to the server was lost" in last or "server closed" in last, last
    load(database, sim.url)
    clean = prebuilt.expected(warehouses, (1,), raw=False)  # a clean load of epoch 1
    assert_same_relations(clean, snapshot(database), what="after the crash")


def crash_waiters(database: PostgresWarehouse) -> list[int]:
    with database.connect() as connection:
        cursor = connection.cursor()
        cursor.execute("select pid from pg_stat_activity where datname = current_database() and "
                       "wait_event_type = 'Lock' and query ilike 'copy%'")
        return [pid for (pid,) in cursor.fetchall()]


def advisory_locks(database: PostgresWarehouse) -> int:
    return admin(database, "select count(*) from pg_locks where locktype = 'advisory' and granted "
                           "and database = (select oid from pg_database where datname = current_database())")[0][0]


@on_engines("postgres")
def test_a_load_killed_while_holding_the_lock_does_not_block_the_next(warehouse, start_simulator):
    sim = start_simulator("tiny", latency_ms=20)
    killed = load_process(warehouse, sim.url)
    assert wait_for_stage(killed, "extract")
    assert advisory_locks(warehouse) == 1, "the load holds its advisory lock"
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    next_load = load_process(warehouse, sim.url)
    _, errors = next_load.communicate(timeout=120)
    assert next_load.returncode == 0, errors
    assert snapshot(warehouse)["test_cases"].rows
