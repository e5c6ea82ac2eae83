"""Reading the published warehouse without a DuckDB CLI: ad-hoc SQL (`query`) and files for BI tools (`export`)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines import paths
from pipelines.errors import ConfigError, WarehouseError
from pipelines.settings import ExportFormat, QueryFormat
from pipelines.warehouse import introspect
from pipelines.warehouse.duckdb_file import DuckDbFile
from pipelines.warehouse.engine import Engine, Names

QUERY_FORMATS = tuple(fmt.value for fmt in QueryFormat)
EXPORT_FORMATS = tuple(fmt.value for fmt in ExportFormat)
EXPORT_BATCH_ROWS = 50_000


def published_engine(db: str | Path) -> Engine:
    return DuckDbFile(paths.resolve_db_path(db))


@contextmanager
def open_published(db: str | Path) -> Iterator[tuple[Any, Names]]:
    """A read-only connection to the published warehouse and its names; a clear error when there is none yet."""
    engine = published_engine(db)
    with engine.connect_published() as connection:
        yield connection, engine.names(connection)


def view_row_counts(db: str | Path) -> dict[str, int]:
    """Rows in every analytics view of the published warehouse, in name order."""
    with open_published(db) as (connection, names):
        return introspect.view_row_counts(connection, names)


def run_query(db: str | Path, sql: str) -> tuple[list[str], list[tuple]]:
    """Run one read-only statement; returns (column names, rows)."""
    engine = published_engine(db)
    with engine.connect_published() as connection:
        try:
            cursor = connection.execute(sql)
        except engine.driver_error as exc:
            raise WarehouseError(f"Query failed: {str(exc).splitlines()[0]}") from None
        if cursor.description is None:
            return [], []
        return [column[0] for column in cursor.description], cursor.fetchall()


def format_rows(columns: list[str], rows: list[tuple], output_format: str) -> str:
    if output_format not in QUERY_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(QUERY_FORMATS)}; got {output_format!r}.")
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buffer.getvalue()
    if output_format == "json":
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        return json.dumps(records, default=_json_default, ensure_ascii=False, indent=2) + "\n"
    return _render_table(columns, rows)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _render_table(columns: list[str], rows: list[tuple]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console = Console(file=io.StringIO(), width=shutil.get_terminal_size((160, 40)).columns, force_terminal=False)
    console.print(table)
    console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    return console.file.getvalue()


def export_views(db: str | Path, out_dir: str | Path, output_format: str) -> list[Path]:
    """Write every analytics view to <out_dir>/<view>.<format>.

    Each file is written under a temporary name and renamed into place, so a reader sees either the previous file
    or the complete new one. Rows stream in batches: memory does not grow with the view's size.
    """
    if output_format not in EXPORT_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(EXPORT_FORMATS)}; got {output_format!r}.")
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with open_published(db) as (connection, names):
        for view in introspect.view_names(connection):
            target = out / f"{view}.{output_format}"
            with paths.replaced_atomically(target) as temporary:
                reader = connection.sql(f"select * from {names.analytics(view)}").to_arrow_reader(
                    EXPORT_BATCH_ROWS
                )
                _write_batches(reader, temporary, output_format)
            written.append(target)
    return written


def _write_batches(reader: pa.RecordBatchReader, path: Path, output_format: str) -> None:
    if output_format == "parquet":
        with pq.ParquetWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    else:
        with pa_csv.CSVWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
