"""Ctrl-C and SIGTERM stop a real load process within 5 s at any moment: a read that hangs or drips in a worker
thread, dlt's load step, an insert that never ends on PostgreSQL, the publish (which then finishes and says so).

Each case: exit 130 / 143, within 5 s of the signal (a behaviour bound, not a performance figure), one line on
stderr, the published warehouse as it was (or, after the publish, fully the new one), and the next load equal to a
clean load of the same API.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines import interrupts
from pipelines.interrupts import KEPT, PUBLISHED
from pipelines.warehouse.attempts import read_attempt
from simulator.crafted_api import CASES, RUNS, CraftedApi, SlowApi, changed_world, small_world
from tests.commands import STAGE_LINE
from tests.loads import load, load_process, load_with_key, wait_for_stage
from tests.snapshots import snapshot
from tests.warehouses import on_engines, working_dir

SIGNALS = [(signal.SIGTERM, 143), (signal.SIGINT, 130)]
SIGNAL_IDS = ["SIGTERM", "SIGINT"]
STOP_WITHIN_S = 5.0
LONG_TIMEOUT = {"SOURCES__BENCHMARKS__REQUEST_TIMEOUT": "300"}  # a hung read alone would never end the load
BIG_RUN_CASES = 20_000  # test cases in the big world's run: dlt's load step lasts about a second


def clean_load(db: Path, routes: dict[str, Any]) -> dict:
    with CraftedApi(routes) as api:
        load_with_key(db, api.url)
    return snapshot(db)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Any]:
    """Loaded once for the module: small_world()'s warehouse ("old", copied by each test) and the analytics views
    of clean loads of each world."""
    folder = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as patch:  # module fixtures run before conftest's per-test environment
        patch.chdir(folder)
        return {
            "old": folder / "old" / "w.duckdb",  # the same stem as the copies: DuckDB names the catalog after it
            "old_views": clean_load(folder / "old" / "w.duckdb", small_world()),
            "changed_views": clean_load(folder / "changed.duckdb", changed_world()),
            "big_views": clean_load(folder / "big.duckdb", changed_world(BIG_RUN_CASES)),
        }


def old_warehouse(tmp_path: Path, reference: dict[str, Any]) -> Path:
    """A copy of the published warehouse that holds small_world() (the next load seeds its working copy from it)."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(reference["old"], db)
    return db


def stop(process: subprocess.Popen, signal_number: int) -> tuple[float, str]:
    """Send the signal; (seconds until the process ended, the rest of its stderr)."""
    started = time.monotonic()
    process.send_signal(signal_number)
    try:
        _, errors = process.communicate(timeout=60)
    finally:
        process.kill()
    return time.monotonic() - started, errors


def assert_stopped(process: subprocess.Popen, seconds: float, errors: str, exit_code: int, line: str) -> list[str]:
    """Exit code, the time bound, and one line (after the stage lines) without a traceback; returns the stages."""
    assert process.returncode == exit_code, errors
    assert seconds < STOP_WITHIN_S, f"stopped {seconds:.1f} s after the signal"
    *stages, last = errors.strip().splitlines() or [""]
    assert last == line, errors
    assert all(STAGE_LINE.match(stage) for stage in stages), errors
    assert "Traceback" not in errors
    return [STAGE_LINE.match(stage).group(0).split()[-1] for stage in stages]


@pytest.mark.parametrize("mode", ["stall", "drip"])
@pytest.mark.parametrize("signal_number, exit_code", SIGNALS, ids=SIGNAL_IDS)
def test_a_hung_or_dripping_read_in_a_worker_thread_stops_within_5_s(tmp_path, reference, mode, signal_number,
                                                                   exit_code):
    db = old_warehouse(tmp_path, reference)
    with SlowApi(changed_world(), CASES, mode) as api:
        process = load_process(db, api.url, env=LONG_TIMEOUT)
        assert api.reached.wait(60), ended(process)
        time.sleep(0.3)  # the read is under way in a worker thread
        seconds, errors = stop(process, signal_number)
        assert_stopped(process, seconds, errors, exit_code, KEPT)
        assert snapshot(db) == reference["old_views"]
        attempt = read_attempt(working_dir(db))
        assert attempt.status == "failed" and attempt.error == KEPT
        api.release.set()
        load(db, api.url)
    assert snapshot(db) == reference["changed_views"]


@pytest.mark.parametrize("signal_number, exit_code", SIGNALS, ids=SIGNAL_IDS)
def test_a_signal_in_dlts_load_step_stops_within_5_s(tmp_path, reference, signal_number, exit_code):
    db = old_warehouse(tmp_path, reference)
    with CraftedApi(changed_world(BIG_RUN_CASES)) as api:
        process = load_process(db, api.url)
        assert wait_for_stage(process, "load"), ended(process)
        time.sleep(0.2)  # DuckDB is inserting the batches in dlt's worker threads
        seconds, errors = stop(process, signal_number)
        stages = assert_stopped(process, seconds, errors, exit_code, KEPT)
        assert stages == [], "the signal came after the load step"  # wait_for_stage read those before
        assert snapshot(db) == reference["old_views"]
        load(db, api.url)
    assert snapshot(db) == reference["big_views"]


