"""Where a Spark reader's time goes: load the simulator into a lake on a throwaway cluster (or the Spark Connect
endpoint given), then, per analytics view, time its analysis alone (the plan's schema: Spark resolves every view
and lists and reads the footers of every Parquet folder it names, without running anything), `count(*)` and a full
fetch (median of N); also a Connect round trip (`select 1`), each load's time and the raw folders' file counts.

Usage: python perf/spark_view_timings.py [--scale tiny] [--loads 2] [--repeat 3] [--connect-url sc://...]
                                        [--views leaderboard,data_quality]
The numbers are written to docs/spark.md by hand (with the machine's load average, printed here).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipelines.load.runner import run_load  # noqa: E402
from simulator.server import Simulator  # noqa: E402
from simulator.throwaway_spark import ThrowawaySpark  # noqa: E402


def median_seconds(repeat: int, action: Callable[[], object]) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def load_epochs(lake: Path, connect_url: str, scale: str, loads: int) -> list[str]:
    """`loads` loads of the simulator into the lake, epoch 0 then 1 then 2 ... (each changes some runs)."""
    os.environ.update({"DESTINATION__SPARK__LAKE_URL": str(lake), "DESTINATION__SPARK__CONNECT_URL": connect_url,
                       "SOURCES__BENCHMARKS__API_KEY": "demo-key", "XDG_STATE_HOME": str(lake.parent / "state")})
    lines = []
    with Simulator(scale=scale) as simulator:
        for epoch in range(loads):
            simulator.set_epoch(epoch)
            started = time.perf_counter()
            result = run_load(destination="spark", base_url=simulator.url)
            lines.append(f"load {epoch}: {time.perf_counter() - started:.1f} s, {result.test_cases} test cases, "
                         f"{result.runs_fetched} runs fetched")
    return lines


def raw_file_counts(lake: Path) -> dict[str, int]:
    return {folder.name: sum(1 for _ in folder.glob("*.parquet"))
            for folder in sorted((lake / "benchmarks_raw").iterdir()) if folder.is_dir()}


def time_views(connect_url: str, repeat: int, only: list[str]) -> list[tuple[str, int, float, float, float]]:
    """(view, rows, analysis s, count(*) s, fetch s) per analytics view."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(connect_url).create()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    try:
        print(f"round trip (select 1): {median_seconds(repeat, lambda: session.sql('select 1').collect()):.3f} s")
        views = only or sorted(t.name for t in session.catalog.listTables("analytics"))
        results = []
        for view in views:
            name = f"analytics.`{view}`"
            counting, fetching = f"select count(*) from {name}", f"select * from {name}"
            analysis = median_seconds(repeat, lambda sql=counting: session.sql(sql).schema)
            count = median_seconds(repeat, lambda sql=counting: session.sql(sql).collect())
            fetch = median_seconds(repeat, lambda sql=fetching: session.sql(sql).toArrow())
            rows = session.sql(f"select count(*) from {name}").collect()[0][0]
            results.append((view, rows, analysis, count, fetch))
            print(f"{view:28} {rows:7} rows  analysis {analysis:6.2f} s  count {count:6.2f} s  fetch {fetch:6.2f} s",
                  flush=True)
        return results
    finally:
        session.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--loads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connect-url", help="an endpoint already running (default: a throwaway cluster)")
    parser.add_argument("--views", default="", help="comma-separated analytics views (default: all)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="spark-view-timings-"))
    cluster = None
    if not args.connect_url:
        started = time.perf_counter()
        cluster = ThrowawaySpark(directory / "cluster").start()
        print(f"cluster started in {time.perf_counter() - started:.0f} s", flush=True)
    connect_url = args.connect_url or cluster.connect_url
    try:
        for line in load_epochs(directory / "lake", connect_url, args.scale, args.loads):
            print(line, flush=True)
        print("raw files:", raw_file_counts(directory / "lake"))
        results = time_views(connect_url, args.repeat, [v for v in args.views.split(",") if v])
        print(f"total: analysis {sum(r[2] for r in results):.1f} s, count {sum(r[3] for r in results):.1f} s, "
              f"fetch {sum(r[4] for r in results):.1f} s; load average {os.getloadavg()[0]:.1f}")
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
