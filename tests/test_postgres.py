"""PostgreSQL as the warehouse, on a real server (simulator/throwaway_postgres.py): the same answers as DuckDB from
the same SQL, incremental loads, the command line with --destination postgres, and a password that never leaks."""

from __future__ import annotations

import csv

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.load.runner import run_load
from pipelines.warehouse import settings
from pipelines.warehouse.engine import Names, quote
from simulator.crafted_api import API, CraftedApi
from simulator.world import World
from tests.commands import assert_one_line_error, run_cli
from tests.warehouse_checks import (
    assert_same_relations,
    relation_names,
    relations_snapshot,
    requested_test_case_paths,
)


def duckdb_analytics(db) -> dict:
    """Every analytics view of a DuckDB warehouse (tests/warehouse_checks.py's normalised rows)."""
    connection = duckdb.connect(str(db), read_only=True)
    try:
        catalog = connection.execute("select current_database()").fetchone()[0]
        views = relation_names(connection, settings.ANALYTICS_SCHEMA, "VIEW")
        return relations_snapshot(connection, views, lambda view: f"{quote(catalog)}.{Names().analytics(view)}")
    finally:
        connection.close()


def postgres_analytics(pg_database) -> dict:
    """Every relation of the analytics schema of the PostgreSQL warehouse."""
    with pg_database.connect() as connection:
        relations = relation_names(connection, settings.ANALYTICS_SCHEMA)
        return relations_snapshot(connection, relations, Names().analytics)


def assert_same_analytics(db, pg_database, same_loads: bool = True) -> dict:
    """load_history's timestamps differ from load to load: its row count only, and not even that when the two
    warehouses did not see the same loads. Returns PostgreSQL's snapshot."""
    expected, actual = duckdb_analytics(db), postgres_analytics(pg_database)
    if not same_loads:
        expected["load_history"] = actual["load_history"]
    assert_same_relations(expected, actual, count_only=("load_history",))
    return actual


def test_the_same_world_gives_the_same_analytics_in_duckdb_and_postgres(start_simulator, pg_database, tmp_path):
    """One SQL source for both engines: every view, row by row, after a first load and after an incremental one
    that adds, re-scores and removes runs (removed runs must leave the views on both)."""
    sim = start_simulator(scale="small")
    db = tmp_path / "benchmarks.duckdb"
    run_load(db, base_url=sim.url)
    run_load(destination="postgres", base_url=sim.url)
    assert_same_analytics(db, pg_database)

    sim.set_epoch(1)
    assert not run_load(db, base_url=sim.url).unchanged
    assert not run_load(destination="postgres", base_url=sim.url).unchanged
    assert_same_analytics(db, pg_database)


def test_postgres_fetches_only_what_changed_and_a_full_refresh_reloads_everything(
    start_simulator, pg_database, tmp_path
):
    """The change check and the incremental load are engine-neutral: PostgreSQL asks the API for exactly what DuckDB
    asks for; --full-refresh asks for everything and ends where a fresh load does."""
    sim = start_simulator(scale="tiny")
    db = tmp_path / "benchmarks.duckdb"
    run_load(db, base_url=sim.url)
    run_load(destination="postgres", base_url=sim.url)
    sim.clear_requests()
    assert run_load(destination="postgres", base_url=sim.url).unchanged
    assert requested_test_case_paths(sim.requests) == []

    sim.set_epoch(1)
    sim.clear_requests()
    run_load(db, base_url=sim.url)
    by_duckdb = sorted(requested_test_case_paths(sim.requests))
    sim.clear_requests()
    run_load(destination="postgres", base_url=sim.url)
    by_postgres = sorted(requested_test_case_paths(sim.requests))
    assert by_duckdb, "epoch 1 adds and re-scores runs"
    assert by_postgres == by_duckdb
    assert_same_analytics(db, pg_database)

    sim.clear_requests()
    result = run_load(destination="postgres", base_url=sim.url, full_refresh=True)
    assert result.runs_fetched == result.runs_listed > len(by_duckdb)
    assert len(set(requested_test_case_paths(sim.requests))) == result.runs_listed
    fresh = tmp_path / "fresh.duckdb"
    run_load(fresh, base_url=sim.url)
    after_refresh = assert_same_analytics(fresh, pg_database, same_loads=False)
    assert len(after_refresh["load_history"].rows) == 3, "dlt's load records survive a full refresh, as on DuckDB"


def pg_rows(pg_database, sql: str) -> list[tuple]:
    with pg_database.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall()


def postgres_cli(*args: str, cwd, env: dict | None = None):
    """benchmarks-etl <command> --destination postgres, the simulator's key in the environment."""
    return run_cli(*args, "--destination", "postgres", cwd=cwd, key="demo-key", env=env)


