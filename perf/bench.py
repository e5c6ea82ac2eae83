"""The performance harness: ours vs the peer (dlt rest_api) vs the floor (requests + JSON decode only), and ours
into PostgreSQL against ours into DuckDB.

Starts the simulator in its own process, runs each contender as its own process on the same data, and records
wall time, requests, test cases per second and the peak RSS of the contender's process tree. Medians over
repetitions go to perf/RESULTS.md with the machine and the exact command. The PostgreSQL contenders load into a
throwaway server (perf/postgres_server.py) started once per run on the same machine: a fresh database for every
full load; the server's own CPU is counted apart.

Usage: python perf/bench.py --preset quick|medium|postgres|full [--out perf/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests
from postgres_server import BenchPostgres
from stages import describe, durations, marks_from_lines, summary_seconds

from simulator.world import World

HERE = Path(__file__).resolve().parent
KEY = "demo-key"
POSTGRES = ("ours-postgres", "ours-postgres-no-change")
NO_CHANGE = ("ours-no-change", "ours-postgres-no-change")


@dataclass(frozen=True)
class Scenario:
    scale: str
    latency_ms: float
    repeat: int
    contenders: tuple[str, ...]


PRESETS = {
    "quick": [Scenario("small", 0, 3, ("ours", "ours-no-change", "peer", "floor"))],
    # ours alone at the medium scale (a minute): the no-change reload against a full load, without the slow peer
    "medium": [Scenario("medium", 0, 3, ("ours", "ours-no-change", "ours-2.0-storage", *POSTGRES, "floor"))],
    # `make bench-postgres`: PostgreSQL against DuckDB at the medium scale (perf/view_timings.py adds the views)
    "postgres": [Scenario("medium", 0, 3, ("ours", "ours-no-change", *POSTGRES))],
    "postgres-quick": [Scenario("small", 0, 1, ("ours", "ours-no-change", *POSTGRES))],  # a check that it runs
    # the no-change load at the medium scale against its target (under 2 s, perf/BOUNDS.md), each after a full load
    "no-change": [Scenario("medium", 0, 5, ("ours", "ours-no-change"))],
    "full": [
        Scenario("medium", 0, 3, ("ours", "ours-no-change", "ours-2.0-storage", *POSTGRES, "peer", "floor")),
        Scenario("medium", 50, 1, ("ours", "floor")),
        Scenario("large", 0, 1, ("ours", "ours-no-change", "ours-2.0-storage", "floor")),
    ],
}


MAKE_TARGETS = {"quick": "`make bench` (= ", "medium": "`make bench-medium` (= ", "full": "`make bench-full` (= ",
                "postgres": "`make bench-postgres` (first part: "}


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


def measure(contender: str, url: str, workdir: Path, env: dict[str, str], simulator: psutil.Process,
            postgres: BenchPostgres) -> Measurement:
    requests.delete(url + "/_sim/requests", timeout=10)
    python = sys.executable
    # Our loads print their stage lines on stderr (not --quiet; stderr is a file, so one line per stage)
    load = [python, "-m", "pipelines", "load", "--base-url", url]
    database_url = None
    if contender == "ours":
        shutil.rmtree(workdir / "ours", ignore_errors=True)
        command = [*load, "--db", str(workdir / "ours" / "w.duckdb")]
    elif contender == "ours-no-change":
        command = [*load, "--db", str(workdir / "ours" / "w.duckdb")]
    elif contender == "ours-2.0-storage":  # what the load wrote before it chose DuckDB 1.1's storage format
        shutil.rmtree(workdir / "ours-2.0", ignore_errors=True)
        env = {**env, "WAREHOUSE__DUCKDB_STORAGE_VERSION": "latest"}
        command = [*load, "--db", str(workdir / "ours-2.0" / "w.duckdb")]
    elif contender in POSTGRES:  # the full load into a fresh database; the no-change load into the same one
        if contender == "ours-postgres":
            if postgres.database_url:
                postgres.drop(postgres.database_url)
            postgres.database_url = postgres.fresh_database()
        database_url = postgres.database_url
        env = {**env, "DESTINATION__POSTGRES__CREDENTIALS": database_url, "XDG_STATE_HOME": str(workdir / "state")}
        command = [*load, "--destination", "postgres"]
    elif contender == "peer":
        shutil.rmtree(workdir / "peer", ignore_errors=True)
        (workdir / "peer").mkdir(parents=True)
        command = [python, str(HERE / "peer_rest_api.py"), url, str(workdir / "peer" / "p.duckdb"),
                   "--pipelines-dir", str(workdir / "peer" / "dlt")]
    else:
        command = [python, str(HERE / "floor.py"), url, "--workers", "8"]
    simulator_before, server_before = cpu_seconds(simulator), postgres.cpu_seconds()
    seconds, rss, cpu, stdout, stderr = run_measured(command, env)
    simulator_cpu = cpu_seconds(simulator) - simulator_before
    server_cpu = postgres.cpu_seconds() - server_before if database_url else None
    count = len(requests.get(url + "/_sim/requests", timeout=30).json())
    published = Path(command[command.index("--db") + 1]) if "--db" in command else None
    file_mb = published.stat().st_size / 2**20 if published and published.exists() else None
    if database_url:
        file_mb = postgres.database_mb(database_url)
    end = summary_seconds(stdout)
    stages = durations(marks_from_lines(stderr), end) if end is not None and contender not in NO_CHANGE else None
    return Measurement(seconds, count, rss, cpu, simulator_cpu, file_mb, server_cpu, stages or None)


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def run_scenario(scenario: Scenario, workdir: Path, env: dict[str, str],
                 postgres: BenchPostgres) -> dict[str, list[Measurement]]:
    simulator, url = start_simulator(scenario.scale, scenario.latency_ms)
    results: dict[str, list[Measurement]] = {name: [] for name in scenario.contenders}
    try:
        for repetition in range(scenario.repeat):
            for contender in scenario.contenders:
                measurement = measure(contender, url, workdir, env, psutil.Process(simulator.pid), postgres)
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


def median(values: list[float]) -> float:
    return statistics.median(values)


def _median_or_dash(values: list[float | None], digits: int) -> str:
    present = [value for value in values if value is not None]
    return f"{median(present):.{digits}f}" if present else "—"


def _median_stages(measurements: list[Measurement]) -> dict[str, float]:
    """The median of every stage over the repetitions that recorded it."""
    recorded = [m.stages for m in measurements if m.stages]
    names = dict.fromkeys(name for stages in recorded for name in stages)
    return {name: median([stages.get(name, 0.0) for stages in recorded]) for name in names}


def report(scenario: Scenario, results: dict[str, list[Measurement]]) -> list[str]:
    cases = World(scale=scenario.scale).counts()["test_cases"]
    lines = [
        f"### `{scenario.scale}` scale, latency {scenario.latency_ms:g} ms — {cases:,} test cases, "
        f"median of {scenario.repeat}",
        "",
        "| contender | wall s | requests | test cases/s | peak RSS MB | CPU s | simulator CPU s | PostgreSQL CPU s "
        "| file MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    med = {}
    for name, measurements in results.items():
        seconds = median([m.seconds for m in measurements])
        med[name] = seconds
        loaded = 0 if name in NO_CHANGE else cases
        rate = f"{loaded / seconds:,.0f}" if loaded else "—"
        lines.append(f"| {name} | {seconds:.2f} | {measurements[0].requests:,} | {rate} | "
                     f"{median([m.peak_rss_mb for m in measurements]):.0f} | "
                     f"{median([m.cpu_seconds for m in measurements]):.2f} | "
                     f"{median([m.simulator_cpu_seconds for m in measurements]):.2f} | "
                     f"{_median_or_dash([m.server_cpu_seconds for m in measurements], 2)} | "
                     f"{_median_or_dash([m.file_mb for m in measurements], 1)} |")
    lines.append("")
    if "ours" in med and "floor" in med:
        lines.append(f"- ours / floor = **{med['ours'] / med['floor']:.2f}**")
    if "ours" in med and "peer" in med:
        lines.append(f"- peer / ours = **{med['peer'] / med['ours']:.2f}**")
    if "ours-no-change" in med:
        lines.append(f"- no-change reload / full load = **{med['ours-no-change'] / med['ours']:.2f}**")
    if "ours-2.0-storage" in med:
        sizes = {name: median([m.file_mb for m in results[name]]) for name in ("ours", "ours-2.0-storage")}
        ratio = med["ours"] / med["ours-2.0-storage"]
        lines.append(f"- DuckDB 1.1 storage / DuckDB 2.0 storage: load time **{ratio:.2f}**, "
                     f"file size **{sizes['ours'] / sizes['ours-2.0-storage']:.2f}**")
    if "ours" in med and "ours-postgres" in med:
        lines.append(f"- PostgreSQL / DuckDB full load = **{med['ours-postgres'] / med['ours']:.2f}** (target: 2)")
    if "ours-postgres" in med and "ours-postgres-no-change" in med:
        lines.append(f"- PostgreSQL no-change reload / full load = "
                     f"**{med['ours-postgres-no-change'] / med['ours-postgres']:.2f}**")
    staged = {name: _median_stages(measurements) for name, measurements in results.items()}
    staged = {name: stages for name, stages in staged.items() if stages}
    if staged:
        lines.append("- stages of the full loads, median seconds (from their stderr stage lines; `setup` = before "
                     "the first, `load` includes the prune, `publish` = refilling `analytics` on PostgreSQL):")
        lines.extend(f"  - {name}: {describe(stages)}" for name, stages in staged.items())
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    env = {**os.environ, "SOURCES__BENCHMARKS__API_KEY": KEY, "RUNTIME__LOG_LEVEL": "ERROR",
           "RUNTIME__DLTHUB_TELEMETRY": "false"}
    started = time.monotonic()
    sections = []
    with tempfile.TemporaryDirectory(prefix="bench-") as directory, BenchPostgres() as postgres:
        for scenario in PRESETS[args.preset]:
            results = run_scenario(scenario, Path(directory), env, postgres)
            sections.extend(report(scenario, results))
    header = [
        f"# Performance: `{args.preset}` preset",
        "",
        f"Machine: {machine()}. Command: {MAKE_TARGETS.get(args.preset, '')}"
        f"`.venv/bin/python perf/bench.py --preset {args.preset}`{')' if args.preset in MAKE_TARGETS else ''},"
        f" {time.monotonic() - started:.0f} s in all, run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Every contender runs as its own process against the simulator in another process; peak RSS is sampled "
        "every 20 ms over the contender's process tree; requests are counted by the simulator. CPU s is the user + "
        "system time of the contender's processes, simulator CPU s what the simulator spent meanwhile: both share "
        "the same cores. The PostgreSQL contenders load into a local throwaway server (fsync off) on those cores "
        "too: PostgreSQL CPU s is what its processes spent meanwhile, file MB the database's size.",
        "",
    ]
    text = "\n".join(header + sections)
    out = args.out if args.preset == "full" else args.out.with_name(f"RESULTS-{args.preset}.md")
    out.write_text(text)
    print(text)
    print(json.dumps({"written": str(out)}))


if __name__ == "__main__":
    main()
