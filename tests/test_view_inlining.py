"""The views written into one statement each (pipelines/warehouse/spark/inlining.py, what Spark creates): they must
mean what the layered views mean. Checked on DuckDB, where both can run side by side: every view of every layer
replaced by its inlined text in a copy of a warehouse of two loads gives the same rows in every analytics view; and
an inlined view names no view of sql/, only raw tables (what makes it cheap for Spark to resolve)."""

from __future__ import annotations

import duckdb

from pipelines.warehouse.spark.inlining import inlined_views
from pipelines.warehouse.view_graph import ViewFile, in_dependency_order, references
from pipelines.warehouse.views import view_files
from tests.snapshots import assert_same_relations, snapshot
from tests.warehouses import Warehouses, copy_file

EPOCHS = (0, 1)  # two loads: runs re-run and removed, so regressions and superseded rows exist


def ordered_views() -> list[ViewFile]:
    return in_dependency_order([ViewFile(view.schema, view.name, view.path) for view in view_files()])


def test_an_inlined_view_reads_only_raw_tables():
    views = ordered_views()
    ours = {(view.schema, view.name) for view in views}
    for view, sql in inlined_views(views):
        read = references(sql)
        assert read, view.name
        assert not read & ours, f"{view.name} still names {sorted(read & ours)}"
        assert {schema for schema, _ in read} == {"benchmarks_raw"}, (view.name, sorted(read))


def test_inlined_views_give_the_rows_the_layered_views_give(prebuilt, tmp_path):
    built = prebuilt.world(Warehouses("duckdb", tmp_path), EPOCHS)
    warehouse = copy_file(built, tmp_path / "inlined" / built.warehouse.db.name)
    layered = snapshot(warehouse, load_history=True)
    with duckdb.connect(str(warehouse.db)) as connection:
        for view, sql in inlined_views(ordered_views()):
            connection.execute(f"create or replace view {view.schema}.{view.name} as {sql}")
    inlined = snapshot(warehouse, load_history=True)
    assert sum(len(relation.rows) for relation in layered.values()) > 500, "a world with rows in it"
    assert_same_relations(layered, inlined, what="inlined vs layered")
