"""A BI reader over Spark's Thrift server (HiveServer2), as Superset and notebooks reach Spark: SQLAlchemy with
PyHive's dialect (`hive+spark://`, pipelines/readers/spark_thrift.py). The session's cluster serves Connect inside the
Thrift server's application (simulator/throwaway_spark.py), so the views the product makes through Connect are the
ones a BI tool sees: listed with their columns as sql/schema.yml documents them, and every one read whole equals what
the product reads over Connect. A Thrift session kept open across a load sees the new load once it is published.

Few reads on purpose: Spark plans every view anew, seconds each (docs/spark.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlglot

from pipelines.warehouse.settings import ANALYTICS_SCHEMA
from pipelines.warehouse.views import SOURCE_DIALECT, SQL_DIR, load_view_docs
from tests.loads import load
from tests.snapshots import RelationRows, assert_same_relations, normalised, relation_rows, select_in_order
from tests.warehouses import SparkWarehouse, Warehouses

sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("pyhive", reason="pip install -e '.[spark-bi]'")

pytestmark = pytest.mark.timeout(2400)  # planning every view twice on a busy 2-core machine
EPOCHS = (0, 1)  # the pre-built lake's loads (tests/test_spark_readers.py reads the same)
NONEMPTY = ("models", "test_cases", "leaderboard", "pass_rate_trend")  # views with rows on that world (dates, orders)


def thrift_engine(spark) -> Any:  # noqa: ANN001 - the session's cluster
    return sqlalchemy.create_engine(spark.thrift_url(ANALYTICS_SCHEMA, driver="hive+spark"))


def ordered_by(view: str) -> list[str]:
    """The columns a view's own final ORDER BY names (sql/marts/<view>.sql): a reader gets its rows in that order."""
    order = sqlglot.parse_one((SQL_DIR / "marts" / f"{view}.sql").read_text(), read=SOURCE_DIALECT).args.get("order")
    return [ordered.this.name for ordered in order.expressions] if order else []


def read_both(connection: Any, table: Any, lake: SparkWarehouse, seconds: dict) -> tuple[RelationRows, RelationRows]:
    """The view read whole over Thrift (`connection`; `table` reflected, so that SQLAlchemy turns the driver's date
    strings into dates as a BI tool's dataset does) and by the product over Connect; the rows of a view that orders
    must come in the same order of its ORDER BY's columns (ties may come in either order). `seconds` adds up each
    endpoint's time."""
    view, started = table.name, time.monotonic()
    result = connection.execute(sqlalchemy.select(table))
    columns, rows = list(result.keys()), [tuple(normalised(value) for value in row) for row in result]
    read = time.monotonic()
    expected = select_in_order(lake, f"select * from {{analytics}}.`{view}`")
    seconds["Thrift"] += read - started
    seconds["Connect"] += time.monotonic() - read
    keys = [columns.index(column) for column in ordered_by(view)]
    if keys:
        in_order = [[row[key] for key in keys] for row in rows]
        assert in_order == [[row[key] for key in keys] for row in expected.rows], f"{view}: in its ORDER BY's order"
    return relation_rows(columns, rows), relation_rows(expected.columns, expected.rows)


@pytest.mark.xdist_group("spark")  # reads the session's pre-built lake (tests/test_spark_readers.py)
def test_sqlalchemy_over_thrift_lists_and_reads_every_analytics_view(prebuilt, spark, tmp_path):
    lake = prebuilt.world(Warehouses("spark", tmp_path, cluster=spark), EPOCHS).warehouse
    documented = load_view_docs()
    engine = thrift_engine(spark)
    started = time.monotonic()
    inspector = sqlalchemy.inspect(engine)
    views = inspector.get_view_names(ANALYTICS_SCHEMA)
    assert sorted(views) == sorted(documented), "every analytics view, by name, as sql/schema.yml documents them"
    assert inspector.get_table_names(ANALYTICS_SCHEMA) == [], "analytics holds views only"
    metadata = sqlalchemy.MetaData()
    metadata.reflect(engine, schema=ANALYTICS_SCHEMA, views=True)  # the inspector's columns of every view
    tables = {table.name: table for table in metadata.tables.values()}
    assert sorted(tables) == sorted(views)
    for view, table in tables.items():
        assert list(table.columns.keys()) == list(documented[view]["columns"]), f"{view}: its columns, in order"
    listed = time.monotonic() - started

    seconds = {"Thrift": 0.0, "Connect": 0.0}
    with engine.connect() as connection:
        both = {view: read_both(connection, table, lake, seconds) for view, table in tables.items()}
    over_thrift = {view: thrift for view, (thrift, _) in both.items()}
    assert_same_relations({view: connect for view, (_, connect) in both.items()}, over_thrift,
                          what="Thrift against Connect:")
    assert all(over_thrift[view].rows for view in NONEMPTY), "rows, not only empty views alike"
    print(f"\n{len(views)} views listed over Thrift in {listed:.0f} s; all read whole over Thrift in "
          f"{seconds['Thrift']:.0f} s, over Connect in {seconds['Connect']:.0f} s")


def signature(connection: Any) -> tuple:
    """What a load changes: how many loads the lake has published, and the test cases the views count."""
    return connection.execute(sqlalchemy.text(
        f"select (select count(*) from {ANALYTICS_SCHEMA}.load_history), "
        f"(select count(*) from {ANALYTICS_SCHEMA}.test_cases)")).one()


@pytest.mark.xdist_group("spark-loads")  # a lake of its own (tests/test_spark_readers.py)
def test_a_thrift_session_sees_each_load_once_published(spark, tmp_path, start_simulator):
    """The Thrift server's sessions see a catalog update made through Connect (the publication re-pointed) and the
    new files a load adds to the lake's folders (no cached file listing), in a session opened before the load; and
    they evaluate dates in UTC, as every endpoint must (docs/spark.md)."""
    lake = SparkWarehouse(spark, tmp_path / "lake").fresh()
    simulator = start_simulator("tiny")
    load(lake, simulator.url)
    with thrift_engine(spark).connect() as connection:
        assert connection.execute(sqlalchemy.text("select current_timezone()")).scalar() == "UTC", "as Connect's"
        before = signature(connection)
        simulator.set_epoch(1)
        load(lake, simulator.url)
        after = signature(connection)
    expected = select_in_order(lake, "select (select count(*) from {analytics}.load_history), "
                                     "(select count(*) from {analytics}.test_cases)").rows[0]
    assert (before[0], after[0]) == (1, 2), "the session saw the first load, then the second once published"
    assert tuple(map(float, after)) == expected, f"the same as Connect reads after the second load: {expected}"
