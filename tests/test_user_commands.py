"""query, export, status and report against a real loaded warehouse, on every engine (a crafted one-run API keeps
these fast; tests/prebuilt.py loads it once per engine)."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from pipelines.errors import WarehouseError
from pipelines.readers.durations import parse_duration
from pipelines.readers.published import view_row_counts
from pipelines.readers.query import export_views, format_rows, run_query
from pipelines.readers.status import collect_status, render_status
from pipelines.warehouse.attempts import attempt_path
from simulator.crafted_api import API, CraftedApi, small_world
from simulator.world import World
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load
from tests.snapshots import rows, snapshot, values
from tests.warehouse_checks import ENTITY_VIEWS
from tests.warehouses import Warehouse, on_engines, working_dir


@pytest.fixture()
def loaded(warehouses, prebuilt, monkeypatch) -> Warehouse:
    """small_world() as a load makes it (a copy), named to commands as `warehouse` is."""
    made = warehouses.copy(prebuilt.crafted(warehouses, "small_world", small_world()))
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


@on_engines("duckdb")
def test_query_formats(loaded):
    columns, found = run_query(loaded.engine(), "select test_case_id, result from analytics.test_cases order by 1")
    assert columns == ["test_case_id", "result"]
    assert found == [(100001, "PASSED"), (100002, "FAILED"), (100003, "ERROR")]
    assert list(csv.reader(io.StringIO(format_rows(columns, found, "csv"))))[1] == ["100001", "PASSED"]
    assert json.loads(format_rows(columns, found, "json"))[2] == {"test_case_id": 100003, "result": "ERROR"}
    table = format_rows(columns, found, "table")
    assert "PASSED" in table and "3 rows" in table


@on_engines("duckdb")
def test_query_is_read_only(loaded):
    with pytest.raises(WarehouseError, match="read-only"):
        run_query(loaded.engine(), "drop view analytics.models")
    assert rows(loaded, "models")


@on_engines("duckdb")
def test_query_cli_prints_json(loaded, tmp_path):
    result = run_cli("query", "select count(*) as n from analytics.test_case_messages", *loaded.cli_args,
                     "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": 3}]


@pytest.mark.parametrize("output_format", ["parquet", "csv"])
def test_export_writes_every_view_and_no_temporary_files(loaded, tmp_path, output_format):
    out = tmp_path / "export"
    written = export_views(loaded.engine(), out, output_format)
    views = list(view_row_counts(loaded.engine()))
    assert set(ENTITY_VIEWS) < set(views)
    assert sorted(p.name for p in written) == sorted(f"{v}.{output_format}" for v in views)
    assert sorted(os.listdir(out)) == sorted(p.name for p in written)
    for view in views:
        path = out / f"{view}.{output_format}"
        count = pq.read_table(path).num_rows if output_format == "parquet" else len(path.read_text().splitlines()) - 1
        assert count == len(rows(loaded, view))


def test_status_healthy_then_stale_then_failed(loaded, tmp_path):
    status = collect_status(loaded.engine(), max_age=timedelta(hours=1))
    assert status.problems == [] and status.loads == 1 and status.view_rows["test_cases"] == 3
    assert "Health: OK" in render_status(status)
    assert collect_status(loaded.engine(), max_age=timedelta(seconds=0)).problems[0].startswith(
        "the last successful load is")

    broken = small_world(**{f"{API}/types": (500, {"error": {"message": "boom", "code": "X"}}, None)})
    with CraftedApi(broken) as api, pytest.raises(Exception, match="HTTP 500"):
        load(loaded, api.url, source_options={"max_attempts": 1})
    status = collect_status(loaded.engine())
    assert status.problems and "the last load failed" in status.problems[0] and "HTTP 500" in status.problems[0]
    result = run_cli("status", *loaded.cli_args, cwd=tmp_path, env=loaded.env)
    assert result.returncode == 1 and "Health: PROBLEM" in result.stdout
    assert attempt_path(working_dir(loaded)).exists()


def test_status_without_warehouse_is_a_clear_error(tmp_path):
    result = run_cli("status", "--db", str(tmp_path / "none.duckdb"), cwd=tmp_path)
    assert result.returncode == 6 and "run `benchmarks-etl load" in result.stderr


@pytest.mark.parametrize("text, seconds", [("90m", 5400), ("26h", 93600), ("2d", 172800), ("30", 30)])
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@on_engines("duckdb")
def test_status_reports_a_killed_load(loaded):
    from pipelines.warehouse.attempts import LoadAttempt, write_attempt

    folder = working_dir(loaded)
    write_attempt(folder, LoadAttempt(started_at="2026-01-01T00:00:00+00:00", status="running", pid=2**22 + 12345))
    problems = collect_status(loaded.engine()).problems
    assert len(problems) == 1 and "was killed before it finished" in problems[0]
    write_attempt(folder, LoadAttempt(started_at="2026-01-01T00:00:00+00:00", status="running", pid=os.getpid()))
    assert collect_status(loaded.engine()).problems == []


def reader_environment(warehouse: Warehouse) -> dict[str, str]:
    """What `query` needs to run a user's SQL: nothing on DuckDB; on PostgreSQL a read role (the superuser loader is
    refused: tests/test_read_only.py), one that may create tables, so that the read-only session is what refuses a
    write."""
    if warehouse.engine_name != "postgres":
        return {}
    with warehouse.connect() as connection:
        connection.cursor().execute(
            "do $$ begin create role reader login password 'reader-pw'; exception when duplicate_object then null; "
            "end $$; grant all on schema analytics to reader; grant select on all tables in schema analytics to reader"
        )
    return {"DESTINATION__POSTGRES__READ_CREDENTIALS":
            f"postgresql://reader:reader-pw@127.0.0.1:{warehouse.server.port}/{warehouse.name}"}


# What a write through `query` fails with: DuckDB's read-only connection, PostgreSQL's read-only transaction.
REFUSED_WRITE = {"duckdb": "read-only", "postgres": "read-only transaction"}


def test_the_reading_commands_work_from_the_command_line(warehouse, simulator, tmp_path):
    """One CLI load, then every reading command as a user runs it (on PostgreSQL a write fails on the server, not
    only in our code: the query session is default_transaction_read_only)."""
    def cli(*args: str, env: dict | None = None):  # noqa: ANN202 - a CompletedProcess
        return run_cli(*args, *warehouse.cli_args, cwd=tmp_path, key="demo-key", env={**warehouse.env, **(env or {})})

    loaded = cli("load", "--base-url", simulator.url)
    assert loaded.returncode == 0 and loaded.stdout.startswith("Loaded"), loaded.stderr
    status = cli("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"Warehouse: {warehouse.engine().location}" in status.stdout and "Health: OK" in status.stdout
    report = cli("report")
    assert report.returncode == 0, report.stderr
    assert World(scale="tiny").models(None)[0]["name"] in report.stdout

    reader = reader_environment(warehouse)
    count = cli("query", "select count(*) as n from analytics.test_cases", "--format", "csv", env=reader)
    assert count.returncode == 0, count.stderr
    assert count.stdout == f"n\n{len(rows(warehouse, 'test_cases'))}\n"
    write = cli("query", "create table analytics.x (i int)", env=reader)
    assert_one_line_error(write, 6, "Query failed", REFUSED_WRITE[warehouse.engine_name])
    assert values(warehouse, "select count(*) from information_schema.tables where table_name = 'x'") == [(0,)]
    several = cli("query", "select 1; select 2", env=reader)
    assert_one_line_error(several, 2, "one SQL statement")

    relations = snapshot(warehouse, load_history=True)
    for output_format in ("parquet", "csv"):
        out = tmp_path / output_format
        export = cli("export", "--out", str(out), "--format", output_format)
        assert export.returncode == 0, export.stderr
        assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}.{output_format}" for name in relations)
        assert {name: exported_rows(out / f"{name}.{output_format}") for name in relations} == \
            {name: len(relation.rows) for name, relation in relations.items()}
    names = sorted(pq.read_table(tmp_path / "parquet" / "models.parquet").column("name").to_pylist())
    assert names == sorted(model["name"] for model in rows(warehouse, "models")), "the values themselves"
    if warehouse.engine_name == "postgres":
        for result in (loaded, status, report, count, write, several):
            assert warehouse.server.password not in result.stdout + result.stderr


def exported_rows(path) -> int:  # noqa: ANN001
    if path.suffix == ".parquet":
        return pq.read_table(path).num_rows
    with path.open(newline="", encoding="utf-8") as file:
        return len(list(csv.reader(file))) - 1  # the header; a message may span lines
