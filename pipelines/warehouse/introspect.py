"""What a warehouse holds, asked of information_schema (standard SQL, the same on every engine but Spark, which has
none: its connection lists its catalog itself, `relation_names`)."""

from __future__ import annotations

from typing import Any

from pipelines.warehouse import settings
from pipelines.warehouse.engine import Names


def table_exists(connection: Any, schema: str, table: str) -> bool:
    if hasattr(connection, "relation_names"):
        return table in connection.relation_names(schema, ("VIEW", "BASE TABLE"))
    row = connection.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row[0])


def view_names(
    connection: Any, schema: str = settings.ANALYTICS_SCHEMA, kinds: tuple[str, ...] = ("VIEW", "BASE TABLE")
) -> list[str]:
    """The views of `schema`, in name order. analytics holds views on DuckDB and tables on PostgreSQL (which
    publishes by refilling them), so both count unless `kinds` says otherwise."""
    if hasattr(connection, "relation_names"):
        return connection.relation_names(schema, kinds)
    marks = ", ".join("?" for _ in kinds)
    rows = connection.execute(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        f"and table_schema = ? and table_type in ({marks}) order by table_name",
        [schema, *kinds],
    ).fetchall()
    return [name for (name,) in rows]


def view_row_counts(connection: Any, names: Names) -> dict[str, int]:
    """Rows in every analytics view, in name order."""
    return {
        view: connection.execute(f"select count(*) from {names.analytics(view)}").fetchone()[0]
        for view in view_names(connection)
    }
