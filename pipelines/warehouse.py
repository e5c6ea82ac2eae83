"""The DuckDB warehouse: where the file and dlt's working directory live, what it already holds, and its views.

Raw tables live in the schema `benchmarks_raw` (written by dlt), staging views in `benchmarks_stg`, and the public
views in `analytics`. Every statement here names objects with the catalog too (`"<file stem>".analytics.x`),
because DuckDB names the catalog after the file's stem and a catalog and schema of the same name are ambiguous.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from pipelines import settings, view_graph
from pipelines.errors import WarehouseError
from pipelines.paths import working_db_for

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# sql/<folder>/<view>.sql -> schema; folders are applied in this order. sql/macros/*.sql (shared SQL functions such
# as the Wilson interval) are run first, as they are.
SQL_LAYERS = (
    ("staging", settings.STAGING_SCHEMA),
    ("intermediate", settings.STAGING_SCHEMA),
    ("marts", settings.ANALYTICS_SCHEMA),
)
VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def prepare_working_copy(db_path: Path) -> Path:
    """Make sure the working file exists: seeded from the published warehouse when only that one is there."""
    working = working_db_for(db_path)
    working.parent.mkdir(parents=True, exist_ok=True)
    if not working.exists() and db_path.exists():
        _atomic_copy(db_path, working)
    return working


def publish(db_path: Path) -> None:
    """Replace the published warehouse with the working file in one atomic rename.

    A reader that has the old file open keeps reading the old, complete version; the next reader opens the new
    one. Nobody ever sees a half-applied load, and a BI tool holding the file open never blocks a load.
    """
    working = working_db_for(db_path)
    for stale in db_path.parent.glob(f".{db_path.name}.*.tmp"):  # left by a load killed while publishing
        stale.unlink(missing_ok=True)
    with connect(working) as connection:
        connection.execute("checkpoint")  # everything in the main file, nothing left in the WAL
    wal = working.with_name(working.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise WarehouseError(f"{working} still has a write-ahead log after a checkpoint; not publishing.")
    _atomic_copy(working, db_path)


def _atomic_copy(source: Path, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@contextmanager
def connect(db_path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection; writers get the load's bounded memory (DuckDB spills beyond it) instead of 80% of the machine."""
    config = {} if read_only else dict(settings.DUCKDB_LOAD_CONFIG)
    try:
        connection = duckdb.connect(str(db_path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        raise WarehouseError(f"Cannot open the warehouse {db_path}: {str(exc).splitlines()[0]}") from None
    try:
        yield connection
    finally:
        connection.close()


@dataclass(frozen=True)
class Names:
    """Fully qualified names in one warehouse file."""

    catalog: str

    def raw(self, table: str) -> str:
        return f"{quote(self.catalog)}.{quote(settings.RAW_SCHEMA)}.{quote(table)}"

    def view(self, schema: str, name: str) -> str:
        return f"{quote(self.catalog)}.{quote(schema)}.{quote(name)}"

    def analytics(self, name: str) -> str:
        return self.view(settings.ANALYTICS_SCHEMA, name)

    def schema(self, schema: str) -> str:
        return f"{quote(self.catalog)}.{quote(schema)}"


def names_for(connection: duckdb.DuckDBPyConnection) -> Names:
    return Names(connection.execute("select current_database()").fetchone()[0])


def table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = connection.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row[0])


def known_run_signatures(db_path: Path) -> dict[int, str]:
    """probe_run_id -> signature of the test cases the warehouse holds for it (empty for a new warehouse).

    The signature is stored on every test case row and written in the same transaction as the rows, so it
    always describes what is really there, even after an interrupted load.
    """
    if not db_path.exists():
        return {}
    with connect(db_path) as connection:
        if not table_exists(connection, settings.RAW_SCHEMA, "test_cases"):
            return {}
        table = names_for(connection).raw("test_cases")
        rows = connection.execute(
            f"select probe_run_id, arg_max(run_signature, _dlt_load_id) from {table} group by probe_run_id"
        ).fetchall()
    return {int(run_id): signature for run_id, signature in rows}


# The bulk tables are appended to (a merge would copy every message twice and sort them). So a re-fetched run has
# its old rows until `prune_superseded_test_cases` removes them, and a load killed between a copy and dlt recording
# it can copy the same file twice when resumed; these keys say what must be unique, and the resumed load removes
# such doubles.
NATURAL_KEYS = {"test_cases": ("id",), "test_case_messages": ("test_case_id", "position")}


def prune_superseded_test_cases(db_path: Path) -> None:
    """Delete the rows of runs that a newer load fetched again: each run keeps the rows of its newest load only.

    Until this runs (say the process died just before), the staging views already hide such rows: they keep only
    test cases whose run signature is the run's current one.
    """
    with connect(db_path) as connection:
        names = names_for(connection)
        for table in NATURAL_KEYS:
            if not table_exists(connection, settings.RAW_SCHEMA, table):
                continue
            connection.execute(
                f"delete from {names.raw(table)} as t using (select probe_run_id, max(_dlt_load_id) as newest "
                f"from {names.raw(table)} group by probe_run_id) as n "
                "where t.probe_run_id = n.probe_run_id and t._dlt_load_id < n.newest"
            )


# What the staging views read from each raw table. A table the API gave no rows for yet (say, no test case has a
# conversation) does not exist until dlt first loads it; it is created empty with these columns so the views work.
# dlt adds any further columns it needs when it first loads the table.
RAW_TABLE_COLUMNS = {
    "benchmark_types": "id bigint, name varchar, description varchar, last_seen_at timestamptz",
    "models": "id bigint, name varchar, provider varchar, benchmark_date timestamptz, url varchar, "
              "last_seen_at timestamptz",
    "model_details": "model_id bigint, scope_type_id bigint, name varchar, provider varchar, url varchar, "
                     "benchmark_date timestamptz, description varchar, total_count bigint, passed_count bigint, "
                     "failed_count bigint, config json, metadata json, last_seen_at timestamptz",
    "model_scores": "model_id bigint, scope_type_id bigint, category varchar, score double, rank double, "
                    "last_seen_at timestamptz",
    "run_scopes": "model_id bigint, benchmark_type_id bigint, last_read_at timestamptz",
    "probe_runs": "id bigint, model_id bigint, benchmark_type_id bigint, probe_id bigint, probe_name varchar, "
                  "probe_category_id bigint, probe_category_name varchar, created_at timestamptz, total_count bigint, "
                  "passed_count bigint, failed_count bigint, score double, signature varchar, last_seen_at timestamptz",
    "test_cases": "id bigint, probe_run_id bigint, model_id bigint, benchmark_type_id bigint, result varchar, "
                  "attack varchar, strategy varchar, red_teamer varchar, variation varchar, "
                  "detection_time timestamptz, explanation varchar, run_signature varchar, _dlt_load_id varchar",
    "test_case_messages": "test_case_id bigint, probe_run_id bigint, position bigint, role varchar, content varchar, "
                          "_dlt_load_id varchar",
}


def _ensure_raw_tables(connection: duckdb.DuckDBPyConnection, names: Names) -> None:
    connection.execute(f"create schema if not exists {names.schema(settings.RAW_SCHEMA)}")
    for table, columns in RAW_TABLE_COLUMNS.items():
        connection.execute(f"create table if not exists {names.raw(table)} ({columns})")


def remove_duplicate_rows(db_path: Path) -> int:
    """Delete exact re-copies in the bulk tables (keeping the newest load's row); returns how many were removed."""
    removed = 0
    with connect(db_path) as connection:
        names = names_for(connection)
        for table, key in NATURAL_KEYS.items():
            if not table_exists(connection, settings.RAW_SCHEMA, table):
                continue
            columns = ", ".join(quote(column) for column in key)
            before = connection.execute(f"select count(*) from {names.raw(table)}").fetchall()[0][0]
            connection.execute(
                f"delete from {names.raw(table)} where rowid in (select rowid from (select rowid, row_number() over "
                f"(partition by {columns} order by _dlt_load_id desc) as copy from {names.raw(table)}) where copy > 1)"
            )
            removed += before - connection.execute(f"select count(*) from {names.raw(table)}").fetchall()[0][0]
    return removed


def view_files() -> list[tuple[str, str, Path]]:
    """(schema, view name, file) for every view in sql/, staging first."""
    files = []
    for folder, schema in SQL_LAYERS:
        for path in sorted((SQL_DIR / folder).glob("*.sql")):
            if not VIEW_NAME.match(path.stem):
                raise WarehouseError(f"{path}: view file names must be lower-case snake_case.")
            files.append((schema, path.stem, path))
    return files


def apply_views(db_path: Path) -> int:
    """(Re)create every view from sql/ in one transaction: readers see the old views or the new ones, never half.

    Each file holds one `select`; the view takes its name from the file and its schema from the folder. Views may
    refer to each other; they are created in dependency order.
    """
    views = view_files()
    with connect(db_path) as connection:
        names = names_for(connection)
        connection.execute("begin transaction")
        try:
            _ensure_raw_tables(connection, names)
            for schema in {schema for _, schema in SQL_LAYERS}:
                connection.execute(f"create schema if not exists {names.schema(schema)}")
                _drop_views(connection, names, schema)
            for path in sorted((SQL_DIR / "macros").glob("*.sql")):
                _run_file(connection, path)
            _create_views(connection, names, views)
            _comment_views(connection, names, views)
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
    return len(views)


def _drop_views(connection: duckdb.DuckDBPyConnection, names: Names, schema: str) -> None:
    existing = connection.execute(
        "select view_name from duckdb_views() where database_name = current_database() "
        "and schema_name = ? and not internal",
        [schema],
    ).fetchall()
    for (view,) in existing:
        connection.execute(f"drop view if exists {names.view(schema, view)} cascade")


def _run_file(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    try:
        connection.execute(path.read_text(encoding="utf-8"))
    except duckdb.Error as exc:
        raise WarehouseError(f"{path.relative_to(SQL_DIR.parent)}: {str(exc).splitlines()[0]}") from None


def _create_views(connection: duckdb.DuckDBPyConnection, names: Names, views: list[tuple[str, str, Path]]) -> None:
    for schema, name, path in _in_dependency_order(views):
        body = path.read_text(encoding="utf-8").strip().rstrip(";")
        try:
            connection.execute(f"create or replace view {names.view(schema, name)} as\n{body}")
        except duckdb.Error as exc:
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


def _comment_views(connection: duckdb.DuckDBPyConnection, names: Names, views: list[tuple[str, str, Path]]) -> None:
    """COMMENT ON every documented view and column, so BI tools and `duckdb_columns()` show what they mean."""
    docs = load_view_docs()
    schemas = {name: schema for schema, name, _ in views}
    unknown = sorted(set(docs) - set(schemas))
    if unknown:
        raise WarehouseError(f"sql/schema.yml documents views that do not exist: {', '.join(unknown)}.")
    for view, doc in docs.items():
        qualified = names.view(schemas[view], view)
        if doc.get("description"):
            connection.execute(f"comment on view {qualified} is {_literal(doc['description'])}")
        for column, text in (doc.get("columns") or {}).items():
            try:
                connection.execute(f"comment on column {qualified}.{quote(column)} is {_literal(text)}")
            except duckdb.Error as exc:
                raise WarehouseError(f"sql/schema.yml: {view}.{column}: {str(exc).splitlines()[0]}") from None


def _literal(text: str) -> str:
    """A SQL string literal of our own documentation text (COMMENT ON takes no bound parameters)."""
    return "'" + str(text).strip().replace("'", "''") + "'"


def _in_dependency_order(views: list[tuple[str, str, Path]]) -> list[tuple[str, str, Path]]:
    """Views ordered so that each comes after the views its `select` reads (parsed by view_graph)."""
    ordered = view_graph.in_dependency_order([view_graph.ViewFile(*view) for view in views])
    return [(view.schema, view.name, view.path) for view in ordered]


def view_row_counts(db_path: Path) -> dict[str, int]:
    """Rows in every analytics view, in name order."""
    with connect(db_path, read_only=True) as connection:
        names = names_for(connection)
        views = connection.execute(
            "select view_name from duckdb_views() where database_name = current_database() "
            "and schema_name = ? and not internal order by view_name",
            [settings.ANALYTICS_SCHEMA],
        ).fetchall()
        return {
            view: connection.execute(f"select count(*) from {names.analytics(view)}").fetchone()[0]
            for (view,) in views
        }
