"""Reliability on PostgreSQL (a real, throwaway server: simulator/throwaway_postgres.py): crashes at random moments,
overlapping loads, faults, hostile API answers. The DuckDB versions are tests/test_reliability.py and
tests/test_bad_input.py.

Every check compares whole warehouses: all analytics tables (load_history aside, as its timestamps differ by nature).
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from pipelines.errors import ApiDataError
from pipelines.load.runner import run_load
from simulator.crafted_api import CASES, RUNS, CraftedApi, huge_and_deep_overrides, small_world
from simulator.server import Simulator
from simulator.world import World
from tests.commands import STAGE_LINE, kill_during, load_process, wait_for_stage
from tests.test_bad_input import REJECTED
from tests.warehouse_checks import assert_same_relations, pg_analytics_snapshot

CREDENTIALS = "DESTINATION__POSTGRES__CREDENTIALS"
FAST_RETRIES = {"max_attempts": 10, "backoff_max": 0.2}
STAGES = ("extract", "normalize", "load", "views", "publish")
CRASH_TRIALS = 8  # every stage at least once; even trials on a new warehouse, odd ones on an existing one


def pg_load(url: str, *extra: str):  # noqa: ANN201 - a subprocess.Popen
    """`benchmarks-etl load --destination postgres` into the database DESTINATION__POSTGRES__CREDENTIALS names."""
    return load_process(None, url, "--destination", "postgres", *extra)


def load_into_pg(url: str, **options) -> None:
    run_load(destination="postgres", base_url=url, **options)


def snapshot_of(database) -> dict[str, list[tuple]]:  # noqa: ANN001 - a PgDatabase or a database name and server
    with database.connect() as connection:
        return pg_analytics_snapshot(connection)


def raw_duplicates(connection) -> tuple[int, int]:  # noqa: ANN001
    """Keys found more than once in the bulk raw tables: (test_cases by id, test_case_messages by position)."""
    cursor = connection.cursor()
    cursor.execute("select count(*) from (select id from benchmarks_raw.test_cases group by id "
                   "having count(*) > 1) as d")
    cases = cursor.fetchone()[0]
    cursor.execute("select count(*) from (select test_case_id, position from benchmarks_raw.test_case_messages "
                   "group by test_case_id, position having count(*) > 1) as d")
    return cases, cursor.fetchone()[0]


def advisory_locks(connection) -> int:  # noqa: ANN001
    cursor = connection.cursor()
    cursor.execute("select count(*) from pg_locks where locktype = 'advisory' and granted "
                   "and database = (select oid from pg_database where datname = current_database())")
    return cursor.fetchone()[0]


def test_crash_at_random_moments_then_the_next_postgres_load_converges(databases):
    """SIGKILL a real load process at a random moment of a random stage, on a new and on an existing warehouse."""
    rng = random.Random(12)
    stages = [*STAGES, *rng.sample(STAGES, CRASH_TRIALS - len(STAGES))]
    rng.shuffle(stages)
    with Simulator(scale="tiny", epoch=0) as world0, Simulator(scale="tiny", epoch=1) as world1:
        reference0, reference1 = databases.new(), databases.new()
        databases.use(reference0)
        load_into_pg(world0.url)
        databases.use(reference1)
        load_into_pg(world0.url)
        load_into_pg(world1.url)
        expected = {0: databases.snapshot(reference0), 1: databases.snapshot(reference1)}
        assert expected[0]["test_cases"] and expected[0] != expected[1]
        killed_in, recovered = [], 0
        for trial, stage in enumerate(stages):
            changed_world = trial % 2  # 0: first load into a new warehouse; 1: a world change on an existing one
            database = databases.new()
            databases.use(database)
            if changed_world:
                load_into_pg(world0.url)
            url = (world0, world1)[changed_world].url
            killed_in.append(kill_during(pg_load(url), stage, rng.uniform(0, 0.3)))
            reached = killed_in[-1][1]
            recovery = pg_load(url)
            _, errors = recovery.communicate(timeout=120)
            recovered += "recover:" in errors
            what = f"trial {trial}: killed in {stage} ({'reached' if reached else 'not reached'})"
            assert recovery.returncode == 0, f"{what}: {errors}"
            assert_same_relations(expected[changed_world], databases.snapshot(database), what=what)
            with databases.connect(database) as connection:
                assert raw_duplicates(connection) == (0, 0), what
    print(f"killed loads (stage, reached, exit code): {killed_in}; {recovered} recoveries finished a package")
    assert sum(1 for _, reached, code in killed_in if reached and code == -signal.SIGKILL) >= CRASH_TRIALS // 2, \
        killed_in


def test_second_overlapping_postgres_load_exits_75_at_once_and_the_first_completes(pg_database, start_simulator):
    """The first load is held in its load stage (the test keeps a SHARE lock on dlt's _dlt_loads, so dlt cannot
    record the load) until the second has tried: the overlap does not depend on how fast this machine is."""
    sim = start_simulator("tiny", latency_ms=20)
    load_into_pg(sim.url)
    sim.set_epoch(1)
    with pg_database.connect() as holder:
        holder.cursor().execute("begin; lock table benchmarks_raw._dlt_loads in share mode")
        first = pg_load(sim.url)
        assert wait_for_stage(first, "load")
        started = time.monotonic()
        second = pg_load(sim.url)
        _, second_errors = second.communicate(timeout=60)
        # "At once": before any work. Resolving the credentials imports dlt (~1.5 s alone), slower on a busy machine.
        assert time.monotonic() - started < 30
        assert first.poll() is None, "the first load ended before the second tried: no overlap was tested"
        holder.cursor().execute("commit")
    lines = second_errors.strip().splitlines()
    assert second.returncode == 75 and len(lines) == 1, second_errors
    assert lines[0].startswith("error: Another load into postgresql://") and "server pid" in lines[0], lines
    assert "Traceback" not in second_errors and pg_database.server.password not in second_errors
    _, first_errors = first.communicate(timeout=120)
    assert first.returncode == 0, first_errors
    assert all(STAGE_LINE.match(line) for line in first_errors.strip().splitlines()), first_errors
    with pg_database.connect() as connection:
        assert advisory_locks(connection) == 0
        cursor = connection.cursor()
        cursor.execute("select count(*) from analytics.test_cases")
        assert cursor.fetchone()[0] == World(scale="tiny", epoch=1).counts()["test_cases"]


def test_a_load_killed_while_holding_the_lock_does_not_block_the_next(pg_database, start_simulator):
    sim = start_simulator("tiny", latency_ms=20)
    killed = pg_load(sim.url)
    assert wait_for_stage(killed, "extract")
    with pg_database.connect() as connection:
        assert advisory_locks(connection) == 1, "the load holds its advisory lock"
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    next_load = pg_load(sim.url)
    _, errors = next_load.communicate(timeout=120)
    assert next_load.returncode == 0, errors
    assert snapshot_of(pg_database)["test_cases"]


def test_postgres_load_through_twenty_percent_faults_equals_a_clean_load(databases, start_simulator):
    clean = start_simulator("tiny")
    faulty = start_simulator("tiny", fail_rate=0.2, retry_after=1)
    clean_db, faulty_db = databases.new(), databases.new()
    databases.use(clean_db)
    load_into_pg(clean.url)
    databases.use(faulty_db)
    load_into_pg(faulty.url, source_options=FAST_RETRIES)
    statuses = [r["status"] for r in faulty.requests]
    assert statuses.count(None) and statuses.count(429) and statuses.count(500) and statuses.count(503)
    assert_same_relations(databases.snapshot(clean_db), databases.snapshot(faulty_db), what="faulty vs clean")


def test_full_refresh_of_an_existing_postgres_warehouse(pg_database, start_simulator):
    """dlt's drop_sources drops the raw tables, which PostgreSQL refuses while views read them."""
    sim = start_simulator("tiny")
    load_into_pg(sim.url)
    before = snapshot_of(pg_database)
    load_into_pg(sim.url, full_refresh=True)
    assert_same_relations(before, snapshot_of(pg_database), what="after --full-refresh")


