"""PostgreSQL under server faults (a real, throwaway server: simulator/throwaway_postgres.py): a lock session that
dies mid-load, idle timeouts, failures during publish (permission, statement timeout, a terminated session), tables
in analytics that are not ours, and `status` from a host without the local record."""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.load.runner import run_load
from simulator.throwaway_postgres import PostgresUnavailable, ThrowawayPostgres, binaries
from tests.commands import assert_one_line_error, postgres_load_process, run_cli, wait_for_stage
from tests.warehouse_checks import assert_same_relations, pg_analytics_snapshot

CREDENTIALS = "DESTINATION__POSTGRES__CREDENTIALS"
LOCK_APPLICATION = "benchmarks-etl load lock"


@dataclass
class LoaderDatabase:
    """A fresh database and a loader role that is not a superuser (so privileges and role settings apply)."""

    server: object
    name: str
    role: str
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.role}:{self.password}@127.0.0.1:{self.server.port}/{self.name}"

    def admin(self, *statements: str) -> list[tuple]:
        """Run statements as the superuser in this database; the last one's rows."""
        rows: list[tuple] = []
        with self.server.connect(self.name) as connection:
            cursor = connection.cursor()
            for statement in statements:
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.description else []
        return rows

    def snapshot(self) -> dict:
        with self.server.connect(self.name) as connection:
            return pg_analytics_snapshot(connection)


@pytest.fixture()
def loader_db(postgres, monkeypatch) -> Iterator[LoaderDatabase]:
    role = f"loader_{secrets.token_hex(4)}"
    database = LoaderDatabase(postgres, postgres.create_database(), role, secrets.token_hex(8))
    with postgres.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(f"create role {role} login password '{database.password}'")
        cursor.execute(f'grant create, connect on database "{database.name}" to {role}')
    monkeypatch.setenv(CREDENTIALS, database.url)
    yield database
    postgres.drop_database(database.name)
    with postgres.connect() as connection:
        connection.cursor().execute(f"drop role if exists {role}")


@pytest.fixture()
def clean_snapshot(postgres, monkeypatch):  # noqa: ANN201 - a function url -> snapshot of a clean load
    """The analytics of a clean load of the API at `url`, into a database of its own."""
    made: list[str] = []

    def snapshot_of(url: str) -> dict:
        made.append(postgres.create_database())
        with monkeypatch.context() as patch:
            patch.setenv(CREDENTIALS, postgres.url(made[-1]))
            run_load(destination="postgres", base_url=url)
        with postgres.connect(made[-1]) as connection:
            return pg_analytics_snapshot(connection)

    yield snapshot_of
    for name in made:
        postgres.drop_database(name)


def backends(database: LoaderDatabase, condition: str) -> list[int]:
    return [pid for (pid,) in database.admin(
        f"select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() "
        f"and {condition}")]


