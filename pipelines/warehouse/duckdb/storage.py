"""Which storage format a DuckDB file is in, and converting a file to another one.

DuckDB 2.0 writes a format no 1.x release can read, and the BI tools that embed DuckDB are on 1.x. A file keeps the
format it was created with (setting it later has no effect), so the warehouse's files are created in the configured
format (settings.DEFAULT_DUCKDB_STORAGE_VERSION) and a file in another one is copied into a new file once.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.errors import ConfigError
from pipelines.warehouse import settings
from pipelines.warehouse.engine import literal, quote

STORAGE_TAG = "storage_version"


def path_literal(path: Path) -> str:
    """A file path as a SQL string literal, exactly (quotes doubled; nothing stripped: any character may be in it)."""
    return "'" + str(path).replace("'", "''") + "'"


def create_empty(path: Path, storage_version: str) -> None:
    """A new, empty database file in `storage_version`'s format (dlt then opens it as it is)."""
    import duckdb

    try:
        config = {"storage_compatibility_version": storage_version, **settings.DUCKDB_NO_EXTENSION_LOADING}
        duckdb.connect(str(path), config=config).close()
    except duckdb.InvalidInputException:
        path.unlink(missing_ok=True)
        raise ConfigError(
            f"warehouse.duckdb_storage_version = {storage_version!r} is not a DuckDB version; use one such as "
            f"{settings.DEFAULT_DUCKDB_STORAGE_VERSION} (the default, readable by DuckDB 1.1 and later) or v1.4.0."
        ) from None


def storage_tag(path: Path) -> str | None:
    """The format DuckDB reports for the file (e.g. 'v1.0.0+', 'v2.0.0+')."""
    import duckdb

    with duckdb.connect(config={"threads": 1, **settings.DUCKDB_NO_EXTENSION_LOADING}) as connection:
        connection.execute(f"attach {path_literal(path)} as probed")
        tags = connection.execute("select tags from duckdb_databases() where database_name = 'probed'").fetchone()[0]
    return (tags or {}).get(STORAGE_TAG)


def tag_of_version(storage_version: str, scratch_dir: Path) -> str | None:
    """The format tag a file created for `storage_version` gets (DuckDB reports ranges, not the version asked)."""
    scratch = scratch_dir / f".storage-{os.getpid()}.duckdb"
    try:
        create_empty(scratch, storage_version)
        return storage_tag(scratch)
    finally:
        scratch.unlink(missing_ok=True)


def convert(path: Path, storage_version: str) -> None:
    """Copy every table of the file at `path` into a new file in `storage_version`'s format, then put it in place.

    Views and macros are not copied: the load that converts re-creates them from sql/ before it publishes.
    """
    import duckdb

    converted = path.with_name(path.name + ".converting")
    converted.unlink(missing_ok=True)
    config = {**settings.DUCKDB_LOAD_CONFIG, "temp_directory": str(path.parent / ".converting.tmp")}
    with duckdb.connect(config=config) as connection:
        connection.execute(f"attach {path_literal(path)} as source")
        for schema in (settings.ANALYTICS_SCHEMA, settings.STAGING_SCHEMA):
            connection.execute(f"drop schema if exists source.{quote(schema)} cascade")
        connection.execute("checkpoint source")
        connection.execute(
            f"attach {path_literal(converted)} as target (storage_version {literal(storage_version)})"
        )
        connection.execute("copy from database source to target")
        connection.execute("detach target")
        connection.execute("detach source")
    os.replace(converted, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