# Bad input (tests/test_bad_input.py), on PostgreSQL.

def crafted_load(routes: dict, full_refresh: bool = True) -> None:
    with CraftedApi(routes) as api:
        load_into_pg(api.url, full_refresh=full_refresh)


def test_rejected_with_the_endpoint_named_and_nothing_changed_on_postgres(pg_database):
    """Every case of tests/test_bad_input.py's REJECTED, one after another, against one loaded warehouse: each must
    leave it exactly as the first load made it."""
    crafted_load(small_world(), full_refresh=False)
    before = snapshot_of(pg_database)
    assert before["test_cases"]
    for case in REJECTED:
        override, message = case.values
        with pytest.raises(ApiDataError, match=message) as error:
            crafted_load(small_world(**override))
        assert "GET /api/v2/benchmarks/" in str(error.value), case.id
        assert_same_relations(before, snapshot_of(pg_database), what=f"after the rejected {case.id}")
    crafted_load(small_world())  # and the next good load works
    assert_same_relations(before, snapshot_of(pg_database), what="after a good load")


def test_negative_and_inconsistent_counts_are_loaded_and_reported_on_postgres(pg_database):
    world = small_world()
    run_object = dict(world[RUNS][0], totalCount=-1, passedCount=5, failedCount=1)
    crafted_load(small_world(**{RUNS: [run_object], CASES: {**run_object, "testCases": world[CASES]["testCases"]}}))
    with pg_database.connect() as connection:
        cursor = connection.cursor()
        cursor.execute("select distinct check_name from analytics.data_quality")
        checks = {name for (name,) in cursor.fetchall()}
        cursor.execute("select total_count, passed_count, failed_count from analytics.probe_runs")
        assert cursor.fetchall() == [(-1, 5, 1)]
    assert checks == {"negative_count", "passed_failed_exceed_total", "test_cases_disagree_with_counts"}


def test_huge_message_and_deep_config_load_exactly_on_postgres(pg_database):
    overrides, huge, deep, first_case_id = huge_and_deep_overrides()
    crafted_load(small_world(**overrides))
    with pg_database.connect() as connection:
        cursor = connection.cursor()
        cursor.execute("select content from analytics.test_case_messages where test_case_id = %s", [first_case_id])
        assert cursor.fetchall() == [(huge,)]
        cursor.execute("select config from benchmarks_raw.model_details")
        configs = [config for (config,) in cursor.fetchall()]
    assert len(huge.encode()) > 5_000_000
    assert any(_as_object(config) == deep for config in configs), "the 200-level config, exactly"


def _as_object(value):  # noqa: ANN001, ANN202 - jsonb arrives as a dict, text as a str
    import json

    return json.loads(value) if isinstance(value, str) else value
