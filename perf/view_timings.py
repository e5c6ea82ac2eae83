"""How fast each analytics view answers: load the simulator at a scale, then time every view (median of N).

On DuckDB the analytics views are views; on PostgreSQL (`--destination postgres`, a throwaway server from
perf/postgres_server.py) they are tables the load's publish step refills from the views in benchmarks_marts, so the
views' own cost is paid by the load: the table also times those views (`count(*)` over each) and the load's stages,
publish included.

Usage: python perf/view_timings.py [--scale medium] [--repeat 5] [--destination duckdb|postgres]
                                   [--out perf/VIEW_TIMINGS.md | --append perf/RESULTS-postgres.md]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from postgres_server import BenchPostgres
from stages import RecordingProgress, describe

from pipelines.load.runner import LoadResult, run_load
from pipelines.readers.published import view_row_counts
from pipelines.warehouse.destinations import Destination
from pipelines.warehouse.engine import Names, quote

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = {"medium": 1.0, "large": 3.0}  # every view, count(*) and fetch alike


@dataclass
class Timing:
    view: str
    rows: int
    count: float
    fetch: float
    fetched_mb: float | None = None  # PostgreSQL: the bytes COPY sent
    mart_view: float | None = None  # PostgreSQL: count(*) over the benchmarks_marts view publish refills from
    refill: float | None = None  # PostgreSQL: writing that view into a table, once (publish's share for this view)


def start_simulator(scale: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "simulator", "--scale", scale, "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().split("listening on ")[1].split()[0]


def machine(destination: Destination) -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    engine = f"DuckDB {duckdb.__version__}"
    if destination is Destination.POSTGRES:
        from simulator.throwaway_postgres import binaries

        engine = f"PostgreSQL {binaries().parent.name} (local throwaway server, fsync off)"
    return (f"{platform.machine()}, {os.cpu_count()} cores, {memory_gb:.0f} GB RAM, "
            f"Python {platform.python_version()}, {engine}")


def median_seconds(repeat: int, action: Callable[..., object], *arguments: object,
                   timed_out: tuple[type[Exception], ...] = ()) -> float:
    """The median of `repeat` runs; infinite (and no more runs) when one raises `timed_out`."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            action(*arguments)
        except timed_out:
            return math.inf
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def ms(seconds: float, digits: int = 1) -> str:
    return f"{seconds * 1000:.{digits}f}" if math.isfinite(seconds) else "timed out"


def fetch_all(connection: Any, sql: str) -> list[tuple]:
    return connection.execute(sql).fetchall()


def mb(timing: Timing) -> str:
    return f"{timing.fetched_mb:.1f}" if math.isfinite(timing.fetch) else "—"


def time_views(db: Path, repeat: int) -> list[Timing]:
    connection = duckdb.connect(str(db), read_only=True)
    catalog = connection.execute("select current_database()").fetchone()[0]
    results = []
    for view, rows in view_row_counts(db).items():
        name = f"{quote(catalog)}.analytics.{quote(view)}"
        count = median_seconds(repeat, fetch_all, connection, f"select count(*) from (select * from {name})")
        fetch = median_seconds(repeat, lambda sql: connection.sql(sql).to_arrow_table(), f"select * from {name}")
        results.append(Timing(view, rows, count, fetch))
    connection.close()
    return results


