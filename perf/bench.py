"""The performance harness: ours vs the peer (dlt rest_api) vs the floor (requests + JSON decode only), and ours
into PostgreSQL and into Spark against ours into DuckDB.

Starts the simulator in its own process, runs each contender as its own process on the same data, and records
wall time, requests, test cases per second and the peak RSS of the contender's process tree. Medians over
repetitions go to perf/RESULTS.md with the machine and the exact command. The PostgreSQL contenders load into a
throwaway server (perf/postgres_server.py) started once per run on the same machine: a fresh database for every
full load; the Spark contenders into a throwaway cluster (perf/spark_server.py), a fresh lake for every full load;
the servers' own CPU is counted apart. perf/contenders.py says what each contender runs.

Usage: python perf/bench.py --preset quick|medium|postgres|spark|full [--out perf/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import psutil
import requests
from bench_report import report
from contenders import CHANGE, DUCKDB, NO_CHANGE, POSTGRES, SPARK, prepare, server_of, stored_mb
from postgres_server import BenchPostgres
from spark_server import BenchSpark
from stages import describe, durations, marks_from_lines, summary_seconds

HERE = Path(__file__).resolve().parent
KEY = "demo-key"


@dataclass(frozen=True)
class Scenario:
    scale: str
    latency_ms: float
    repeat: int
    contenders: tuple[str, ...]


PRESETS = {
    "quick": [Scenario("small", 0, 3, ("ours", "ours-no-change", "peer", "floor"))],
    # ours at the medium scale: the no-change and the change reload against a full load, without the slow peer
    "medium": [Scenario("medium", 0, 3, (*DUCKDB, "ours-2.0-storage", *POSTGRES, "floor"))],
    # `make bench-postgres`: PostgreSQL against DuckDB at the medium scale (perf/view_timings.py adds the views)
    "postgres": [Scenario("medium", 0, 3, (*DUCKDB, *POSTGRES))],
    "postgres-quick": [Scenario("small", 0, 1, (*DUCKDB, *POSTGRES))],  # a check that it runs
    # `make bench-spark`: Spark against DuckDB and PostgreSQL at the medium scale (perf/spark_view_timings.py: views)
    "spark": [Scenario("medium", 0, 3, (*DUCKDB, *POSTGRES, *SPARK))],
    "spark-quick": [Scenario("small", 0, 1, (*DUCKDB, *SPARK))],  # a check that it runs
    # the no-change load at the medium scale against its target (under 2 s, perf/BOUNDS.md), each after a full load
    "no-change": [Scenario("medium", 0, 5, ("ours", "ours-no-change"))],
    "full": [
        Scenario("medium", 0, 3, (*DUCKDB, "ours-2.0-storage", *POSTGRES, *SPARK, "peer", "floor")),
        Scenario("medium", 50, 1, ("ours", "floor")),
        Scenario("large", 0, 1, (*DUCKDB, "ours-2.0-storage", *POSTGRES, *SPARK, "floor")),
    ],
}


MAKE_TARGETS = {"quick": "`make bench` (= ", "medium": "`make bench-medium` (= ", "full": "`make bench-full` (= ",
                "postgres": "`make bench-postgres` (first part: ", "spark": "`make bench-spark` (first part: "}


@dataclass
class Measurement:
    seconds: float
    requests: int
    peak_rss_mb: float
    cpu_seconds: float  # user + system of the contender's process tree
    simulator_cpu_seconds: float  # what the simulator spent serving it, on the same two cores
    file_mb: float | None = None  # the published warehouse file (the database's size on PostgreSQL), for ours
    server_cpu_seconds: float | None = None  # what the PostgreSQL server spent, for the PostgreSQL contenders
    stages: dict[str, float] | None = None  # seconds per stage of a load that had something to do (stages.py)


def start_simulator(scale: str, latency_ms: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--scale", scale, "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, text=True,
    )
    return process, process.stdout.readline().split("listening on ")[1].split()[0]


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float, str, str]:
    """(wall seconds, peak RSS in MB of the process and its children sampled every 20 ms, their CPU seconds,
    stdout, stderr). Both outputs go to files, so no pipe fills up while the process runs."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, text=True)
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                tree = [watched, *watched.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)
        seconds = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        outputs = []
        for stream in (stdout, stderr):
            stream.seek(0)
            outputs.append(stream.read())
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {outputs[1][-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, peak / 2**20, cpu, outputs[0], outputs[1]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


@dataclass
class Servers:
    """The servers some contenders load into, each started on first use and stopped at the end of the run."""

    postgres: BenchPostgres
    spark: BenchSpark


def measure(contender: str, url: str, workdir: Path, env: dict[str, str], simulator: psutil.Process,
            servers: Servers) -> Measurement:
    requests.delete(url + "/_sim/requests", timeout=10)
    run = prepare(contender, url, workdir, env, servers)
    server = server_of(run, servers)
    if contender in CHANGE:  # the next epoch of the same world: some runs re-run, some removed, some new
        requests.post(url + "/_sim/epoch", params={"n": 1}, timeout=30).raise_for_status()
    simulator_before, server_before = cpu_seconds(simulator), server.cpu_seconds() if server else 0.0
    try:
        seconds, rss, cpu, stdout, stderr = run_measured(run.command, run.env)
    finally:
        if contender in CHANGE:  # back to epoch 0 for the next repetition's full load
            requests.post(url + "/_sim/epoch", params={"n": 0}, timeout=30).raise_for_status()
    simulator_cpu = cpu_seconds(simulator) - simulator_before
    server_cpu = server.cpu_seconds() - server_before if server else None
    count = len(requests.get(url + "/_sim/requests", timeout=30).json())
    end = summary_seconds(stdout)
    stages = durations(marks_from_lines(stderr), end) if end is not None and contender not in NO_CHANGE else None
    return Measurement(seconds, count, rss, cpu, simulator_cpu, stored_mb(run, servers), server_cpu, stages or None)


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def run_scenario(scenario: Scenario, workdir: Path, env: dict[str, str],
                 servers: Servers) -> dict[str, list[Measurement]]:
    simulator, url = start_simulator(scenario.scale, scenario.latency_ms)
    results: dict[str, list[Measurement]] = {name: [] for name in scenario.contenders}
    try:
        for repetition in range(scenario.repeat):
            for contender in scenario.contenders:
                measurement = measure(contender, url, workdir, env, psutil.Process(simulator.pid), servers)
                results[contender].append(measurement)
                server = (f" {measurement.server_cpu_seconds:6.2f} server CPU s"
                          if measurement.server_cpu_seconds is not None else "")
                stages = f" ({describe(measurement.stages)})" if measurement.stages else ""
                print(f"  {scenario.scale} latency {scenario.latency_ms:g} ms, run {repetition + 1}: {contender:<23}"
                      f" {measurement.seconds:7.2f} s {measurement.requests:6,} requests "
                      f"{measurement.peak_rss_mb:7.0f} MB {measurement.cpu_seconds:6.2f} CPU s{server}{stages}",
                      flush=True)
    finally:
        simulator.terminate()
        simulator.wait()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--repeat", type=int, help="repetitions of every scenario (default: the preset's)")
    args = parser.parse_args()
    scenarios = [replace(scenario, repeat=args.repeat or scenario.repeat) for scenario in PRESETS[args.preset]]
    env = {**os.environ, "SOURCES__BENCHMARKS__API_KEY": KEY, "RUNTIME__LOG_LEVEL": "ERROR",
           "RUNTIME__DLTHUB_TELEMETRY": "false"}
    started = time.monotonic()
    sections = []
    with tempfile.TemporaryDirectory(prefix="bench-") as directory, BenchPostgres() as postgres, \
            BenchSpark() as spark:
        for scenario in scenarios:
            results = run_scenario(scenario, Path(directory), env, Servers(postgres, spark))
            sections.extend(report(scenario, results))
    header = [
        f"# Performance: `{args.preset}` preset",
        "",
        f"Machine: {machine()}. Command: {MAKE_TARGETS.get(args.preset, '')}"
        f"`.venv/bin/python perf/bench.py --preset {args.preset}"
        f"{f' --repeat {args.repeat}' if args.repeat else ''}`{')' if args.preset in MAKE_TARGETS else ''},"
        f" {time.monotonic() - started:.0f} s in all, run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Every contender runs as its own process against the simulator in another process; peak RSS is sampled "
        "every 20 ms over the contender's process tree; requests are counted by the simulator. CPU s is the user + "
        "system time of the contender's processes, simulator CPU s what the simulator spent meanwhile: both share "
        "the same cores. The PostgreSQL contenders load into a local throwaway server (fsync off), the Spark "
        "contenders into a throwaway standalone cluster (two 1-core workers, the Connect server) on those cores "
        "too: server CPU s is what the server's processes spent meanwhile. Stored MB: the DuckDB file, the "
        "PostgreSQL database, the Spark lake's folder. A change load is the simulator's next epoch (some runs "
        "re-run, removed or new) loaded into the warehouse the no-change load left.",
        "",
    ]
    text = "\n".join(header + sections)
    out = args.out if args.preset == "full" else args.out.with_name(f"RESULTS-{args.preset}.md")
    out.write_text(text)
    print(text)
    print(json.dumps({"written": str(out)}))


if __name__ == "__main__":
    main()
