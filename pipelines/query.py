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
from pipelines.warehouse.destinations import Warehouse, as_engine
from pipelines.warehouse.engine import Names

QUERY_FORMATS = tuple(fmt.value for fmt in QueryFormat)
EXPORT_FORMATS = tuple(fmt.value for fmt in ExportFormat)
EXPORT_BATCH_ROWS = 50_000


@contextmanager
def open_published(warehouse: Warehouse) -> Iterator[tuple[Any, Names]]:
    """A read-only connection to the published warehouse and its names; a clear error when there is none yet."""
    engine = as_engine(warehouse)
    with engine.connect_published() as connection:
        yield connection, engine.names(connection)


def view_row_counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows in every analytics view of the published warehouse, in name order."""
    with open_published(warehouse) as (connection, names):
        return introspect.view_row_counts(connection, names)


def run_query(warehouse: Warehouse, sql: str) -> tuple[list[str], list[tuple]]:
    """Run one read-only statement; returns (column names, rows)."""
    engine = as_engine(warehouse)
    _refuse_several_statements(sql, engine.dialect)
    with engine.connect_published() as connection:
        try:
            cursor = connection.execute(sql)
        except engine.driver_error as exc:
            raise WarehouseError(f"Query failed: {str(exc).splitlines()[0]}") from None
        if cursor.description is None:
            return [], []
        return [column[0] for column in cursor.description], cursor.fetchall()


def _refuse_several_statements(sql: str, dialect: str) -> None:
    """One statement only: on a server, a second one could end the read-only transaction the first runs in."""
    import sqlglot
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
    except SqlglotError:
        return  # the engine reports what is wrong with it
    separators = [index for index, token in enumerate(tokens) if token.token_type is TokenType.SEMICOLON]
    if any(index < len(tokens) - 1 for index in separators):
        raise ConfigError("query runs one SQL statement; got several (separated by ';').")


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


def export_views(warehouse: Warehouse, out_dir: str | Path, output_format: str) -> list[Path]:
    """Write every analytics view to <out_dir>/<view>.<format>.

    Each file is written under a temporary name and renamed into place, so a reader sees either the previous file
    or the complete new one. Rows stream in batches: memory does not grow with the view's size.
    """
    if output_format not in EXPORT_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(EXPORT_FORMATS)}; got {output_format!r}.")
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    engine = as_engine(warehouse)
    with engine.connect_published() as connection:
        names = engine.names(connection)
        for view in introspect.view_names(connection):
            target = out / f"{view}.{output_format}"
            with paths.replaced_atomically(target) as temporary:
                reader = engine.arrow_reader(connection, f"select * from {names.analytics(view)}", EXPORT_BATCH_ROWS)
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
