"""Is the file at --db a warehouse this project created? A load changes, converts or replaces only such a file.

Every version of this project has loaded through dlt into the schema benchmarks_raw under the dlt schema named after
the source ("benchmarks"): dlt's own tables `_dlt_loads`, `_dlt_version` and `_dlt_pipeline_state` are there, and
`_dlt_version` names that schema. Anything else at --db (someone's own DuckDB database, an empty one, a text file, a
SQLite file, a directory) is refused untouched: one line, exit 6. The header is checked before DuckDB opens the file
(DuckDB would hand a SQLite file to an extension), the tables with a read-only attach that has no extension loading.
"""

from __future__ import annotations

import stat
from pathlib import Path

from pipelines.api.settings import SOURCE_NAME
from pipelines.warehouse import settings
from pipelines.warehouse.engine import quote

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file, all storage formats
DUCKDB_MAGIC_OFFSET = 8
OUR_DLT_TABLES = ("_dlt_loads", "_dlt_pipeline_state", "_dlt_version")
PROBE_ALIAS = "probed_warehouse"


def refusal(path: Path, reason: str) -> str:
    """The one line a refused file gets: which file, why, what to do."""
    return f"{path} {reason}; a load changes only a warehouse this project created. Choose another --db path."


def header_problem(path: Path) -> str | None:
    """Why the file at `path` cannot be a DuckDB database, without DuckDB opening it; None when it may be one (or
    when there is no file). OSError (e.g. permission denied) is left to the caller."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(mode):
        return refusal(path, "is a directory, not a warehouse file")
    if not stat.S_ISREG(mode):
        return refusal(path, "is not a regular file")
    with open(path, "rb") as handle:
        header = handle.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
    if header[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
        return refusal(path, "is not a DuckDB database")
    return None


def not_ours(path: Path) -> str | None:
    """Why the load must not touch the file at `path`; None when there is none or it is a warehouse of ours."""
    problem = header_problem(path)
    if problem is not None or not path.exists():
        return problem
    import duckdb

    from pipelines.warehouse.duckdb.storage import path_literal

    try:
        with duckdb.connect(config={"threads": 1, **settings.DUCKDB_NO_EXTENSION_LOADING}) as connection:
            connection.execute(f"attach {path_literal(path)} as {PROBE_ALIAS} (read_only)")
            return None if _holds_our_dlt_tables(connection) else refusal(
                path, f"holds no dlt tables of the '{SOURCE_NAME}' source in {settings.RAW_SCHEMA}, so this "
                "project did not create it"
            )
    except duckdb.Error as exc:
        return refusal(path, f"cannot be read as a DuckDB database ({str(exc).strip().splitlines()[0]})")


def _holds_our_dlt_tables(connection: object) -> bool:
    tables = {row[0] for row in connection.execute(  # type: ignore[attr-defined]
        "select table_name from duckdb_tables() where database_name = ? and schema_name = ?",
        [PROBE_ALIAS, settings.RAW_SCHEMA],
    ).fetchall()}
    if not set(OUR_DLT_TABLES) <= tables:
        return False
    version_table = f"{quote(PROBE_ALIAS)}.{quote(settings.RAW_SCHEMA)}.{quote('_dlt_version')}"
    found = connection.execute(  # type: ignore[attr-defined]
        f"select count(*) from {version_table} where schema_name = ?", [SOURCE_NAME]
    ).fetchone()[0]
    return found > 0