class CountingSink:
    """Where COPY writes: counts the bytes, keeps none."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes | str) -> int:
        self.bytes += len(data)
        return len(data)


def refill_seconds(writer: Any, source: str) -> float:
    """What publish pays for one view: its rows written into a new table and analyzed, then rolled back."""
    from psycopg2.errors import QueryCanceled

    cursor = writer.cursor()
    started = time.perf_counter()
    try:
        cursor.execute(f"create table public.refill_probe as select * from {source}")
        cursor.execute("analyze public.refill_probe")
        return time.perf_counter() - started
    except QueryCanceled:
        return math.inf
    finally:
        writer.rollback()


def time_views_postgres(repeat: int, timeout: float) -> list[Timing]:
    """count(*) over each analytics table, all its rows through COPY (the server's and the wire's share of a fetch,
    not a client's decoding), count(*) over the view publish refills it from, and that refill, once. A statement
    that takes longer than `timeout` seconds is cancelled (statement_timeout) and shows as timed out."""
    import psycopg2
    from psycopg2.errors import QueryCanceled

    from pipelines.warehouse.destinations import open_engine
    from pipelines.warehouse.postgres.database import MART_VIEWS_SCHEMA, PUBLISH_SETTINGS

    engine = open_engine(Destination.POSTGRES)
    names = Names()
    results = []
    publish_options = " ".join(f"-c {setting}={value}" for setting, value in PUBLISH_SETTINGS.items())
    writer = psycopg2.connect(os.environ["DESTINATION__POSTGRES__CREDENTIALS"],
                              options=f"-c statement_timeout={int(timeout * 1000)} {publish_options}")
    with engine.connect_published() as connection:
        connection.execute(f"set statement_timeout = {int(timeout * 1000)}")
        cursor = connection.raw.cursor()
        for view, rows in view_row_counts(engine).items():
            table, mart = names.analytics(view), names.table(MART_VIEWS_SCHEMA, view)
            count = median_seconds(repeat, fetch_all, connection, f"select count(*) from (select * from {table}) t",
                                   timed_out=(QueryCanceled,))
            sink = CountingSink()
            fetch = median_seconds(repeat, cursor.copy_expert, f"copy (select * from {table}) to stdout", sink,
                                   timed_out=(QueryCanceled,))
            for setting, value in PUBLISH_SETTINGS.items():  # the views run as publish runs them
                connection.execute(f"set {setting} = {value}")
            mart_view = median_seconds(repeat, fetch_all, connection, f"select count(*) from (select * from {mart}) t",
                                       timed_out=(QueryCanceled,))
            connection.execute("reset all")
            connection.execute(f"set statement_timeout = {int(timeout * 1000)}")
            results.append(Timing(view, rows, count, fetch, sink.bytes / repeat / 2**20, mart_view,
                                  refill_seconds(writer, mart)))
    writer.close()
    return results


@contextmanager
def warehouse_for(destination: Destination, directory: Path) -> Iterator[Path]:
    """The DuckDB file to load into; for PostgreSQL, a fresh database of a throwaway server named by the
    environment the load and the timings read (the yielded path is then unused)."""
    if destination is Destination.DUCKDB:
        yield directory / "timings.duckdb"
        return
    saved = {name: os.environ.get(name) for name in ("DESTINATION__POSTGRES__CREDENTIALS", "XDG_STATE_HOME")}
    with BenchPostgres() as postgres:
        os.environ["DESTINATION__POSTGRES__CREDENTIALS"] = postgres.fresh_database()
        os.environ["XDG_STATE_HOME"] = str(directory / "state")
        try:
            yield directory / "unused.duckdb"
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def report(args: argparse.Namespace, result: LoadResult, stages: dict[str, float], timings: list[Timing]) -> list[str]:
    postgres = args.destination is Destination.POSTGRES
    command = (f".venv/bin/python perf/view_timings.py --scale {args.scale} --repeat {args.repeat}"
               + (f" --destination postgres --timeout {args.timeout:g}" if postgres else ""))
    heading = "##" if args.append else "#"
    lines = [
        f"{heading} {'PostgreSQL v' if postgres else 'V'}iew timings at the `{args.scale}` scale",
        "",
        f"Machine: {machine(args.destination)}. Load: {result.summary()}",
        f"Load stages, seconds: {describe(stages)}" + (" (`publish` refills every analytics table)" if postgres
                                                       else ""),
        f"Command: `{command}`, run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
    ]
    if postgres:
        lines += [
            f"Median of {args.repeat} runs: `count(*)` over the analytics table (`select count(*) from (select * from "
            "analytics.X) t`), fetching all its rows through `COPY (select * from analytics.X) TO STDOUT` (what the "
            "server and the wire cost; a client's decoding comes on top), and `count(*)` over the benchmarks_marts "
            "view the load's publish refills the table from (what that view costs, paid once per load); refill: "
            "that view written into a new table and analyzed, once, rolled back (publish's share for the view).",
            "",
            "| view | rows | count(*) ms | fetch all ms | fetched MB | benchmarks_marts view count(*) ms | refill ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *[f"| {t.view} | {t.rows:,} | {ms(t.count)} | {ms(t.fetch)} | {mb(t)} | "
              f"{ms(t.mart_view)} | {ms(t.refill, 0)} |" for t in timings],
            "",
            f"- refills in all: {sum(t.refill for t in timings if math.isfinite(t.refill)):.1f} s, timed-out ones "
            "not counted (publish also deletes the old rows, in one "
            f"transaction); `timed out`: cancelled after {args.timeout:g} s (statement_timeout)",
        ]
    else:
        lines += [
            f"Median of {args.repeat} runs: `count(*)` over the view, and fetching all its rows as Arrow.",
            "",
            "| view | rows | count(*) ms | fetch all ms |",
            "|---|---:|---:|---:|",
            *[f"| {t.view} | {t.rows:,} | {ms(t.count)} | {ms(t.fetch)} |" for t in timings],
        ]
    lines.append("")
    target = TARGET_SECONDS.get(args.scale)
    slowest = max(timings, key=lambda t: max(t.count, t.fetch))
    verdict = f"slowest view: {slowest.view}, {ms(max(slowest.count, slowest.fetch), 0)} (ms)"
    if target is not None:
        missed = [t.view for t in timings if max(t.count, t.fetch) >= target]
        verdict += f"; target every view under {target:g} s: " + (f"**missed** by {', '.join(missed)}" if missed
                                                                   else "**met**")
    lines += [f"- {verdict}", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60, help="PostgreSQL: cancel a statement after this many "
                        "seconds and report it as timed out (default 60)")
    parser.add_argument("--destination", type=Destination, choices=list(Destination), default=Destination.DUCKDB)
    parser.add_argument("--out", type=Path, help="the file to write (default perf/VIEW_TIMINGS.md, "
                        "perf/VIEW_TIMINGS-postgres.md with --destination postgres)")
    parser.add_argument("--append", type=Path, help="append the section to this file instead")
    args = parser.parse_args()
    process, url = start_simulator(args.scale)
    try:
        with tempfile.TemporaryDirectory() as directory, warehouse_for(args.destination, Path(directory)) as db:
            progress = RecordingProgress()
            result = run_load(db, destination=args.destination, base_url=url,
                              source_options={"api_key": "demo-key"}, progress=progress)
            stages = progress.durations()
            timings = (time_views_postgres(args.repeat, args.timeout) if args.destination is Destination.POSTGRES
                       else time_views(db, args.repeat))
    finally:
        process.terminate()
        process.wait()
    text = "\n".join(report(args, result, stages, timings))
    if args.append:
        with args.append.open("a") as out:
            out.write("\n" + text)
    else:
        default = "VIEW_TIMINGS-postgres.md" if args.destination is Destination.POSTGRES else "VIEW_TIMINGS.md"
        (args.out or HERE / default).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
