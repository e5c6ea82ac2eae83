"""Spark's load lock across hosts that share only the lake (pipelines/warehouse/spark/lease.py) and the load attempts
recorded there (spark/attempts.py). Two hosts are simulated by two state folders (XDG_STATE_HOME): each has its own
working folder and flock, so only the lease in the lake keeps their loads apart. Most tests need no cluster (the
lock is taken before Spark is contacted); the end-to-end one runs two real loads and `status` on the session's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.errors import ExitCode, WarehouseError
from pipelines.warehouse.attempts import LoadAttempt, now_iso
from pipelines.warehouse.destinations import open_engine
from pipelines.warehouse.file_lock import LoadAlreadyRunning, LoadLockLost
from pipelines.warehouse.spark import attempts as lake_attempts
from pipelines.warehouse.spark.lake import Lake
from pipelines.warehouse.spark.lease import LEASES, Lease
from simulator.crafted_api import CASES, SlowApi, changed_world
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load_process
from tests.warehouses import SPARK_CONNECT_URL, SPARK_LAKE_URL, SparkWarehouse

TTL = 2.0  # seconds: renewed every 0.67 s; lost when a renewal comes over 1 s late (room on a busy machine)
LEASE_SECONDS = "DESTINATION__SPARK__LEASE_SECONDS"
UNREACHABLE = "sc://127.0.0.1:9"  # never contacted by these tests: the lock comes before Spark


class Hosts:
    """Two hosts on one lake: the environment each one's processes run with (its own state folder)."""

    def __init__(self, root: Path, connect_url: str = UNREACHABLE, ttl: float = TTL) -> None:
        self.lake = root / "lake"
        self.env = [{"XDG_STATE_HOME": str(root / f"host{host}"), SPARK_LAKE_URL: str(self.lake),
                     SPARK_CONNECT_URL: connect_url, LEASE_SECONDS: str(ttl)} for host in (1, 2)]

    def engine(self, host: int, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - a SparkLake
        """The product's engine as `benchmarks-etl load` on that host builds it."""
        for name, value in self.env[host - 1].items():
            monkeypatch.setenv(name, value)
        return open_engine("spark")

    def lease_files(self) -> list[str]:
        folder = self.lake.joinpath(*LEASES)
        return sorted(path.name for path in folder.glob("*.json")) if folder.exists() else []


# A load's lock held in a process of its own on host 1: "held" once it holds the lake (its attempt recorded as
# running), then on a line of stdin the fence is checked and its outcome printed.
HOLDER = """
import sys
from pipelines.errors import BenchmarksEtlError
from pipelines.warehouse.attempts import LoadAttempt, now_iso
from pipelines.warehouse.destinations import open_engine
engine = open_engine("spark")
with engine.load_lock():
    engine.record_attempt(LoadAttempt(started_at=now_iso(), status="running"))
    print("held", flush=True)
    sys.stdin.readline()
    try:
        engine.check_lease()
        print("fence passed", flush=True)
    except BenchmarksEtlError as exc:
        print(int(exc.exit_code), type(exc).__name__, exc, flush=True)
"""


def start_holder(hosts: Hosts) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], env={**os.environ, **hosts.env[0]},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held", holder.stderr.read()
    return holder


def fence_outcome(holder: subprocess.Popen) -> str:
    holder.stdin.write("\n")
    holder.stdin.flush()
    out, errors = holder.communicate(timeout=60)
    assert holder.returncode == 0, errors
    return out.strip()


def test_a_second_host_exits_75_while_the_first_holds_past_its_ttl_and_release_frees_the_lake(tmp_path, monkeypatch):
    hosts = Hosts(tmp_path)
    first, second = hosts.engine(1, monkeypatch), hosts.engine(2, monkeypatch)
    assert first.working_dir != second.working_dir  # two flocks: only the lease can keep the second out
    with first.load_lock():
        held = hosts.lease_files()
        assert len(held) == 1
        deadline = time.monotonic() + 3 * TTL  # well past the ttl: only renewal keeps the lease
        while time.monotonic() < deadline:
            with pytest.raises(LoadAlreadyRunning, match=f"pid {os.getpid()}") as refused, second.load_lock():
                pass
            assert refused.value.exit_code == ExitCode.TRY_AGAIN_LATER == 75
            assert hosts.lease_files() == held  # the refused contender removed its own lease
            time.sleep(0.5)
        first.check_lease()  # the fence passes: the lease was renewed all along
    assert hosts.lease_files() == []  # released
    with second.load_lock():
        assert len(hosts.lease_files()) == 1


