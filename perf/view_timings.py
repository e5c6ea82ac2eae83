"""How fast each analytics view answers: load the simulator at a scale, then time every view (median of N).

Usage: python perf/view_timings.py [--scale medium] [--repeat 5] [--out perf/VIEW_TIMINGS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.query import view_row_counts
from pipelines.runner import run_load
from pipelines.warehouse.engine import quote


def start_simulator(scale: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "simulator", "--scale", scale, "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().split("listening on ")[1].split()[0]


def machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} cores, {memory_gb:.0f} GB RAM, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def time_views(db: Path, repeat: int) -> list[tuple[str, int, float, float]]:
    connection = duckdb.connect(str(db), read_only=True)
    catalog = connection.execute("select current_database()").fetchone()[0]
    results = []
    for view, rows in view_row_counts(db).items():
        name = f"{quote(catalog)}.analytics.{quote(view)}"
        counts, fetches = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            connection.execute(f"select count(*) from (select * from {name})").fetchall()
            counts.append(time.perf_counter() - started)
            started = time.perf_counter()
            connection.sql(f"select * from {name}").to_arrow_table()
            fetches.append(time.perf_counter() - started)
        results.append((view, rows, statistics.median(counts), statistics.median(fetches)))
    connection.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("VIEW_TIMINGS.md"))
    args = parser.parse_args()
    process, url = start_simulator(args.scale)
    try:
        with tempfile.TemporaryDirectory() as directory:
            db = Path(directory) / "timings.duckdb"
            result = run_load(db, base_url=url, source_options={"api_key": "demo-key"})
            timings = time_views(db, args.repeat)
    finally:
        process.terminate()
        process.wait()
    lines = [
        f"# View timings at the `{args.scale}` scale",
        "",
        f"Machine: {machine()}. Load: {result.summary()}",
        f"Command: `.venv/bin/python perf/view_timings.py --scale {args.scale} --repeat {args.repeat}`",
        "",
        f"Median of {args.repeat} runs: `count(*)` over the view, and fetching all its rows as Arrow.",
        "",
        "| view | rows | count(*) ms | fetch all ms |",
        "|---|---:|---:|---:|",
        *[f"| {view} | {rows:,} | {count * 1000:.1f} | {fetch * 1000:.1f} |" for view, rows, count, fetch in timings],
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
