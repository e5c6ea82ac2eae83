"""Reliability, on every engine: faults, an API that stays down, crashes at random moments, overlapping loads,
readers, signals.

Every check compares whole warehouses (tests/warehouses.py's snapshot: every analytics relation, load_history aside
as its timestamps differ by nature; with the raw test cases and messages where a crash could double them) with what
a clean load makes (tests/prebuilt.py).
"""

from __future__ import annotations

import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipelines.api.security import check_base_url
from pipelines.errors import ApiUnavailableError, ConfigError
from simulator.crafted_api import CASES, SlowApi, changed_world
from simulator.world import World
from tests.commands import STAGE_LINE, HoldingReader
from tests.loads import kill_during, load, load_process, wait_for_stage
from tests.prebuilt import reads_raw
from tests.snapshots import assert_same_relations, rows, snapshot, values
from tests.warehouse_checks import raw_duplicates
from tests.warehouses import ENGINES, on_engines

FAST_RETRIES = {"max_attempts": 10, "backoff_max": 0.2}
STAGES = ("extract", "normalize", "load", "views", "publish")
# Every stage on a new and on an existing warehouse, twice on DuckDB; every stage at least once on PostgreSQL and on
# Spark (extract, load and publish on a new lake; normalize and views on an existing one).
CRASH_TRIALS = {"duckdb": 20, "postgres": 8, "spark": 5}
# Spark's tests below load lakes of their own (tests/warehouses.py's on_engines: the "spark-loads" group).
ALL_ENGINES = on_engines(*ENGINES, "spark", spark_group="spark-loads")
# On Spark, a killed load's lease keeps the next load out until it expires (docs/spark.md): short in the crash
# trials, so that the next load waits seconds, not the default two minutes.
LEASE_SECONDS = 6


def test_load_through_twenty_percent_faults_equals_a_clean_load(start_simulator, warehouse, warehouses, prebuilt):
    faulty = start_simulator("tiny", fail_rate=0.2, retry_after=1)
    load(warehouse, faulty.url, source_options=FAST_RETRIES)
    statuses = [r["status"] for r in faulty.requests]
    assert statuses.count(None) and statuses.count(429) and statuses.count(500) and statuses.count(503)
    assert_same_relations(prebuilt.expected(warehouses), snapshot(warehouse, raw=True), what="faulty vs clean")


# How soon a load gives up on an API that stays down, at most: its three attempts take about a second; on Spark the
# load first reads the published views' entities over Spark Connect (the mass-removal guard's baseline), seconds on
# the local cluster and a minute when the machine is busy.
GIVES_UP_WITHIN = {"duckdb": 10, "postgres": 10, "spark": 120}


@ALL_ENGINES
@pytest.mark.timeout(1200)
def test_api_that_stays_down_gives_up_in_bounded_time_and_changes_nothing(start_simulator, loaded_warehouse,
                                                                          warehouses, prebuilt):
    sim = start_simulator("tiny")
    sim.set_epoch(1)
    sim.set_fail_rate(1.0)
    started = time.monotonic()
    with pytest.raises(ApiUnavailableError, match="after 3 attempts"):
        load(loaded_warehouse, sim.url, source_options={"max_attempts": 3, "backoff_max": 0.2})
    assert time.monotonic() - started < GIVES_UP_WITHIN[loaded_warehouse.engine_name]
    assert_same_relations(prebuilt.reference(warehouses, (0,)),
                          snapshot(loaded_warehouse, raw=reads_raw(loaded_warehouse)), what="after the API was down")


@ALL_ENGINES
@pytest.mark.timeout(2400)
def test_crash_at_random_moments_then_the_next_load_converges(worlds, warehouses, prebuilt, monkeypatch):
    """SIGKILL a real load process at a random moment of each stage, on a new and on an existing warehouse (a copy
    of a clean load of epoch 0, loading epoch 1); the next load must make what clean loads make, nothing doubled.
    Each trial's load process runs, and is killed, while the trial before it recovers (trials share nothing); on
    Spark one trial after another (the cluster has one catalog), each next load after the killed one's lease ran out."""
    rng = random.Random(7)
    expected = [prebuilt.reference(warehouses, (0,)), prebuilt.reference(warehouses, (0, 1))]
    assert expected[0]["test_cases"].rows and expected[0] != expected[1]
    trials, overlapping = CRASH_TRIALS[warehouses.engine_name], warehouses.engine_name != "spark"
    monkeypatch.setenv("DESTINATION__SPARK__LEASE_SECONDS", str(LEASE_SECONDS))  # Spark's; ignored elsewhere

    def crash(trial: int) -> tuple:
        """The trial's warehouse and API, and its load process killed (in a thread: only the process is touched
        there, as the main thread's load may be reading the environment)."""
        changed_world = trial % 2  # 0: first load into a new warehouse; 1: a world change on an existing one
        if changed_world:
            target = warehouses.copy(prebuilt.world(warehouses, (0,), served=False), f"trial{trial}")
        else:
            target = warehouses.new(f"trial{trial}")
        url, stage = worlds[changed_world].url, STAGES[trial % len(STAGES)]
        process = load_process(target, url)
        return target, url, crashes.submit(kill_during, process, stage, rng.uniform(0, 0.25))

    killed_in = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crash") as crashes:
        upcoming = crash(0)
        for trial in range(trials):
            target, url, killing = upcoming
            killed_in.append(killing.result())
            if overlapping and trial + 1 < trials:
                upcoming = crash(trial + 1)
            stage, reached, _ = killed_in[-1]
            what = f"trial {trial}: killed in {stage} ({'reached' if reached else 'not reached'})"
            if not overlapping:
                time.sleep(LEASE_SECONDS)
            load(target, url)  # the next load
            assert_same_relations(expected[trial % 2], snapshot(target, raw=reads_raw(target)), what=what)
            assert not reads_raw(target) or raw_duplicates(target) == [(0, 0)], what
            if not overlapping and trial + 1 < trials:
                upcoming = crash(trial + 1)
    print(f"killed loads (stage, reached, exit code): {killed_in}")
    assert sum(1 for _, reached, code in killed_in if reached and code == -signal.SIGKILL) >= trials // 2, killed_in