def test_a_killed_holders_lease_blocks_until_it_expires_then_is_taken_over(tmp_path, monkeypatch):
    ttl = 4.0  # room for the checks below before it expires, on a busy machine too
    hosts = Hosts(tmp_path, ttl=ttl)
    second = hosts.engine(2, monkeypatch)
    holder = start_holder(hosts)
    stale = hosts.lease_files()
    holder.kill()
    holder.wait()
    killed_at = time.monotonic()
    assert lake_attempts.recorded_attempts(second.lake)[2] is True  # its lease still stands: "running"
    with pytest.raises(LoadAlreadyRunning), second.load_lock():
        pass
    assert time.monotonic() - killed_at < 2 * ttl / 3, "too slow to tell: the lease may have expired meanwhile"
    time.sleep(ttl + 0.2)
    attempt, _, running = second.recorded_attempts()
    assert attempt.status == "running" and running is False  # status: killed before it finished
    with second.load_lock():
        taken = hosts.lease_files()
        assert len(taken) == 1 and taken != stale  # the expired lease was removed, a new one holds the lake


def test_a_paused_holder_whose_lease_was_taken_over_is_stopped_at_the_fence(tmp_path, monkeypatch):
    """SIGSTOP the holder (a long GC pause, a suspended VM) past its ttl: another host takes the lake over; when the
    holder resumes, its fence (checked before the catalog changes) fails with LoadLockLost, exit 75."""
    hosts = Hosts(tmp_path)
    holder = start_holder(hosts)
    holder.send_signal(signal.SIGSTOP)
    try:
        time.sleep(TTL + 0.2)
        second = hosts.engine(2, monkeypatch)
        with second.load_lock():
            holder.send_signal(signal.SIGCONT)
            outcome = fence_outcome(holder)
            second.check_lease()  # the load that took over still holds the lake
    finally:
        holder.send_signal(signal.SIGCONT)
    assert outcome.startswith("75 LoadLockLost This load lost its lock on the lake at"), outcome
    assert "stopped without publishing" in outcome


def test_an_unpaused_holder_passes_its_fence(tmp_path):
    """The same process without the pause: the fence passes (the test above fails for the pause, not by itself)."""
    hosts = Hosts(tmp_path)
    holder = start_holder(hosts)
    time.sleep(2 * TTL)
    assert fence_outcome(holder) == "fence passed"


def test_the_fence_waits_out_a_contender_giving_up_but_not_a_load_that_took_over(tmp_path):
    """Another unexpired lease at the fence: a contender that saw this lease removes its own within moments (the
    fence passes); a load that took over (this lease was renewed too late, or resurrected by a renewal racing the
    takeover) stays, and the fence fails."""
    lake = Lake(str(tmp_path / "lake"))
    holder = Lease(lake, 6.0, "the lake")  # a sixth of it, 1 s, is how long the fence waits for a contender
    holder.acquire()
    other = lake.path(*LEASES, "other.json")
    record = {"host": "elsewhere", "pid": 1, "started_at": now_iso(), "expires_at": time.time() + 60}
    try:
        lake.write_json(other, record)
        threading.Timer(0.3, lake.remove, [other]).start()  # a contender giving up
        holder.check()
        lake.write_json(other, record)  # a load that took over
        with pytest.raises(LoadLockLost, match=r"another load holds a lease \(host elsewhere, pid 1,") as lost:
            holder.check()
        assert lost.value.exit_code == 75
    finally:
        holder.release()
    assert [Path(path).name for path in lake.fs.glob(f"{holder.folder}/*.json")] == ["other.json"]


