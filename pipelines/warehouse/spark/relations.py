"""What Spark's catalog holds: views only, no tables. The raw views read the lake's Parquet files through the one
publication readers see (`benchmarks_state.publication`); the staging and analytics views are the sql/ files
transpiled to Spark SQL, over the raw views. A publish re-points the publication view, one catalog update, and with
it everything readers see (docs/spark.md)."""

from __future__ import annotations

from typing import Any

from pipelines.tables import LOADED_RUNS, RAW_TABLES
from pipelines.tables.declaration import LOAD_ID_COLUMN, Table
from pipelines.warehouse import settings
from pipelines.warehouse.engine import Names
from pipelines.warehouse.spark.lake import PUBLICATIONS, Lake
from pipelines.warehouse.view_graph import ViewFile, in_dependency_order
from pipelines.warehouse.views import SQL_DIR, macro_definitions, transpiled, view_files

STATE_SCHEMA = "benchmarks_state"
PUBLICATION_VIEW = "publication"
EMPTY_PUBLICATION = "0.parquet"
DIGEST_VIEW = "definitions"  # which definitions of the views the catalog holds (a digest of their statements)
SCHEMAS = (settings.RAW_SCHEMA, STATE_SCHEMA, settings.STAGING_SCHEMA, settings.ANALYTICS_SCHEMA)
NAMES = Names(identifier_quote="`")
PUBLISHED_LOADS = (f"select load_id from {NAMES.table(STATE_SCHEMA, PUBLICATION_VIEW)} "
                   "where probe_run_id is null")


def definitions_digest(statements: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()


def applied_digest(connection: Any) -> str | None:
    """The digest of the definitions the catalog holds (`digest_statement`), None before the first."""
    if DIGEST_VIEW not in connection.relation_names(STATE_SCHEMA, ("VIEW",)):
        return None
    return connection.execute(f"select digest from {NAMES.table(STATE_SCHEMA, DIGEST_VIEW)}").fetchone()[0]


def digest_statement(digest: str) -> str:
    return f"create or replace view {NAMES.table(STATE_SCHEMA, DIGEST_VIEW)} as select '{digest}' as digest"


def publication_statement(lake: Lake, file_name: str) -> str:
    """The one statement that changes what readers see: the publication view re-pointed to another file."""
    return (f"create or replace view {NAMES.table(STATE_SCHEMA, PUBLICATION_VIEW)} as select * from "
            f"parquet.{NAMES.quoted(lake.spark_path(PUBLICATIONS, file_name))}")


def raw_view_statements(lake: Lake) -> list[str]:
    """The raw tables as the views read them: a list table's newest row per key among the published loads (dlt
    appends on a lake: every load adds its rows), an appended table's rows as they are (the staging views keep
    those of each run's recorded load), loaded_runs and dlt's load records from the publication."""
    statements = [f"create or replace view {NAMES.raw(table.name)} as {_raw_select(lake, table)}"
                  for table in RAW_TABLES]
    publication = NAMES.table(STATE_SCHEMA, PUBLICATION_VIEW)
    statements.append(
        f"create or replace view {NAMES.raw(LOADED_RUNS.name)} as select probe_run_id, load_id, run_signature "
        f"from {publication} where probe_run_id is not null")
    statements.append(
        f"create or replace view {NAMES.raw('_dlt_loads')} as select load_id, 'benchmarks' as schema_name, "
        f"0 as status, inserted_at from {publication} where probe_run_id is null")
    return statements


def _raw_select(lake: Lake, table: Table) -> str:
    columns = ", ".join(NAMES.quoted(name) for name in (*(c.name for c in table.columns), LOAD_ID_COLUMN))
    files = f"parquet.{NAMES.quoted(lake.spark_path(settings.RAW_SCHEMA, table.name))}"
    if table.is_appended:
        return f"select {columns} from {files}"
    key = ", ".join(NAMES.quoted(name) for name in table.primary_key)
    return (f"select {columns} from (select *, row_number() over (partition by {key} order by "
            f"cast({LOAD_ID_COLUMN} as double) desc) as newest from {files} "
            f"where {LOAD_ID_COLUMN} in ({PUBLISHED_LOADS})) where newest = 1")


def view_statements(engine: Any) -> list[tuple[str, Any]]:
    """(statement, the sql/ file it comes from) for every macro and view, in dependency order. No view is dropped
    first: `create or replace` swaps each one in a single catalog update, so readers never miss one."""
    statements = [(definition, path) for path in sorted((SQL_DIR / "macros").glob("*.sql"))
                  for definition in macro_definitions(path, engine)]
    for view in in_dependency_order([ViewFile(v.schema, v.name, v.path) for v in view_files()]):
        body = transpiled(view.path.read_text(encoding="utf-8").strip().rstrip(";"), engine.dialect, view.path)
        statements.append((f"create or replace view {NAMES.table(view.schema, view.name)} as\n{body}", view.path))
    return statements
