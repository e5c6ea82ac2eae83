"""The views: one per file in sql/ (staging and intermediate into benchmarks_stg, marts into analytics), re-created
after every load in dependency order, with the descriptions of sql/schema.yml as comments."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pipelines import settings
from pipelines.errors import WarehouseError
from pipelines.warehouse.engine import Engine, Names, literal, quote
from pipelines.warehouse.introspect import view_names
from pipelines.warehouse.raw_tables import ensure_raw_tables
from pipelines.warehouse.view_graph import ViewFile, in_dependency_order

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "sql"
# sql/<folder>/<view>.sql -> schema; folders are applied in this order. sql/macros/*.sql (shared SQL functions such
# as the Wilson interval) are run first, as they are.
SQL_LAYERS = (
    ("staging", settings.STAGING_SCHEMA),
    ("intermediate", settings.STAGING_SCHEMA),
    ("marts", settings.ANALYTICS_SCHEMA),
)
VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def view_files() -> list[ViewFile]:
    """Every view in sql/, staging first."""
    files = []
    for folder, schema in SQL_LAYERS:
        for path in sorted((SQL_DIR / folder).glob("*.sql")):
            if not VIEW_NAME.match(path.stem):
                raise WarehouseError(f"{path}: view file names must be lower-case snake_case.")
            files.append(ViewFile(schema, path.stem, path))
    return files


def apply_views(engine: Engine) -> int:
    """(Re)create every view from sql/ in one transaction: readers see the old views or the new ones, never half.

    Each file holds one `select`; the view takes its name from the file and its schema from the folder. Views may
    read each other (always schema-qualified); they are created in the order sqlglot finds (view_graph.py).
    """
    views = view_files()
    with engine.connect_for_load() as connection:
        names = engine.names(connection)
        connection.execute("begin transaction")
        try:
            ensure_raw_tables(connection, names, engine)
            for schema in {schema for _, schema in SQL_LAYERS}:
                connection.execute(f"create schema if not exists {names.schema(schema)}")
                for view in view_names(connection, schema):
                    connection.execute(f"drop view if exists {names.table(schema, view)} cascade")
            for path in sorted((SQL_DIR / "macros").glob("*.sql")):
                _execute_file(connection, engine, path.read_text(encoding="utf-8"), path)
            for view in in_dependency_order(views):
                body = view.path.read_text(encoding="utf-8").strip().rstrip(";")
                qualified = names.table(view.schema, view.name)
                _execute_file(connection, engine, f"create or replace view {qualified} as\n{body}", view.path)
            _comment_views(connection, engine, names, views)
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
    return len(views)


def _execute_file(connection: Any, engine: Engine, sql: str, path: Path) -> None:
    try:
        connection.execute(sql)
    except engine.driver_error as exc:
        raise WarehouseError(f"{path.relative_to(SQL_DIR.parent)}: {str(exc).splitlines()[0]}") from None


def load_view_docs() -> dict[str, dict]:
    """sql/schema.yml: a description per view and per column that needs one (dbt's schema.yml, in short)."""
    path = SQL_DIR / "schema.yml"
    if not path.exists():
        return {}
    docs = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(docs, dict):
        raise WarehouseError(f"{path}: expected a mapping of view name -> {{description, columns}}.")
    return docs


def _comment_views(connection: Any, engine: Engine, names: Names, views: list[ViewFile]) -> None:
    """COMMENT ON every documented view and column, so BI tools and the catalog show what they mean."""
    docs = load_view_docs()
    schemas = {view.name: view.schema for view in views}
    unknown = sorted(set(docs) - set(schemas))
    if unknown:
        raise WarehouseError(f"sql/schema.yml documents views that do not exist: {', '.join(unknown)}.")
    for view, doc in docs.items():
        qualified = names.table(schemas[view], view)
        if doc.get("description"):
            connection.execute(f"comment on view {qualified} is {literal(doc['description'])}")
        for column, text in (doc.get("columns") or {}).items():
            try:
                connection.execute(f"comment on column {qualified}.{quote(column)} is {literal(text)}")
            except engine.driver_error as exc:
                raise WarehouseError(f"sql/schema.yml: {view}.{column}: {str(exc).splitlines()[0]}") from None
