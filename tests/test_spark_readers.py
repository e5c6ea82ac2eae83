"""The reading commands on Spark (`status`, `query`, `export`, `report`, `check` with `--destination spark`), as a
user runs them, against one lake for the whole session: the tiny world loaded at epoch 0 then 1 (tests/prebuilt.py),
so that regressions exist. What they print is compared with what the same commands print on DuckDB's warehouse of
the same two loads (also pre-built), since the views are the same SQL: the answers must be too; `check` on the crafted
world of tests/test_check.py; and one query over several views while loads run.

Few cases on purpose: every command plans its views anew on the cluster, seconds per view (docs/spark.md)."""

from __future__ import annotations

import json
import threading

import pyarrow.parquet as pq
import pytest

from pipelines.errors import ExitCode
from simulator.crafted_api import CraftedApi
from tests.commands import assert_one_line_error, run_cli
from tests.loads import finish, load, load_process
from tests.regressions_world import REGRESSED, SMALL_DROP, WORLD, expected_line
from tests.snapshots import rows, snapshot
from tests.warehouse_checks import assert_started_at_is_the_load_id
from tests.warehouses import DuckDbWarehouse, SparkWarehouse, Warehouses

# Each command plans every view it reads anew, seconds per view; on a busy 2-core machine `status` and `export` took
# minutes each.
pytestmark = pytest.mark.timeout(2400)
# One cluster per pytest-xdist group: the tests that read the session's pre-built lake share the group of the other
# tests reading it (a cluster's one catalog serves one lake at a time); those with lakes of their own go with the
# other loads (tests/test_spark.py), so the two groups keep both workers busy.
ON_THE_PREBUILT_LAKE = pytest.mark.xdist_group("spark")
ON_A_LAKE_OF_ITS_OWN = pytest.mark.xdist_group("spark-loads")
EPOCHS = (0, 1)
COMMAND_TIMEOUT = 1200  # seconds


@pytest.fixture()
def lakes(prebuilt, spark, tmp_path) -> tuple[SparkWarehouse, DuckDbWarehouse]:
    """The Spark lake and the DuckDB file holding the same two loads (built once per session)."""
    lake = prebuilt.world(Warehouses("spark", tmp_path, cluster=spark), EPOCHS).warehouse
    duckdb_file = prebuilt.world(Warehouses("duckdb", tmp_path), EPOCHS).warehouse
    return lake, duckdb_file


def cli(warehouse, *args: str, cwd):  # noqa: ANN001, ANN201 - a Warehouse, a CompletedProcess
    return run_cli(*args, *warehouse.cli_args, cwd=cwd, env=warehouse.env, timeout=COMMAND_TIMEOUT)


