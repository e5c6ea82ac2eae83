"""What Spark's catalog holds: one external table per lake folder (its declared columns, no rows of its own) and
views. The raw views read those tables through the one publication readers see (`benchmarks_state.publication`);
the staging and analytics views are the sql/ files transpiled to Spark SQL, over the raw views. A publish re-points
the publication view, one catalog update, and with it everything readers see (docs/spark.md).

Why tables under the raw views, not `parquet.`<folder>``: Spark infers a path's schema on every reference by
running a job that reads a footer (0.5 to 2 s each on the local cluster), and an analytics view references the raw
tables dozens of times through its four layers of views; a table's declared columns need no inference. Spark caches
a table's file listing per session unless `spark.sql.filesourceTableRelationCacheSize=0` (docs/spark.md: every
endpoint must set it, or a long-lived session would not see a new load's files)."""

from __future__ import annotations

from typing import Any

from pipelines.tables import LOADED_RUNS, RAW_TABLES
from pipelines.tables.declaration import LOAD_ID_COLUMN, Table
from pipelines.warehouse import settings
from pipelines.warehouse.engine import Names
from pipelines.warehouse.spark.inlining import inlined_views
from pipelines.warehouse.spark.lake import ORIGINAL_LOAD_ID, PUBLICATION_SCHEMA, PUBLICATIONS, Lake
from pipelines.warehouse.view_graph import ViewFile, in_dependency_order
from pipelines.warehouse.views import SQL_DIR, macro_definitions, transpiled, view_files

STATE_SCHEMA = "benchmarks_state"
LAKE_SCHEMA = "benchmarks_lake"  # the external tables over the lake's folders (file_table_statements)
PUBLICATION_VIEW = "publication"
EMPTY_PUBLICATION = "0.parquet"
# The publication's columns in Spark's types (lake.PUBLICATION_SCHEMA's)
PUBLICATION_COLUMNS = tuple(zip(PUBLICATION_SCHEMA.names, ("string", "timestamp", "bigint", "string", "string"),
                                  strict=True))