@pytest.mark.parametrize("signal_number, exit_code", SIGNALS, ids=SIGNAL_IDS)
def test_a_signal_during_the_publish_lets_it_finish_and_says_so(tmp_path, reference, signal_number, exit_code):
    db = old_warehouse(tmp_path, reference)
    expected = reference["changed_views"]
    with CraftedApi(changed_world()) as api:
        process = load_process(db, api.url)
        assert wait_for_stage(process, "publish"), ended(process)
        seconds, errors = stop(process, signal_number)
        assert_stopped(process, seconds, errors, exit_code, PUBLISHED)
        assert snapshot(db) == expected
        attempt = read_attempt(working_dir(db))
        assert attempt.status == "succeeded" and attempt.summary == PUBLISHED
        load(db, api.url)
    assert snapshot(db) == expected




def waiting_on_a_lock(connection: Any) -> int:
    """Backends of this database waiting for a lock (dlt's COPY, behind the test's lock)."""
    cursor = connection.cursor()
    cursor.execute("select pg_stat_clear_snapshot()")  # inside the test's transaction the view would stand still
    cursor.execute("select count(*) from pg_stat_activity where datname = current_database() "
                   "and wait_event_type = 'Lock'")
    return cursor.fetchone()[0]


# (the table the test locks, the stage after which it takes the lock (None: before the load starts), the stage the
# load then waits in (None: no stage line comes first), the signal, its exit code). A load begins with its commit
# step (pipelines/warehouse/commit.py), which reads both bulk tables: a lock taken before the load blocks it.
BLOCKED = [
    ("test_case_messages", "extract", "load", signal.SIGTERM, 143),  # dlt's COPY, in dlt's worker thread
    ("test_case_messages", "extract", "load", signal.SIGINT, 130),
    # our own statement in the main thread (the opening commit step), locked out before any stage line: the deadline
    ("test_cases", None, None, signal.SIGTERM, 143),
]


def ended(process: subprocess.Popen) -> tuple[str, str]:
    """What a load that did not get where a test expected printed (killed first: it may be waiting forever)."""
    process.kill()
    return process.communicate()


@on_engines("postgres")
@pytest.mark.parametrize("table, lock_after, stage, signal_number, exit_code", BLOCKED,
                         ids=["copy-SIGTERM", "copy-SIGINT", "main-thread-query-SIGTERM"])
def test_a_statement_that_never_ends_on_postgresql_stops_within_5_s(warehouses, prebuilt, table, lock_after, stage,
                                                                     signal_number, exit_code):
    """The load waits for a lock the test holds: dlt's COPY in its worker thread, or a query in the main thread
    (psycopg2 lets no Python handler run meanwhile). Nothing stops them, so the process ends without them; the
    server then ends the sessions and their locks, the load lock included."""
    expected = prebuilt.snapshot_of(prebuilt.crafted(warehouses, "changed_world", changed_world()), raw=False)
    database = warehouses.copy(prebuilt.crafted(warehouses, "small_world", small_world()))
    before = snapshot(database)
    with CraftedApi(changed_world()) as api, database.connect() as blocker:
        lock = f"begin; lock table benchmarks_raw.{table} in access exclusive mode"
        if lock_after is None:
            blocker.cursor().execute(lock)
        process = load_process(database, api.url)
        if lock_after is not None:
            assert wait_for_stage(process, lock_after), ended(process)
            blocker.cursor().execute(lock)
        if stage is not None:
            assert wait_for_stage(process, stage), ended(process)
        deadline = time.monotonic() + 60
        while not waiting_on_a_lock(blocker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert waiting_on_a_lock(blocker)
        seconds, errors = stop(process, signal_number)
        blocker.cursor().execute("rollback")
        assert_stopped(process, seconds, errors, exit_code, KEPT)
        assert snapshot(database) == before
        attempt = read_attempt(working_dir(database))
        assert attempt.status == "failed" and attempt.error == KEPT
        load(database, api.url)  # not locked out by the stopped load
    assert snapshot(database) == expected


@pytest.mark.parametrize("signal_number, exit_code", SIGNALS, ids=SIGNAL_IDS)
def test_a_hung_read_in_the_change_check_stops_within_5_s(tmp_path, reference, monkeypatch, signal_number, exit_code):
    db = old_warehouse(tmp_path, reference)
    monkeypatch.setenv("SOURCES__BENCHMARKS__REQUEST_TIMEOUT", "300")  # the same settings for both loads
    with SlowApi(small_world(), RUNS, "stall") as api:
        api.release.set()
        load(db, api.url)  # recorded: the next load first checks whether the lists changed
        api.release.clear()
        process = load_process(db, api.url)
        assert api.reached.wait(60), ended(process)
        seconds, errors = stop(process, signal_number)
        assert assert_stopped(process, seconds, errors, exit_code, KEPT) == ["check"]
        api.release.set()
        load(db, api.url)
    assert snapshot(db) == reference["old_views"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("signal_number, exit_code", SIGNALS, ids=SIGNAL_IDS)
def test_a_long_duckdb_statement_in_the_main_thread_stops_within_5_s(tmp_path, reference, signal_number, exit_code):
    """`query` runs its statement in the main thread, where Python's handler waits for DuckDB: interrupt() ends it."""
    db = old_warehouse(tmp_path, reference)
    endless = "select sum(hash(range)) from range(1000000000000)"
    process = subprocess.Popen([sys.executable, "-m", "pipelines", "query", endless, "--db", str(db)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while cpu_seconds(process.pid) < 2.5 and time.monotonic() < deadline:  # imports take about a second of CPU
        time.sleep(0.1)
    seconds, errors = stop(process, signal_number)
    assert_stopped(process, seconds, errors, exit_code, KEPT)
    assert seconds < interrupts.INTERRUPT_GRACE_S  # ended by DuckDB's interrupt(), not by the deadline
    assert snapshot(db) == reference["old_views"]