# What the second load says, and how soon at most (a PostgreSQL load resolves its credentials first, which imports
# dlt: about 1.5 s alone, slower on a busy machine).
OVERLAP = {"duckdb": ("error: Another load of this warehouse is running", 10),
           "postgres": ("error: Another load into postgresql://", 30),
           "spark": ("error: Another load of this warehouse is running", 30)}  # this host's lock, before the lake's


@ALL_ENGINES
@pytest.mark.timeout(1200)
def test_second_overlapping_load_exits_75_at_once_and_the_first_completes(warehouse):
    """The first load stalls in its extract (one answer of the API waits) until the second has tried: the overlap
    does not depend on how fast this machine is."""
    first_words, within = OVERLAP[warehouse.engine_name]
    world = changed_world()
    with SlowApi(world, CASES) as api:
        first = load_process(warehouse, api.url)
        assert api.reached.wait(60), "the first load reached its extract"
        started = time.monotonic()
        second = load_process(warehouse, api.url)
        _, second_errors = second.communicate(timeout=60)
        assert time.monotonic() - started < within
        assert first.poll() is None, "the first load ended before the second tried: no overlap was tested"
        api.release.set()
        _, first_errors = first.communicate(timeout=600)  # on Spark, a first load creates every view
    lines = second_errors.strip().splitlines()
    assert second.returncode == 75 and len(lines) == 1, second_errors
    assert lines[0].startswith(first_words), lines
    assert "Traceback" not in second_errors
    if warehouse.engine_name == "postgres":
        assert "server pid" in lines[0] and warehouse.server.password not in second_errors, lines
    assert first.returncode == 0, first_errors
    assert all(STAGE_LINE.match(line) for line in first_errors.strip().splitlines()), first_errors
    assert values(warehouse, "select count(*) from {analytics}.test_cases") == [(len(world[CASES]["testCases"]),)]


@on_engines("duckdb")
def test_a_reader_holding_the_file_open_neither_blocks_nor_sees_half_a_load(start_simulator, loaded_warehouse):
    db = loaded_warehouse.db  # the tiny world at epoch 0
    sim = start_simulator("tiny", epoch=1)
    reader = HoldingReader(db, "test_cases")
    before = reader.first_count
    load(db, sim.url)  # must not fail although another process has the file open
    still = reader.count_again()
    assert before == still == World(scale="tiny").counts()["test_cases"]
    assert len(rows(db, "test_cases")) == World(scale="tiny", epoch=1).counts()["test_cases"]


@on_engines("duckdb")
@pytest.mark.parametrize("signal_number, exit_code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_cleanly(start_simulator, loaded_warehouse, signal_number, exit_code):
    """Half a second into a full refresh's extract (the small world, read slowly, is not read by then)."""
    sim = start_simulator("small", latency_ms=40)
    before = snapshot(loaded_warehouse)
    process = load_process(loaded_warehouse, sim.url, "--full-refresh")
    assert wait_for_stage(process, "extract")
    time.sleep(0.5)
    process.send_signal(signal_number)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == exit_code
    assert "Interrupted; the warehouse keeps its previous contents." in errors and "Traceback" not in errors
    assert snapshot(loaded_warehouse) == before


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("http://api.example.com", False),
        ("http://10.1.2.3:8080", False),
        ("ftp://api.example.com", False),
        ("http://127.0.0.1:9", True),
        ("http://localhost:9", True),
        ("http://[::1]:9", True),
    ],
)
def test_plain_http_only_to_loopback(tmp_path, url, allowed):
    if allowed:
        with pytest.raises(ApiUnavailableError):  # allowed, then nothing listens there
            load(tmp_path / "w.duckdb", url, source_options={"max_attempts": 1})
    else:
        with pytest.raises(ConfigError, match="Refusing plain http|must be an http"):
            load(tmp_path / "w.duckdb", url)


def test_insecure_http_can_be_allowed_explicitly():
    # Checked without connecting: tests never send traffic beyond loopback.
    assert check_base_url("http://api.example.com", allow_insecure_http=True) == "http://api.example.com"
    with pytest.raises(ConfigError):
        check_base_url("http://api.example.com")


def test_tls_verification_is_never_disabled():
    sources = list((Path(__file__).resolve().parent.parent / "pipelines").rglob("*.py"))
    assert sources
    for source in sources:
        text = source.read_text()
        assert "verify=False" not in text and "CERT_NONE" not in text, source
