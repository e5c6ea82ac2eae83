"""One very large test-cases body per load: wall time and peak RSS of a load of each shape (simulator/big_bodies.py).

A real HTTP server in this process (simulator/crafted_api.py) serves small_world() with run 10's test-cases body
replaced by one of about `--mib` MiB; the load runs as its own process into a fresh DuckDB file, measured as
perf/bench.py measures its contenders (peak RSS of the process tree sampled every 20 ms, CPU time, stage lines).
The loaded counts are checked against the body's.

Usage: python perf/big_body.py [--mib 256] [--shapes many,huge-messages,one-conversation] [--out FILE]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from bench import machine, run_measured
from stages import describe, durations, marks_from_lines, summary_seconds

from simulator.big_bodies import SHAPES, BigBody, big_body, routes_serving
from simulator.crafted_api import CraftedApi

HERE = Path(__file__).resolve().parent


def measure(body: BigBody, workdir: Path) -> str:
    """One load of `body` into a fresh file; a table row."""
    db = workdir / body.shape / "w.duckdb"
    env = {**os.environ, "SOURCES__BENCHMARKS__API_KEY": "demo-key", "RUNTIME__DLTHUB_TELEMETRY": "false"}
    with CraftedApi(routes_serving(body)) as api:
        command = [sys.executable, "-m", "pipelines", "load", "--db", str(db), "--base-url", api.url]
        seconds, rss, cpu, stdout, stderr = run_measured(command, env)
    with duckdb.connect(str(db), read_only=True) as connection:
        loaded = connection.execute("select (select count(*) from analytics.test_cases), "
                                    "(select count(*) from analytics.test_case_messages)").fetchone()
    if loaded != (body.test_cases, body.messages):
        raise RuntimeError(f"{body.shape}: loaded {loaded}, served {(body.test_cases, body.messages)}")
    end = summary_seconds(stdout)
    stages = describe(durations(marks_from_lines(stderr), end)) if end is not None else ""
    return (f"| {body.shape} | {len(body.content) / 2**20:.0f} | {body.test_cases:,} | {body.messages:,} | "
            f"{body.largest_message_length / 2**20:.1f} | {seconds:.1f} | {rss:.0f} | {cpu:.1f} | {stages} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=256)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-big-body.md")
    args = parser.parse_args()
    started = time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="big-body-") as directory:
        for shape in args.shapes.split(","):
            body = big_body(shape, args.mib)
            rows.append(measure(body, Path(directory)))
            print(rows[-1], flush=True)
            del body
            gc.collect()
    text = "\n".join([
        "# One large test-cases body per load",
        "",
        f"Machine: {machine()}. Command: `.venv/bin/python perf/big_body.py --mib {args.mib:g}`, "
        f"{time.monotonic() - started:.0f} s in all, run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Each load is a fresh process into a fresh file; peak RSS is sampled every 20 ms over its process tree "
        "(the server is not in it). Shapes (simulator/big_bodies.py): `many` test cases of four ordinary messages, "
        "`huge-messages` (five test cases, ten messages of a tenth of the body each), `one-conversation` (one test "
        "case, one list of ordinary messages).",
        "",
        "| shape | body MiB | test cases | messages | largest message MiB | wall s | peak RSS MB | CPU s | stages s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
    ])
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
