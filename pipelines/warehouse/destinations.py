"""Which engine a command works on: `--destination duckdb` (a file, `--db`) or `--destination postgres` (a database
named by dlt's credentials). The one place that constructs an `Engine`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Union

from pipelines import settings
from pipelines.warehouse import paths
from pipelines.warehouse.engine import Engine

READ_CREDENTIALS_SETTING = settings.POSTGRES_READ_CREDENTIALS_SETTING


class Destination(StrEnum):
    """The CLI's --destination choices."""

    DUCKDB = "duckdb"
    POSTGRES = "postgres"


def open_engine(destination: Destination | str, db: str | Path, *, reading: bool = False) -> Engine:
    """The engine for `destination`; `db` (the DuckDB file) is ignored for PostgreSQL. `reading`: for the commands
    that only read (query, report, export, status), which connect as the read role on PostgreSQL when one is set."""
    if Destination(destination) is Destination.POSTGRES:
        from pipelines.warehouse.postgres.database import PostgresDatabase

        return PostgresDatabase.from_dlt_config(reading=reading)
    from pipelines.warehouse.duckdb.file import DuckDbFile

    db_path = paths.resolve_db_path(db)
    return DuckDbFile(db_path)


# What the reading commands take: an engine, or the path of a DuckDB file.
Warehouse = Union[Engine, str, Path]  # noqa: UP007 - a runtime alias


def as_engine(warehouse: Warehouse) -> Engine:
    return open_engine(Destination.DUCKDB, warehouse) if isinstance(warehouse, str | Path) else warehouse
