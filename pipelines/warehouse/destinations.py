"""Which engine a command works on: `--destination duckdb` (a file, `--db`), `--destination postgres` (a database
named by dlt's credentials) or `--destination spark` (a lake and a Spark Connect endpoint named by dlt's settings).
The one place that constructs an `Engine`, already configured."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Union

from pipelines.warehouse import paths
from pipelines.warehouse.engine import Engine
from pipelines.warehouse.postgres.configuration import READ_CREDENTIALS_SETTING
from pipelines.warehouse.settings import DEFAULT_DB_FILE

__all__ = ["READ_CREDENTIALS_SETTING", "Destination", "Warehouse", "as_engine", "engine_for_load", "open_engine"]


class Destination(StrEnum):
    """The CLI's --destination choices."""

    DUCKDB = "duckdb"
    POSTGRES = "postgres"
    SPARK = "spark"


def open_engine(destination: Destination | str, db: str | Path | None = None, *, reading: bool = False) -> Engine:
    """The engine for `destination`, to read or verify; `db` (the DuckDB file) is ignored for PostgreSQL. `reading`:
    for the commands that only read (query, report, export, status), which connect as the read role on PostgreSQL
    when one is set. A load's engine: `engine_for_load`."""
    if Destination(destination) is Destination.SPARK:
        from pipelines.warehouse.spark.configuration import resolve_spark_settings
        from pipelines.warehouse.spark.engine import SparkLake

        return SparkLake(resolve_spark_settings())
    if Destination(destination) is Destination.POSTGRES:
        from pipelines.warehouse.postgres.configuration import resolve_credentials
        from pipelines.warehouse.postgres.database import PostgresDatabase

        return PostgresDatabase(resolve_credentials(reading=reading))
    from pipelines.warehouse.duckdb.file import DuckDbFile

    return DuckDbFile(paths.resolve_db_path(db if db is not None else DEFAULT_DB_FILE))


def engine_for_load(destination: Destination | str, db: str | Path | None = None) -> Engine:
    """The engine a load writes, with its settings as dlt resolves them now: the loader's credentials on
    PostgreSQL; the storage format and memory limit of the DuckDB file `db`."""
    if Destination(destination) in (Destination.POSTGRES, Destination.SPARK):
        return open_engine(destination)
    from pipelines.warehouse.duckdb.configuration import resolve_duckdb_settings
    from pipelines.warehouse.duckdb.file import DuckDbFile

    db_path = paths.resolve_db_path(db if db is not None else DEFAULT_DB_FILE)
    return DuckDbFile(db_path, resolve_duckdb_settings())


# What the reading commands take: an engine, or the path of a DuckDB file.
Warehouse = Union[Engine, str, Path]  # noqa: UP007 - a runtime alias


def as_engine(warehouse: Warehouse) -> Engine:
    return open_engine(Destination.DUCKDB, warehouse) if isinstance(warehouse, str | Path) else warehouse
