"""The performance harness: ours vs the peer (dlt rest_api) vs the floor (requests + JSON decode only).

Starts the simulator in its own process, runs each contender as its own process on the same data, and records
wall time, requests, test cases per second and the peak RSS of the contender's process tree. Medians over
repetitions go to perf/RESULTS.md with the machine and the exact command.

Usage: python perf/bench.py --preset quick|medium|full [--out perf/RESULTS.md]
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

from simulator.world import World

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
    # ours alone at the medium scale (a minute): the no-change reload against a full load, without the slow peer
    "medium": [Scenario("medium", 0, 3, ("ours", "ours-no-change", "ours-2.0-storage", "floor"))],
    "full": [
        Scenario("medium", 0, 3, ("ours", "ours-no-change", "ours-2.0-storage", "peer", "floor")),
        Scenario("medium", 50, 1, ("ours", "floor")),
        Scenario("large", 0, 1, ("ours", "ours-no-change", "ours-2.0-storage", "floor")),
    ],
}


@dataclass
class Measurement:
    seconds: float
    requests: int
    peak_rss_mb: float
    cpu_seconds: float  # user + system of the contender's process tree
    simulator_cpu_seconds: float  # what the simulator spent serving it, on the same two cores
    file_mb: float | None = None  # the published warehouse file, for our contenders


def start_simulator(scale: str, latency_ms: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--scale", scale, "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, text=True,
    )
    return process, process.stdout.readline().split("listening on ")[1].split()[0]


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB of the process and its children sampled every 20 ms, their CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {process.stderr.read()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, peak / 2**20, cpu


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def measure(contender: str, url: str, workdir: Path, env: dict[str, str], simulator: psutil.Process) -> Measurement:
    requests.delete(url + "/_sim/requests", timeout=10)
    python = sys.executable
    if contender == "ours":
        shutil.rmtree(workdir / "ours", ignore_errors=True)
        command = [python, "-m", "pipelines", "load", "--db", str(workdir / "ours" / "w.duckdb"), "--base-url", url,
                   "--quiet"]
    elif contender == "ours-no-change":
        command = [python, "-m", "pipelines", "load", "--db", str(workdir / "ours" / "w.duckdb"), "--base-url", url,
                   "--quiet"]
    elif contender == "ours-2.0-storage":  # what the load wrote before it chose DuckDB 1.1's storage format
        shutil.rmtree(workdir / "ours-2.0", ignore_errors=True)
        env = {**env, "WAREHOUSE__DUCKDB_STORAGE_VERSION": "latest"}
        command = [python, "-m", "pipelines", "load", "--db", str(workdir / "ours-2.0" / "w.duckdb"), "--base-url",
                   url, "--quiet"]
    elif contender == "peer":
        shutil.rmtree(workdir / "peer", ignore_errors=True)
        (workdir / "peer").mkdir(parents=True)
        command = [python, str(HERE / "peer_rest_api.py"), url, str(workdir / "peer" / "p.duckdb"),
                   "--pipelines-dir", str(workdir / "peer" / "dlt")]
    else:
        command = [python, str(HERE / "floor.py"), url, "--workers", "8"]
    simulator_before = cpu_seconds(simulator)
    seconds, rss, cpu = run_measured(command, env)
    simulator_cpu = cpu_seconds(simulator) - simulator_before
    count = len(requests.get(url + "/_sim/requests", timeout=30).json())
    published = Path(command[command.index("--db") + 1]) if "--db" in command else None
    file_mb = published.stat().st_size / 2**20 if published and published.exists() else None
    return Measurement(seconds, count, rss, cpu, simulator_cpu, file_mb)


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def run_scenario(scenario: Scenario, workdir: Path, env: dict[str, str]) -> dict[str, list[Measurement]]:
    simulator, url = start_simulator(scenario.scale, scenario.latency_ms)
    results: dict[str, list[Measurement]] = {name: [] for name in scenario.contenders}
    try:
        for repetition in range(scenario.repeat):
            for contender in scenario.contenders:
                measurement = measure(contender, url, workdir, env, psutil.Process(simulator.pid))
                results[contender].append(measurement)
                print(f"  {scenario.scale} latency {scenario.latency_ms:g} ms, run {repetition + 1}: {contender:<15}"
                      f" {measurement.seconds:7.2f} s {measurement.requests:6,} requests "
                      f"{measurement.peak_rss_mb:7.0f} MB {measurement.cpu_seconds:6.2f} CPU s", flush=True)
    finally:
        simulator.terminate()
        simulator.wait()
    return results


def median(values: list[float]) -> float:
    return statistics.median(values)


def _file_size(measurements: list[Measurement]) -> str:
    sizes = [m.file_mb for m in measurements if m.file_mb is not None]
    return f"{median(sizes):.1f}" if sizes else "—"


def report(scenario: Scenario, results: dict[str, list[Measurement]]) -> list[str]:
    cases = World(scale=scenario.scale).counts()["test_cases"]
    lines = [
        f"### `{scenario.scale}` scale, latency {scenario.latency_ms:g} ms — {cases:,} test cases, "
        f"median of {scenario.repeat}",
        "",
        "| contender | wall s | requests | test cases/s | peak RSS MB | CPU s | simulator CPU s | file MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    med = {}
    for name, measurements in results.items():
        seconds = median([m.seconds for m in measurements])
        med[name] = seconds
        loaded = 0 if name == "ours-no-change" else cases
        rate = f"{loaded / seconds:,.0f}" if loaded else "—"
        lines.append(f"| {name} | {seconds:.2f} | {measurements[0].requests:,} | {rate} | "
                     f"{median([m.peak_rss_mb for m in measurements]):.0f} | "
                     f"{median([m.cpu_seconds for m in measurements]):.2f} | "
                     f"{median([m.simulator_cpu_seconds for m in measurements]):.2f} | "
                     f"{_file_size(measurements)} |")
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
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        for scenario in PRESETS[args.preset]:
            results = run_scenario(scenario, Path(directory), env)
            sections.extend(report(scenario, results))
    header = [
        f"# Performance: `{args.preset}` preset",
        "",
        f"Machine: {machine()}. Command: `make {'bench' if args.preset == 'quick' else 'bench-' + args.preset}` "
        f"(= `.venv/bin/python perf/bench.py --preset {args.preset}`),"
        f" {time.monotonic() - started:.0f} s in all, run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Every contender runs as its own process against the simulator in another process; peak RSS is sampled "
        "every 20 ms over the contender's process tree; requests are counted by the simulator. CPU s is the user + "
        "system time of the contender's processes, simulator CPU s what the simulator spent meanwhile: both share "
        "the same cores.",
        "",
    ]
    text = "\n".join(header + sections)
    out = args.out if args.preset == "full" else args.out.with_name(f"RESULTS-{args.preset}.md")
    out.write_text(text)
    print(text)
    print(json.dumps({"written": str(out)}))


if __name__ == "__main__":
    main()
