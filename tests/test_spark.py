"""Spark, on a real local cluster (the session's `spark` fixture): a load lands in the lake and the catalog, and
every analytics relation equals DuckDB's row for row (floats to 1e-9), after a first and after an incremental
load of the same simulator; a load with nothing changed writes nothing."""

from __future__ import annotations

import pytest

from tests.loads import load
from tests.snapshots import assert_same_relations, snapshot
from tests.warehouses import DuckDbWarehouse, SparkWarehouse

SCALE = "small"
# Its load ids and times differ from one warehouse to another; its row count does not.
COUNT_ONLY = ("load_history",)

# The loads' own lakes: a second cluster (group), so both pytest-xdist workers share the Spark tests. Two loads and
# four snapshots on Spark: 7 min on a busy 2-core machine, so more than the suite's default timeout.
pytestmark = [pytest.mark.xdist_group("spark-loads"), pytest.mark.timeout(1800)]


@pytest.fixture()
def spark_warehouse(spark, tmp_path, monkeypatch) -> SparkWarehouse:
    made = SparkWarehouse(spark, tmp_path / "lake").fresh()
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


def test_spark_analytics_equal_duckdb_after_a_first_and_an_incremental_load(
    start_simulator, spark_warehouse, tmp_path
):
    sim = start_simulator(SCALE)
    duckdb_warehouse = DuckDbWarehouse(tmp_path / "duckdb" / "w.duckdb")
    for epoch in (0, 1):
        sim.set_epoch(epoch)
        on_duckdb = load(duckdb_warehouse, sim.url)
        on_spark = load(spark_warehouse, sim.url)
        assert (on_spark.runs_fetched, on_spark.test_cases, on_spark.messages) == (
            on_duckdb.runs_fetched, on_duckdb.test_cases, on_duckdb.messages), f"epoch {epoch}"
        assert_same_relations(snapshot(duckdb_warehouse, load_history=True),
                              snapshot(spark_warehouse, load_history=True), COUNT_ONLY, what=f"epoch {epoch}:")
    published = spark_warehouse.engine().published_identity()
    unchanged = load(spark_warehouse, sim.url)
    assert unchanged.unchanged and unchanged.runs_fetched == 0
    assert spark_warehouse.engine().published_identity() == published