def test_the_reading_commands_work_on_postgres(simulator, pg_database, tmp_path):
    """One CLI load, then every reading command as a user runs it. The query session is
    default_transaction_read_only: a write fails on the server, not only in our code."""
    loaded = postgres_cli("load", "--base-url", simulator.url, cwd=tmp_path)
    assert loaded.returncode == 0 and loaded.stdout.startswith("Loaded"), loaded.stderr
    password = pg_database.server.password

    status = postgres_cli("status", cwd=tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    without_password = pg_database.url.replace(f":{password}@", "@")
    assert f"Warehouse: {without_password}" in status.stdout and "Health: OK" in status.stdout
    report = postgres_cli("report", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert World(scale="tiny").models(None)[0]["name"] in report.stdout

    # query runs the user's SQL as a read role (the superuser loader is refused: tests/test_read_only.py); the
    # role here may create tables, so that the read-only session is what refuses the write.
    with pg_database.connect() as connection:
        connection.cursor().execute(
            "do $$ begin create role reader login password 'reader-pw'; exception when duplicate_object then null; "
            "end $$; grant all on schema analytics to reader; grant select on all tables in schema analytics to reader"
        )
    reader = {"DESTINATION__POSTGRES__READ_CREDENTIALS":
              f"postgresql://reader:reader-pw@127.0.0.1:{pg_database.server.port}/{pg_database.name}"}
    count = postgres_cli("query", "select count(*) as n from analytics.test_cases", "--format", "csv", cwd=tmp_path,
                         env=reader)
    assert count.returncode == 0, count.stderr
    assert count.stdout == f"n\n{pg_rows(pg_database, 'select count(*) from analytics.test_cases')[0][0]}\n"
    write = postgres_cli("query", "create table analytics.x (i int)", cwd=tmp_path, env=reader)
    assert_one_line_error(write, 6, "Query failed", "read-only transaction")
    assert pg_rows(pg_database, "select to_regclass('analytics.x')") == [(None,)]
    several = postgres_cli("query", "select 1; select 2", cwd=tmp_path)
    assert_one_line_error(several, 2, "one SQL statement")

    with pg_database.connect() as connection:
        relations = relation_names(connection, settings.ANALYTICS_SCHEMA)
    counts = {name: pg_rows(pg_database, f"select count(*) from {Names().analytics(name)}")[0][0] for name in relations}
    for output_format in ("parquet", "csv"):
        out = tmp_path / output_format
        export = postgres_cli("export", "--out", str(out), "--format", output_format, cwd=tmp_path)
        assert export.returncode == 0, export.stderr
        assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}.{output_format}" for name in relations)
        assert {name: exported_rows(out / f"{name}.{output_format}") for name in relations} == counts
    for result in (loaded, status, report, count, write, several):
        assert password not in result.stdout + result.stderr


def exported_rows(path) -> int:
    if path.suffix == ".parquet":
        return pq.read_table(path).num_rows
    with path.open(newline="", encoding="utf-8") as file:
        return len(list(csv.reader(file))) - 1  # the header; a message may span lines


@pytest.mark.parametrize("command", [("load", "--base-url", "http://127.0.0.1:9"), ("status",)], ids=["load", "status"])
def test_missing_postgres_credentials_name_the_setting(tmp_path, command):
    result = postgres_cli(*command, cwd=tmp_path)
    assert_one_line_error(result, 2, "DESTINATION__POSTGRES__CREDENTIALS")


def test_a_wrong_postgres_password_fails_in_one_line_without_printing_it(pg_database, simulator, tmp_path):
    wrong = "not-the-pw-" + pg_database.server.password[:6]
    url = pg_database.url.replace(pg_database.server.password, wrong)
    result = postgres_cli("load", "--base-url", simulator.url, cwd=tmp_path,
                          env={"DESTINATION__POSTGRES__CREDENTIALS": url})
    assert_one_line_error(result, 6, "Cannot connect", "password authentication failed")
    assert wrong not in result.stdout + result.stderr


def test_the_postgres_password_is_never_printed_logged_or_written(start_simulator, pg_database, tmp_path):
    """Success, --verbose (dlt's logs, tracebacks) and a failure that names the database: the password is in no
    output and in no file the loads leave (XDG_STATE_HOME holds dlt's working state, traces and load records)."""
    sim = start_simulator(scale="tiny")
    password = pg_database.server.password
    missing_database = pg_database.url.rsplit("/", 1)[0] + "/no_such_database"
    results = [postgres_cli("load", "--base-url", sim.url, cwd=tmp_path)]
    sim.set_epoch(1)  # the verbose load has something to load
    results.append(postgres_cli("load", "--base-url", sim.url, "--verbose", cwd=tmp_path))
    results.append(postgres_cli("load", "--base-url", sim.url, "--verbose", cwd=tmp_path,
                                env={"DESTINATION__POSTGRES__CREDENTIALS": missing_database}))
    assert [result.returncode for result in results] == [0, 0, 6], results[-1].stderr
    assert "no_such_database" in results[-1].stderr
    for result in results:
        assert password not in result.stdout + result.stderr

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len([path for path in files if (tmp_path / "state") in path.parents]) > 10
    leaking = [str(path) for path in files if password.encode() in path.read_bytes()]
    assert leaking == []


# "" is not NULL, and neither is whitespace: a world with all three in every text field the API sends.
BLANKS = ("", None, " \t ")


def blank_world() -> dict:
    """small_world's routes, rebuilt with three types, three models, a run per (model, type) and three test cases
    per run: every text field takes "", None and whitespace in turn, at every level (types, models, details,
    score categories, runs, test cases, messages)."""
    def blank(index: int):  # noqa: ANN202 - one of BLANKS
        return BLANKS[index % len(BLANKS)]

    types = [{"id": t, "name": blank(t), "description": blank(t + 1)} for t in (1, 2, 3)]
    models = [{"id": m, "name": blank(m), "provider": blank(m + 1), "benchmarkDate": "2025-03-01T10:00:00.000Z",
               "url": blank(m + 2), "scores": {"": 10.0 * m, " \t ": None, "Jailbreak": 5.0}} for m in (1, 2, 3)]
    routes: dict = {f"{API}/types": types, f"{API}/models": models}
    for model in models:
        m = model["id"]
        details = {**model, "description": blank(m), "totalCount": 9, "passedCount": 3, "failedCount": 3,
                   "config": {"note": blank(m) if blank(m) is not None else "none"}, "metadata": {},
                   "ranks": {"": 1, " \t ": 2}}
        routes[f"{API}/models/{m}"] = details
        for t in (1, 2, 3):
            routes[f"{API}/models?benchmarkTypeId={t}"] = models
            routes[f"{API}/models/{m}?benchmarkTypeId={t}"] = details
            run = {"id": 10 * m + t, "createdAt": "2025-03-01T10:00:00.000Z", "probeId": 100 + t,
                   "probeName": blank(t), "probeCategoryId": 1000 + t, "probeCategoryName": blank(t + m),
                   "score": 50.0, "totalCount": 3, "passedCount": 1, "failedCount": 1}
            cases = [{"id": 1000 * run["id"] + c, "result": ("PASSED", "FAILED", "ERROR")[c], "attack": blank(c),
                      "strategy": blank(c + 1), "redTeamer": blank(c + 2), "variation": blank(c + t),
                      "detectionTime": None,
                      "conversation": [{"role": blank(c + p), "content": blank(c + p + 1)} for p in range(3)]}
                     for c in range(3)]
            routes[f"{API}/models/{m}/runs?benchmarkTypeId={t}"] = [run]
            routes[f"{API}/models/{m}/runs/{run['id']}/test-cases"] = {**run, "testCases": cases}
    return routes


def column_values(connection, table: str, column: str) -> set:  # noqa: ANN001 - DuckDB's or psycopg2's
    cursor = connection.cursor()
    cursor.execute(f"select distinct {quote(column)} from analytics.{quote(table)}")
    return {value for (value,) in cursor.fetchall()}


BLANK_COLUMNS = {
    "benchmark_types": ("name", "description"), "models": ("name", "provider", "url", "description"),
    "probe_runs": ("probe_name", "probe_category_name"),
    "test_cases": ("attack", "strategy", "red_teamer", "variation"), "test_case_messages": ("role", "content"),
}


def test_empty_null_and_whitespace_text_is_kept_exactly_on_both_engines(pg_database, tmp_path):
    """PostgreSQL used to store "" as NULL (dlt's COPY has FORCE_NULL on every nullable column). Every view equal
    on both engines, and each text column holds exactly the three values the API sent."""
    db = tmp_path / "blank.duckdb"
    with CraftedApi(blank_world()) as api:
        run_load(db, base_url=api.url)
        run_load(destination="postgres", base_url=api.url)
    assert_same_analytics(db, pg_database)
    duck = duckdb.connect(str(db), read_only=True)
    try:
        duck.execute(f"use {quote(duck.execute('select current_database()').fetchone()[0])}")
        with pg_database.connect() as pg:
            for table, columns in BLANK_COLUMNS.items():
                for column in columns:
                    on_duckdb, on_postgres = column_values(duck, table, column), column_values(pg, table, column)
                    assert sorted(map(repr, on_postgres)) == sorted(map(repr, on_duckdb)) == \
                        sorted(map(repr, BLANKS)), f"{table}.{column}"
            assert column_values(pg, "model_scores", "category") >= {"", " \t "}
    finally:
        duck.close()