DIGEST_VIEW = "definitions"  # which definitions of the views the catalog holds (a digest of their statements)
SCHEMAS = (LAKE_SCHEMA, settings.RAW_SCHEMA, STATE_SCHEMA, settings.STAGING_SCHEMA, settings.ANALYTICS_SCHEMA)
NAMES = Names(identifier_quote="`")
# The file loads (lake.file_load) whose rows readers see: each load's own files, or the compaction's holding its rows
FILE_LOADS = (f"select file_load_id from {NAMES.table(STATE_SCHEMA, PUBLICATION_VIEW)} "
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
    """The one statement that changes what readers see: the publication view re-pointed to another file of the
    publications folder (Spark lists only the file a filter on `_metadata.file_name` names)."""
    *columns, file_load_id = (NAMES.quoted(name) for name, _ in PUBLICATION_COLUMNS)
    # a publication written before compaction existed has no file_load_id: every load's rows are in its own files
    columns = ", ".join([*columns, f"coalesce({file_load_id}, {NAMES.quoted('load_id')}) as {file_load_id}"])
    return (f"create or replace view {NAMES.table(STATE_SCHEMA, PUBLICATION_VIEW)} as select {columns} from "
            f"{file_tables(lake)[PUBLICATIONS][0]} where _metadata.file_name = '{_escaped(file_name)}'")


def shown_file(connection: Any) -> str:
    """The name of the publication file readers see now (the empty one when it holds no rows)."""
    rows = connection.execute(f"select input_file_name() from {NAMES.table(STATE_SCHEMA, PUBLICATION_VIEW)} "
                              "limit 1").fetchall()
    return _file_name(rows[0][0]) if rows else EMPTY_PUBLICATION


def shown_publication(connection: Any) -> set[str]:
    """The file loads the publication readers see now reads, and its file name: a compaction keeps them for
    readers still reading it (spark/compaction.py)."""
    rows = connection.execute(f"select distinct file_load_id, input_file_name() from "
                              f"{NAMES.table(STATE_SCHEMA, PUBLICATION_VIEW)} where probe_run_id is null").fetchall()
    return {value for file_load_id, path in rows for value in (file_load_id, _file_name(path)) if value}


def _file_name(uri: str) -> str:
    from urllib.parse import unquote

    return unquote(uri.rsplit("/", 1)[-1])


def file_tables(lake: Lake) -> dict[str, tuple[str, str]]:
    """lake folder -> (its table's name, its table's statement): every raw table's folder and the publications'. A
    table is named after a digest of its statement (its columns and its folder), so a new declaration makes a new
    table, and the views move to it in their own `create or replace`, never finding a table half changed."""
    from pipelines.warehouse.spark.engine import TYPE_NAMES  # the engine imports this module

    folders = {f"{settings.RAW_SCHEMA}/{table.name}": [
        *(f"{NAMES.quoted(column.name)} {TYPE_NAMES[column.type]}" for column in table.columns),
        f"{NAMES.quoted(LOAD_ID_COLUMN)} string", f"{NAMES.quoted(ORIGINAL_LOAD_ID)} string"] for table in RAW_TABLES}
    folders[PUBLICATIONS] = [f"{NAMES.quoted(name)} {kind}" for name, kind in PUBLICATION_COLUMNS]
    tables = {}
    for folder, columns in folders.items():
        body = f"({', '.join(columns)}) using parquet location '{_escaped(lake.spark_path(*folder.split('/')))}'"
        name = NAMES.table(LAKE_SCHEMA, f"{folder.rsplit('/', 1)[-1]}_{definitions_digest([body])[:12]}")
        tables[folder] = (name, f"create table if not exists {name} {body}")
    return tables


def file_table_statements(lake: Lake) -> list[str]:
    """An external table over each lake folder, with its declared columns (dropping one leaves its files)."""
    return [statement for _, statement in file_tables(lake).values()]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def raw_view_statements(lake: Lake) -> list[str]:
    """The raw tables as the views read them: only the files the publication names (each load's own, or the
    compaction's holding its rows, never both), each row under the load that brought it; a list table's newest row
    per key among them (dlt appends on a lake: every load adds its rows), an appended table's rows as they are (the
    staging views keep those of each run's recorded load), loaded_runs and dlt's load records from the
    publication."""
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
    load_id = NAMES.quoted(LOAD_ID_COLUMN)
    columns = ", ".join(NAMES.quoted(name) for name in (*(c.name for c in table.columns), LOAD_ID_COLUMN))
    files = file_tables(lake)[f"{settings.RAW_SCHEMA}/{table.name}"][0]
    published = (f"select {', '.join(NAMES.quoted(c.name) for c in table.columns)}, "
                 f"coalesce({NAMES.quoted(ORIGINAL_LOAD_ID)}, {load_id}) as {load_id} "
                 f"from {files} where {load_id} in ({FILE_LOADS})")
    if table.is_appended:
        return published
    key = ", ".join(NAMES.quoted(name) for name in table.primary_key)
    return (f"select {columns} from (select *, row_number() over (partition by {key} order by "
            f"cast({load_id} as double) desc) as newest from ({published})) where newest = 1")


def view_statements(engine: Any) -> list[tuple[str, Any]]:
    """(statement, the sql/ file it comes from) for every macro and view, in dependency order, each view with the
    views it reads written in (inlining.py: Spark then resolves raw views only). No view is dropped first: `create
    or replace` swaps each one in a single catalog update, so readers never miss one."""
    statements = [(definition, path) for path in sorted((SQL_DIR / "macros").glob("*.sql"))
                  for definition in macro_definitions(path, engine)]
    views = in_dependency_order([ViewFile(v.schema, v.name, v.path) for v in view_files()])
    for view, sql in inlined_views(views):
        body = transpiled(sql, engine.dialect, view.path)
        statements.append((f"create or replace view {NAMES.table(view.schema, view.name)} as\n{body}", view.path))
    return statements