@ON_THE_PREBUILT_LAKE
def test_status_query_export_and_report_from_the_command_line(lakes, tmp_path):
    lake, duckdb_file = lakes
    counts = {view: len(relation.rows) for view, relation in snapshot(duckdb_file, load_history=True).items()}

    status = cli(lake, "status", "--format", "json", cwd=tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    facts = json.loads(status.stdout)
    assert (facts["healthy"], facts["warehouse"], facts["loads"]) == (True, str(lake.lake), len(EPOCHS)), facts
    assert facts["view_rows"] == counts, "every view's rows, as on DuckDB"
    assert_started_at_is_the_load_id(rows(lake, "load_history"))

    sql = "select model_id, name, provider from analytics.models order by model_id"
    on_spark, on_duckdb = (cli(warehouse, "query", sql, "--format", "csv", cwd=tmp_path)
                           for warehouse in (lake, duckdb_file))
    assert on_spark.returncode == 0, on_spark.stderr
    assert on_spark.stdout == on_duckdb.stdout and on_spark.stdout.count("\n") == counts["models"] + 1
    write = cli(lake, "query", "create table analytics.x (i int)", cwd=tmp_path)
    assert_one_line_error(write, 6, "Query failed", "read-only")
    several = cli(lake, "query", "select 1; select 2", cwd=tmp_path)
    assert_one_line_error(several, 2, "one SQL statement")

    out = tmp_path / "export"
    export = cli(lake, "export", "--out", str(out), "--format", "parquet", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{view}.parquet" for view in counts)
    assert {view: pq.read_table(out / f"{view}.parquet").num_rows for view in counts} == counts
    names = sorted(pq.read_table(out / "models.parquet").column("name").to_pylist())
    assert names == sorted(model["name"] for model in rows(duckdb_file, "models")), "the values themselves"

    report = cli(lake, "report", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    leader = min((row for row in rows(duckdb_file, "leaderboard") if row["benchmark_type_id"] is None),
                 key=lambda row: row["rank"])
    assert leader["model_name"] in report.stdout and "Leaderboard" in report.stdout


@ON_A_LAKE_OF_ITS_OWN
def test_check_gates_on_spark_as_on_every_engine(spark, tmp_path):
    """The crafted world of tests/test_check.py loaded into a lake of its own: `check` finds the one regression beyond
    the default thresholds, with the figures the other engines print, and nothing beyond a drop of 50 points."""
    lake = SparkWarehouse(spark, tmp_path / "lake").fresh()
    with CraftedApi(WORLD) as api:
        loaded = cli(lake, "load", "--base-url", api.url, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    regressed = cli(lake, "check", cwd=tmp_path)
    assert (regressed.returncode, regressed.stdout, regressed.stderr) == (
        ExitCode.REGRESSION, expected_line(REGRESSED) + "\n", "")
    as_json = cli(lake, "check", "--max-drop", "9.9", "--format", "json", cwd=tmp_path)
    assert as_json.returncode == ExitCode.REGRESSION, as_json.stderr
    assert [regression["probe_id"] for regression in json.loads(as_json.stdout)] == [REGRESSED, SMALL_DROP]
    nothing = cli(lake, "check", "--max-drop", "50", cwd=tmp_path)
    assert (nothing.returncode, nothing.stdout) == (0, "")


# A reader during loads: one query over several views sees one whole load -----------------------------------------
SIGNATURE = {  # numbers from several views that must come from one publication
    "loads": "select count(*) from analytics.load_history",
    "test_cases": "select count(*) from analytics.test_cases",
    "passed_cases": "select count(*) from analytics.test_cases where result = 'PASSED'",
    "total_count": "select sum(total_count) from analytics.probe_runs",
    "passed_count": "select sum(passed_count) from analytics.probe_runs",
    "leaderboard_cases": "select sum(test_cases) from analytics.leaderboard",
    "newest_regression_load": "select max(latest_load_id) from analytics.regressions",
    "newest_load": "select max(load_id) from analytics.load_history",
}
SIGNATURE_SQL = "select " + ", ".join(f"({sql}) as {name}" for name, sql in SIGNATURE.items())


def read_signature(connection) -> dict:  # noqa: ANN001 - the product's Spark connection
    return dict(zip(SIGNATURE, connection.execute(SIGNATURE_SQL).fetchone(), strict=True))


@ON_A_LAKE_OF_ITS_OWN
def test_one_query_over_several_views_sees_one_whole_load_while_loads_run(spark, tmp_path, start_simulator):
    """A reader polls one statement joining five views while two loads (epochs 1 and 2 of the tiny world) run and
    publish; every answer must be exactly the state after one of the loads, and states only move forward."""
    lake = SparkWarehouse(spark, tmp_path / "lake").fresh()
    simulator = start_simulator("tiny")
    load(lake, simulator.url)
    engine = lake.engine(reading=True)
    with engine.connect_published() as connection:
        states = [read_signature(connection)]
    polls: list[dict] = []
    stop, failures = threading.Event(), []

    def poll() -> None:
        try:
            with engine.connect_published() as connection:
                while not stop.is_set():
                    polls.append(read_signature(connection))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    reader = threading.Thread(target=poll, name="spark reader", daemon=True)
    reader.start()
    try:
        for epoch in (1, 2):
            simulator.set_epoch(epoch)
            finish(load_process(lake, simulator.url), timeout=900)
            with engine.connect_published() as connection:
                states.append(read_signature(connection))
    finally:
        stop.set()
        reader.join(timeout=600)
    assert not failures, failures
    assert [state["loads"] for state in states] == [1, 2, 3], states
    for state in states:
        assert (state["test_cases"], state["passed_cases"]) == (state["total_count"], state["passed_count"]), state
    seen = [states.index(signature) if signature in states else signature for signature in polls]
    assert all(isinstance(index, int) for index in seen), f"polls that saw no load's state: {seen}"
    assert seen == sorted(seen) and len(seen) >= 3, seen
    print(f"\n{len(polls)} polls during two loads saw states {seen}")
