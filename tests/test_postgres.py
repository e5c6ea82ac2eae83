"""PostgreSQL as the warehouse, on a real server (tests/postgres.py): the same answers as DuckDB from the same SQL,
incremental loads, the command line with --destination postgres, and a password that never leaks."""

from __future__ import annotations

import duckdb

from pipelines import settings
from pipelines.runner import run_load
from pipelines.warehouse.engine import Names, quote
from tests.warehouse_checks import assert_same_relations, relation_names, relations_snapshot


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


def assert_same_analytics(db, pg_database) -> None:
    """load_history's timestamps differ from load to load: its row count only."""
    assert_same_relations(duckdb_analytics(db), postgres_analytics(pg_database), count_only=("load_history",))


def test_the_same_world_gives_the_same_analytics_in_duckdb_and_postgres(start_simulator, pg_database, tmp_path):
    """One SQL source for both engines: every view, row by row, after a first load and after an incremental one
    that adds, re-scores and removes runs (removed runs must leave the views on both)."""
    sim = start_simulator(scale="small")
    db = tmp_path / "benchmarks.duckdb"
    run_load(db, base_url=sim.url)
    run_load(db, destination="postgres", base_url=sim.url)
    assert_same_analytics(db, pg_database)

    sim.set_epoch(1)
    assert not run_load(db, base_url=sim.url).unchanged
    assert not run_load(db, destination="postgres", base_url=sim.url).unchanged
    assert_same_analytics(db, pg_database)
