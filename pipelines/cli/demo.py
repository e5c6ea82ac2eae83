"""`benchmarks-etl demo`: the whole product in one command, against the simulator on a free local port."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from pipelines.load.runner import run_load
from pipelines.readers.published import view_row_counts
from pipelines.readers.report.data import read_report_data
from pipelines.readers.report.html import write_html
from pipelines.readers.report.terminal import render, report_console
from pipelines.warehouse import paths

DEMO_API_KEY = "demo-key"


def run_demo(db: str | Path, *, scale: str, echo: Callable[[str], object], html: str | Path) -> Path:
    """Load a fresh demo warehouse from an in-process simulator, write the HTML report, print the leaderboard."""
    from simulator.server import Simulator

    db_path = paths.resolve_db_path(db)
    _remove_warehouse(db_path)
    with Simulator(scale=scale, api_key=DEMO_API_KEY) as simulator:
        echo(f"Simulator ({scale} scale) listening on {simulator.url}")
        result = run_load(db_path, base_url=simulator.url, source_options={"api_key": DEMO_API_KEY})
    echo(result.summary())
    echo(f"Warehouse: {db_path}")
    for view, rows in view_row_counts(db_path).items():
        echo(f"  analytics.{view:<24} {rows:>10,} rows")
    data = read_report_data(db_path)
    echo(f"HTML report: {write_html(data, html)}")
    render(data, report_console(), leaderboard_only=True)
    return db_path


def _remove_warehouse(db_path: Path) -> None:
    for path in (db_path, db_path.with_name(db_path.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(paths.working_dir_for(db_path), ignore_errors=True)
