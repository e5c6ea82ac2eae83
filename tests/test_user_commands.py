"""query, export and status against a real loaded warehouse (a crafted one-run API keeps these fast)."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from pipelines.errors import WarehouseError
from pipelines.load.runner import run_load
from pipelines.readers.durations import parse_duration
from pipelines.readers.published import view_row_counts
from pipelines.readers.query import export_views, format_rows, run_query
from pipelines.readers.status import collect_status, render_status
from pipelines.warehouse import paths
from pipelines.warehouse.attempts import attempt_path
from simulator.crafted_api import API, CraftedApi, small_world
from tests.commands import run_cli
from tests.warehouse_checks import ENTITY_VIEWS, view_rows


@pytest.fixture()
def loaded(tmp_path):
    db = tmp_path / "benchmarks.duckdb"
    with CraftedApi(small_world()) as api:
        run_load(db, base_url=api.url)
    return db


def test_query_formats(loaded):
    columns, rows = run_query(loaded, "select test_case_id, result from analytics.test_cases order by 1")
    assert columns == ["test_case_id", "result"]
    assert rows == [(100001, "PASSED"), (100002, "FAILED"), (100003, "ERROR")]
    assert list(csv.reader(io.StringIO(format_rows(columns, rows, "csv"))))[1] == ["100001", "PASSED"]
    assert json.loads(format_rows(columns, rows, "json"))[2] == {"test_case_id": 100003, "result": "ERROR"}
    table = format_rows(columns, rows, "table")
    assert "PASSED" in table and "3 rows" in table


def test_query_is_read_only(loaded):
    with pytest.raises(WarehouseError, match="read-only"):
        run_query(loaded, "drop view analytics.models")
    assert view_rows(loaded, "models")


def test_query_cli_prints_json(loaded):
    result = run_cli("query", "select count(*) as n from analytics.test_case_messages", "--db", str(loaded),
                     "--format", "json", cwd=loaded.parent)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": 3}]


@pytest.mark.parametrize("output_format", ["parquet", "csv"])
def test_export_writes_every_view_and_no_temporary_files(loaded, tmp_path, output_format):
    out = tmp_path / "export"
    written = export_views(loaded, out, output_format)
    views = list(view_row_counts(loaded))
    assert set(ENTITY_VIEWS) < set(views)
    assert sorted(p.name for p in written) == sorted(f"{v}.{output_format}" for v in views)
    assert sorted(os.listdir(out)) == sorted(p.name for p in written)
    for view in views:
        path = out / f"{view}.{output_format}"
        rows = pq.read_table(path).num_rows if output_format == "parquet" else len(path.read_text().splitlines()) - 1
        assert rows == len(view_rows(loaded, view))


def test_status_healthy_then_stale_then_failed(loaded, tmp_path):
    status = collect_status(loaded, max_age=timedelta(hours=1))
    assert status.problems == [] and status.loads == 1 and status.view_rows["test_cases"] == 3
    assert "Health: OK" in render_status(status)
    assert collect_status(loaded, max_age=timedelta(seconds=0)).problems[0].startswith("the last successful load is")

    broken = small_world(**{f"{API}/types": (500, {"error": {"message": "boom", "code": "X"}}, None)})
    with CraftedApi(broken) as api, pytest.raises(Exception, match="HTTP 500"):
        run_load(loaded, base_url=api.url, source_options={"max_attempts": 1})
    status = collect_status(loaded)
    assert status.problems and "the last load failed" in status.problems[0] and "HTTP 500" in status.problems[0]
    result = run_cli("status", "--db", str(loaded), cwd=tmp_path)
    assert result.returncode == 1 and "Health: PROBLEM" in result.stdout
    assert attempt_path(paths.working_dir_for(loaded)).exists()


def test_status_without_warehouse_is_a_clear_error(tmp_path):
    result = run_cli("status", "--db", str(tmp_path / "none.duckdb"), cwd=tmp_path)
    assert result.returncode == 6 and "run `benchmarks-etl load" in result.stderr


@pytest.mark.parametrize("text, seconds", [("90m", 5400), ("26h", 93600), ("2d", 172800), ("30", 30)])
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


def test_status_reports_a_killed_load(loaded):
    from pipelines.warehouse.attempts import LoadAttempt, write_attempt

    working_dir = paths.working_dir_for(loaded)
    write_attempt(working_dir, LoadAttempt(started_at="2026-01-01T00:00:00+00:00", status="running", pid=2**22 + 12345))
    problems = collect_status(loaded).problems
    assert len(problems) == 1 and "was killed before it finished" in problems[0]
    write_attempt(working_dir, LoadAttempt(started_at="2026-01-01T00:00:00+00:00", status="running", pid=os.getpid()))
    assert collect_status(loaded).problems == []