def test_a_lake_the_lease_cannot_be_written_to_is_a_warehouse_error(tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("")
    hosts = Hosts(tmp_path)
    hosts.env[0][SPARK_LAKE_URL] = str(tmp_path / "not-a-folder" / "lake")
    engine = hosts.engine(1, monkeypatch)
    with pytest.raises(WarehouseError, match="Cannot take the load lock in the lake at") as refused, \
            engine.load_lock():
        pass
    assert refused.value.exit_code == ExitCode.WAREHOUSE


def test_attempts_recorded_on_one_host_are_read_on_another(tmp_path, monkeypatch):
    hosts = Hosts(tmp_path)
    first, second = hosts.engine(1, monkeypatch), hosts.engine(2, monkeypatch)
    assert second.recorded_attempts() is None  # nothing recorded yet: the working folder's record counts
    monkeypatch.setattr(lake_attempts, "ATTEMPTS_KEPT", 3)
    succeeded_at = None
    for outcome in ("succeeded", "failed", "failed", "failed", "running"):
        attempt = LoadAttempt(started_at=now_iso(), status="running", pid=os.getpid())
        with first.load_lock():
            first.record_attempt(attempt)
            assert second.recorded_attempts()[2] is True  # running, its lease standing
            if outcome != "running":
                attempt.status, attempt.finished_at = outcome, now_iso()
                attempt.error = "the API was down" if outcome == "failed" else None
                first.record_attempt(attempt)
                succeeded_at = attempt.finished_at if outcome == "succeeded" else succeeded_at
            newest, last_success, running = second.recorded_attempts()
        assert (newest.status, newest.error, running) == (outcome, attempt.error, outcome == "running")
        assert last_success.isoformat() == succeeded_at  # kept beyond the attempts kept
    files = sorted(hosts.lake.joinpath(*lake_attempts.ATTEMPTS).glob("*.json"))
    assert len(files) == 3 and json.loads(files[-1].read_text())["host"]
    assert second.recorded_attempts()[2] is False  # released: the "running" attempt's lease no longer stands


@pytest.mark.xdist_group("spark-loads")  # with test_spark.py: a second cluster, so both workers share the Spark tests
@pytest.mark.timeout(1800)  # a first load into Spark and a status that counts every view: 8 min on a busy machine
def test_two_real_loads_on_two_hosts_and_status_on_the_other_host(spark, tmp_path):
    """Host 1's load stalls in its extract; host 2's load exits 75 at once, one line naming host 1's load. Host 1's
    load then completes; its next load fails (the API is gone), and `status` on host 2 reports that failure."""
    hosts = Hosts(tmp_path, spark.connect_url, ttl=120)  # the default's order: renewal must not be what is tested
    warehouse = SparkWarehouse(spark, hosts.lake).fresh()
    with SlowApi(changed_world(), CASES) as api:
        first = load_process(warehouse, api.url, env=hosts.env[0])
        assert api.reached.wait(120), "the first load reached its extract"
        started = time.monotonic()
        second = load_process(warehouse, api.url, env=hosts.env[1])
        _, second_errors = second.communicate(timeout=60)
        assert time.monotonic() - started < 30
        assert first.poll() is None, "the first load ended before the second tried: no overlap was tested"
        api.release.set()
        _, first_errors = first.communicate(timeout=600)
    lines = second_errors.strip().splitlines()
    assert second.returncode == 75 and len(lines) == 1, second_errors
    assert lines[0].startswith(f"error: Another load into {hosts.lake} is running (host "), lines
    assert f"pid {first.pid}" in lines[0]
    assert first.returncode == 0, first_errors
    # without the mass-removal guard's read of analytics: this load fails at its first request, Spark untouched
    failed = run_cli("load", "--destination", "spark", "--base-url", api.url, "--allow-mass-removal", cwd=tmp_path,
                     env={**hosts.env[0], "SOURCES__BENCHMARKS__MAX_ATTEMPTS": "1"})
    assert_one_line_error(failed, ExitCode.API_UNAVAILABLE)
    # status counts every analytics view's rows on Spark: minutes on a busy machine (docs/spark.md)
    status = subprocess.run([sys.executable, "-m", "pipelines", "status", "--destination", "spark"], cwd=tmp_path,
                            env={**os.environ, **hosts.env[1]}, capture_output=True, text=True, timeout=1200)
    assert status.returncode == 1, status.stderr
    assert "Last attempt: failed" in status.stdout and "Health: PROBLEM - the last load failed" in status.stdout
    assert failed.stderr.strip().splitlines()[-1].removeprefix("error: ") in status.stdout
