"""The views: one per file in sql/ (staging and intermediate into benchmarks_stg, marts into analytics, or on an
engine that publishes tables into its `mart_views_schema`), re-created after every load in dependency order, with the
descriptions of sql/schema.yml as comments.

The views and the macros (functions such as the Wilson interval) are written once, in DuckDB's dialect; sqlglot
transpiles them for any other engine, whose `function_definition` wraps a macro's expression as it needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pipelines.errors import WarehouseError
from pipelines.warehouse import settings
from pipelines.warehouse.engine import Engine, Names, literal, quote
from pipelines.warehouse.introspect import view_names
from pipelines.warehouse.raw_tables import ensure_raw_tables
from pipelines.warehouse.view_graph import ViewFile, in_dependency_order

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "sql"
# sql/<folder>/<view>.sql -> schema; folders are applied in this order. sql/macros/*.sql (`create macro` statements:
# SQL functions such as the Wilson interval) are created first.
SQL_LAYERS = (
    ("staging", settings.STAGING_SCHEMA),
    ("intermediate", settings.STAGING_SCHEMA),
    ("marts", settings.ANALYTICS_SCHEMA),
)
VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SOURCE_DIALECT = "duckdb"  # the dialect the files in sql/ are written in


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
    views = [
        ViewFile(engine.mart_views_schema if view.schema == settings.ANALYTICS_SCHEMA else view.schema, view.name,
                 view.path)
        for view in view_files()
    ]
    with engine.connect_for_load() as connection:
        names = engine.names(connection)
        connection.execute("begin transaction")
        try:
            ensure_raw_tables(connection, names, engine)
            schemas = sorted({view.schema for view in views})
            for schema in schemas:
                connection.execute(f"create schema if not exists {names.schema(schema)}")
            _drop_views_in(connection, names, schemas)
            for path in sorted((SQL_DIR / "macros").glob("*.sql")):
                for definition in macro_definitions(path, engine):
                    _execute_file(connection, engine, definition, path)
            for view in in_dependency_order(views):
                body = transpiled(view.path.read_text(encoding="utf-8").strip().rstrip(";"), engine.dialect, view.path)
                qualified = names.table(view.schema, view.name)
                _execute_file(connection, engine, f"create or replace view {qualified} as\n{body}", view.path)
            for statement in comment_statements(names, {view.name: view.schema for view in views}, "view"):
                _execute_comment(connection, engine, statement)
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
    return len(views)


def drop_views(engine: Engine) -> None:
    """Drop every view the load re-creates, before a full refresh drops the raw tables under them (PostgreSQL
    refuses to drop a table a view depends on). Readers do not read these: on DuckDB they are in the private
    working copy, on PostgreSQL `analytics` holds tables."""
    with engine.connect_for_load() as connection:
        schemas = sorted({settings.STAGING_SCHEMA, engine.mart_views_schema})
        _drop_views_in(connection, engine.names(connection), schemas)


def _drop_views_in(connection: Any, names: Names, schemas: list[str]) -> None:
    for schema in schemas:
        for view in view_names(connection, schema, kinds=("VIEW",)):
            connection.execute(f"drop view if exists {names.table(schema, view)} cascade")


def macro_definitions(path: Path, engine: Engine) -> list[str]:
    """Each `create macro name(parameters) as expression` of a macro file, as the engine defines a function."""
    import sqlglot
    from sqlglot import exp

    definitions = []
    for statement in sqlglot.parse(path.read_text(encoding="utf-8"), read=SOURCE_DIALECT):
        if not (isinstance(statement, exp.Create) and statement.args.get("kind") == "MACRO"):
            raise WarehouseError(f"{path.relative_to(SQL_DIR.parent)}: only `create macro` statements belong here.")
        signature = statement.this
        name = ".".join(quote(part.name) for part in signature.this.parts)
        parameters = [parameter.name for parameter in signature.expressions]
        body = transpiled(statement.expression.sql(SOURCE_DIALECT), engine.dialect, path)
        definitions.append(engine.function_definition(name, parameters, body))
    return definitions


def transpiled(sql: str, dialect: str, path: Path) -> str:
    """A view's SQL (DuckDB's dialect) in `dialect`; a construct the engine lacks is an error naming the file."""
    if dialect == SOURCE_DIALECT:
        return sql
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    from pipelines.warehouse.sql_dialects import writer

    try:
        return sqlglot.transpile(sql, read=SOURCE_DIALECT, write=writer(dialect),
                                 unsupported_level=ErrorLevel.RAISE)[0]
    except SqlglotError as exc:
        raise WarehouseError(f"{path.relative_to(SQL_DIR.parent)}: not expressible in {dialect}: "
                             f"{str(exc).splitlines()[0]}") from None


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


def comment_statements(names: Names, schema_of: dict[str, str], kind: str) -> list[str]:
    """COMMENT ON every documented view (or, where analytics holds tables, table) and column, so BI tools and the
    catalog show what they mean. `schema_of`: view name -> the schema it is in; `kind`: "view" or "table"."""
    docs = load_view_docs()
    unknown = sorted(set(docs) - set(schema_of))
    if unknown:
        raise WarehouseError(f"sql/schema.yml documents views that do not exist: {', '.join(unknown)}.")
    statements = []
    for view, doc in docs.items():
        qualified = names.table(schema_of[view], view)
        if doc.get("description"):
            statements.append(f"comment on {kind} {qualified} is {literal(doc['description'])}")
        for column, text in (doc.get("columns") or {}).items():
            statements.append(f"comment on column {qualified}.{quote(column)} is {literal(text)}")
    return statements


def _execute_comment(connection: Any, engine: Engine, statement: str) -> None:
    try:
        connection.execute(statement)
    except engine.driver_error as exc:
        raise WarehouseError(f"sql/schema.yml: {statement.split(' is ')[0]}: {str(exc).splitlines()[0]}") from None
