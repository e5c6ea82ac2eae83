"""The reading commands on Spark (`status`, `query`, `export`, `report`, `check` with `--destination spark`), as a
user runs them, against one lake for the whole session: the tiny world loaded at epoch 0 then 1 (tests/prebuilt.py),
so that regressions exist. What they print is compared with what the same commands print on DuckDB's warehouse of
the same two loads (also pre-built), since the views are the same SQL: the answers must be too.

Few cases on purpose: every command plans its views anew on the cluster, seconds per view (docs/spark.md)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from tests.commands import assert_one_line_error, run_cli
from tests.snapshots import rows, snapshot
from tests.warehouses import DuckDbWarehouse, SparkWarehouse, Warehouses

pytestmark = pytest.mark.xdist_group("spark")  # one cluster: one pytest-xdist worker runs every Spark test
EPOCHS = (0, 1)


@pytest.fixture()
def lakes(prebuilt, spark, tmp_path) -> tuple[SparkWarehouse, DuckDbWarehouse]:
    """The Spark lake and the DuckDB file holding the same two loads (built once per session)."""
    lake = prebuilt.world(Warehouses("spark", tmp_path, cluster=spark), EPOCHS).warehouse
    duckdb_file = prebuilt.world(Warehouses("duckdb", tmp_path), EPOCHS).warehouse
    return lake, duckdb_file


def cli(warehouse, *args: str, cwd):  # noqa: ANN001, ANN201 - a Warehouse, a CompletedProcess
    return run_cli(*args, *warehouse.cli_args, cwd=cwd, env=warehouse.env)


def test_status_query_export_and_report_from_the_command_line(lakes, tmp_path):
    lake, duckdb_file = lakes
    counts = {view: len(relation.rows) for view, relation in snapshot(duckdb_file, load_history=True).items()}

    status = cli(lake, "status", "--format", "json", cwd=tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    facts = json.loads(status.stdout)
    assert (facts["healthy"], facts["warehouse"], facts["loads"]) == (True, str(lake.lake), len(EPOCHS)), facts
    assert facts["view_rows"] == counts, "every view's rows, as on DuckDB"

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


def as_compared(regressions: list[dict]) -> list[dict]:
    """Which load brought a run differs from one warehouse to another; whether one did does not."""
    return [{**regression, "latest_load_id": regression["latest_load_id"] is not None} for regression in regressions]


def test_check_finds_what_it_finds_on_duckdb(lakes, tmp_path):
    lake, duckdb_file = lakes
    for thresholds in ((), ("--max-drop", "0", "--min-cases", "0")):
        on_spark, on_duckdb = (cli(warehouse, "check", *thresholds, "--format", "json", cwd=tmp_path)
                               for warehouse in (lake, duckdb_file))
        assert on_spark.returncode == on_duckdb.returncode, on_spark.stderr
        assert as_compared(json.loads(on_spark.stdout)) == as_compared(json.loads(on_duckdb.stdout)), thresholds
    assert json.loads(on_duckdb.stdout), "the tiny world's second load regressed nothing: nothing was compared"
    text = cli(lake, "check", "--max-drop", "0", "--min-cases", "0", cwd=tmp_path)
    assert (text.returncode, len(text.stdout.splitlines())) == (10, len(json.loads(on_duckdb.stdout)))