def wait_for_backend(database: LoaderDatabase, condition: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = backends(database, condition)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no backend with {condition}")


def cli_load(url: str, tmp_path, *extra: str):  # noqa: ANN201 - a CompletedProcess
    return run_cli("load", "--destination", "postgres", "--base-url", url, *extra, cwd=tmp_path, key="demo-key")


def test_a_load_whose_lock_session_dies_exits_75_and_the_other_publishes(loader_db, start_simulator,
                                                                          clean_snapshot):
    """The lock's backend is terminated while the first load extracts; a second load then takes the lock. Exactly
    one publishes: the first stops at its next write (the fence), exit 75, one line; the warehouse equals a clean
    load."""
    sim = start_simulator("tiny", latency_ms=30)
    first = postgres_load_process(sim.url)
    assert wait_for_stage(first, "extract")
    lock_pid = wait_for_backend(loader_db, f"application_name = '{LOCK_APPLICATION}'")
    loader_db.admin(f"select pg_terminate_backend({lock_pid})")
    second = postgres_load_process(sim.url)
    _, second_errors = second.communicate(timeout=120)
    _, first_errors = first.communicate(timeout=120)
    assert second.returncode == 0, second_errors
    assert first.returncode == 75, first_errors
    last = first_errors.strip().splitlines()[-1]
    assert last.startswith("error: This load lost its lock") and "Traceback" not in first_errors, first_errors
    assert_same_relations(clean_snapshot(sim.url), loader_db.snapshot(), what="after the lost lock")
    assert loader_db.admin("select status from benchmarks_state.load_attempts order by epoch") == \
        [("running",), ("succeeded",)], "the load that lost its lock records nothing after it lost it"


def test_idle_session_timeout_does_not_end_the_lock_session(loader_db, start_simulator):
    """A database with idle_session_timeout: the lock session idles for the whole load and keeps its lock (the
    server would end an idle session after 0.3 s, and the load would carry on unlocked)."""
    loader_db.admin(f'alter database "{loader_db.name}" set idle_session_timeout = 300')  # 0.3 s
    sim = start_simulator("tiny", latency_ms=30)
    load = postgres_load_process(sim.url)
    assert wait_for_stage(load, "extract")
    time.sleep(1.5)
    held = loader_db.admin("select count(*) from pg_locks where locktype = 'advisory' and granted "
                           "and database = (select oid from pg_database where datname = current_database())")
    _, errors = load.communicate(timeout=120)
    assert held == [(1,)], "the load still holds its lock after idling past idle_session_timeout"
    assert load.returncode == 0, errors
    assert loader_db.snapshot()["test_cases"].rows


def test_a_permission_failure_in_publish_is_one_line_and_status_elsewhere_says_so(loader_db, start_simulator,
                                                                                   tmp_path):
    """An analytics table of ours given to another role: the publish fails with the cause named (exit 6), and
    `status` from a host without the local record (a fresh XDG_STATE_HOME) does not say OK."""
    sim = start_simulator("tiny")
    assert cli_load(sim.url, tmp_path).returncode == 0
    loader_db.admin("create role other_owner_" + loader_db.role[-8:],
                    f"alter table analytics.models owner to other_owner_{loader_db.role[-8:]}")
    sim.set_epoch(1)
    failed = cli_load(sim.url, tmp_path)
    assert_one_line_error(failed, 6, "failed while publishing", "permission denied")
    elsewhere = run_cli("status", "--destination", "postgres", cwd=tmp_path, key=None,
                        env={"XDG_STATE_HOME": str(tmp_path / "other-host")})
    assert elsewhere.returncode == 1, elsewhere.stdout + elsewhere.stderr
    assert "Health: PROBLEM" in elsewhere.stdout and "permission denied" in elsewhere.stdout, elsewhere.stdout
    loader_db.admin(f"alter table analytics.models owner to {loader_db.role}",
                    f"drop role other_owner_{loader_db.role[-8:]}")
    assert cli_load(sim.url, tmp_path).returncode == 0
    healthy = run_cli("status", "--destination", "postgres", cwd=tmp_path, key=None,
                      env={"XDG_STATE_HOME": str(tmp_path / "other-host")})
    assert healthy.returncode == 0 and "Health: OK" in healthy.stdout, healthy.stdout


def test_a_statement_timeout_during_publish_is_named(loader_db, start_simulator, tmp_path):
    """The loader's role has a statement_timeout; a reader holds a lock publish must wait for, longer than that."""
    sim = start_simulator("tiny")
    assert cli_load(sim.url, tmp_path).returncode == 0
    loader_db.admin(f"alter role {loader_db.role} set statement_timeout = '2s'")
    sim.set_epoch(1)
    with loader_db.server.connect(loader_db.name) as holder:
        holder.cursor().execute("begin; lock table analytics.models in exclusive mode")
        failed = cli_load(sim.url, tmp_path)
        holder.cursor().execute("rollback")
    assert_one_line_error(failed, 6, "failed while publishing", "statement_timeout")


def test_a_session_terminated_during_publish_is_named_and_the_next_load_converges(
    loader_db, start_simulator, clean_snapshot
):
    """Publish waits for a lock a reader holds; its backend is terminated meanwhile (as an administrator or a
    failover would). One line, exit 6, readers keep the previous load; the next load publishes the new one."""
    sim = start_simulator("tiny")
    before = clean_snapshot(sim.url)
    run_load(destination="postgres", base_url=sim.url)
    sim.set_epoch(1)
    with loader_db.server.connect(loader_db.name) as holder:
        holder.cursor().execute("begin; lock table analytics.models in exclusive mode")
        load = postgres_load_process(sim.url)
        publisher = wait_for_backend(loader_db, "wait_event_type = 'Lock' and query ilike '%analytics%'")
        loader_db.admin(f"select pg_terminate_backend({publisher})")
        _, errors = load.communicate(timeout=120)
        holder.cursor().execute("rollback")
    assert load.returncode == 6, errors
    last = errors.strip().splitlines()[-1]
    assert "failed while publishing" in last, errors
    assert "the connection to the server was lost" in last or "terminated by an administrator" in last, errors
    assert "Traceback" not in errors
    assert_same_relations(before, loader_db.snapshot(), what="after the failed publish")
    run_load(destination="postgres", base_url=sim.url)
    assert_same_relations(clean_snapshot(sim.url), loader_db.snapshot(), what="after the next load")


def test_tables_in_analytics_that_are_not_ours_are_never_dropped(loader_db, start_simulator, tmp_path):
    """A table of the loader's own and one of another role survive loads; one named like our view blocks the
    publish, named in the error (exit 6), until it is moved."""
    sim = start_simulator("tiny")
    assert cli_load(sim.url, tmp_path).returncode == 0
    other = f"notes_owner_{loader_db.role[-8:]}"
    loader_db.admin(f"set role {loader_db.role}", "create table analytics.my_notes (note text)",
                    "insert into analytics.my_notes values ('keep me')", "reset role",
                    f"create role {other}", "create table analytics.their_notes (note text)",
                    f"alter table analytics.their_notes owner to {other}")
    sim.set_epoch(1)
    assert cli_load(sim.url, tmp_path).returncode == 0
    assert loader_db.admin("select note from analytics.my_notes") == [("keep me",)]
    assert loader_db.admin("select to_regclass('analytics.their_notes') is not null") == [(True,)]
    loader_db.admin("drop table analytics.their_notes", f"drop role {other}")

    fresh = LoaderDatabase(loader_db.server, loader_db.server.create_database(), loader_db.role, loader_db.password)
    try:
        fresh.admin(f'grant create, connect on database "{fresh.name}" to {fresh.role}', "create schema analytics",
                    f"alter schema analytics owner to {fresh.role}", "create table analytics.leaderboard (x int)")
        blocked = run_cli("load", "--destination", "postgres", "--base-url", sim.url, cwd=tmp_path, key="demo-key",
                          env={CREDENTIALS: fresh.url, "XDG_STATE_HOME": str(tmp_path / "fresh")})
        assert_one_line_error(blocked, 6, "analytics.leaderboard", "not created by this project")
        assert fresh.admin("select count(*) from analytics.leaderboard") == [(0,)]
    finally:
        loader_db.server.drop_database(fresh.name)


@pytest.fixture()
def own_server(tmp_path, monkeypatch) -> Iterator[ThrowawayPostgres]:
    """A server of this test's own, since the test crashes it (the session's server serves every other test)."""
    server = ThrowawayPostgres(Path(tempfile.mkdtemp(prefix="benchmarks-postgres-crash-")))
    try:
        server.start()
    except PostgresUnavailable as exc:
        server.stop()
        pytest.skip(str(exc))
    yield server
    server.stop()


def crash_and_restart(server: ThrowawayPostgres) -> None:
    """pg_ctl stop -m immediate and start again: every session ends at once, nothing is shut down cleanly."""
    server._run(f"{binaries() / 'pg_ctl'} -D {server.data_dir} -l {server.directory / 'server.log'} -m immediate "
                "-w -t 60 restart")


def test_a_server_crash_during_copy_is_one_line_exit_6_and_the_next_load_converges(own_server, start_simulator,
                                                                                    monkeypatch):
    """Both bulk COPYs wait for a lock a reader holds; the server crashes and restarts under them. The load says
    so in one line (exit 6, not a lost lock: no other load took it), and the next load equals a clean one."""
    sim = start_simulator("tiny")
    reference, database = own_server.create_database(), own_server.create_database()
    monkeypatch.setenv(CREDENTIALS, own_server.url(database))
    run_load(destination="postgres", base_url=sim.url)
    sim.set_epoch(1)
    load = postgres_load_process(sim.url)
    # after the commit step a load starts with (it reads both tables), before the COPYs
    assert wait_for_stage(load, "extract"), "the load reached its extract"
    with own_server.connect(database) as holder:
        holder.cursor().execute("begin; lock table benchmarks_raw.test_cases, benchmarks_raw.test_case_messages "
                                "in exclusive mode")
        deadline = time.monotonic() + 60
        while len(crash_waiters(own_server, database)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(crash_waiters(own_server, database)) == 2, "both COPYs wait for the lock"
        crash_and_restart(own_server)
    _, errors = load.communicate(timeout=180)
    assert load.returncode == 6, errors
    last = errors.strip().splitlines()[-1]
    assert last.startswith("error: ") and own_server.password not in errors, errors
    assert "restarted" in last or "connection to the server was lost" in last or "server closed" in last, last
    run_load(destination="postgres", base_url=sim.url)
    monkeypatch.setenv(CREDENTIALS, own_server.url(reference))
    run_load(destination="postgres", base_url=sim.url)
    with own_server.connect(reference) as clean, own_server.connect(database) as recovered:
        assert_same_relations(pg_analytics_snapshot(clean), pg_analytics_snapshot(recovered), what="after the crash")


def crash_waiters(server: ThrowawayPostgres, database: str) -> list[int]:
    with server.connect(database) as connection:
        cursor = connection.cursor()
        cursor.execute("select pid from pg_stat_activity where datname = current_database() and "
                       "wait_event_type = 'Lock' and query ilike 'copy%'")
        return [pid for (pid,) in cursor.fetchall()]
