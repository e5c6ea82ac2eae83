"""Reading the published warehouse without a DuckDB CLI: ad-hoc SQL (`query`) and files for BI tools (`export`)."""

from __future__ import annotations

import io
import json
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.errors import ConfigError, WarehouseError
from pipelines.readers.formats import ExportFormat, QueryFormat
from pipelines.readers.read_only_sql import checked_read_only
from pipelines.safe_text import CsvFormulas, csv_batch, csv_cell, json_text, rich_text
from pipelines.warehouse import introspect, paths
from pipelines.warehouse.destinations import READ_CREDENTIALS_SETTING, Warehouse, as_engine

QUERY_FORMATS = tuple(fmt.value for fmt in QueryFormat)
EXPORT_FORMATS = tuple(fmt.value for fmt in ExportFormat)
EXPORT_BATCH_ROWS = 50_000


def run_query(warehouse: Warehouse, sql: str) -> tuple[list[str], list[tuple]]:
    """Run one read-only statement; returns (column names, rows)."""
    engine = as_engine(warehouse)
    _refuse_several_statements(sql, engine.dialect)
    if engine.dialect == "spark":  # no read-only session there: checked before it is sent (read_only_sql.py)
        sql = checked_read_only(sql, engine.dialect)
    with engine.connect_published() as connection:
        if engine.dialect == "postgres":
            _refuse_roles_that_reach_server_files(connection, engine.location)
        try:
            cursor = connection.execute(sql)
        except engine.driver_error as exc:
            raise WarehouseError(f"Query failed: {str(exc).splitlines()[0]}") from None
        if cursor.description is None:
            return [], []
        return [column[0] for column in cursor.description], cursor.fetchall()


# Roles that may read or write the server's files or run programs there (COPY ... TO/FROM a file or PROGRAM,
# pg_read_file, lo_export): a read-only transaction does not stop them. Superusers hold all three.
SERVER_FILE_ROLES = ("pg_write_server_files", "pg_read_server_files", "pg_execute_server_program")


def _refuse_roles_that_reach_server_files(connection: Any, location: str) -> None:
    """`query` runs the user's SQL: not as a role that could write files on the database server."""
    checks = " or ".join(f"pg_has_role(current_user, '{role}', 'MEMBER')" for role in SERVER_FILE_ROLES)
    privileged = connection.execute(
        f"select rolsuper or {checks} from pg_roles where rolname = current_user"
    ).fetchone()
    if privileged is None or privileged[0]:
        raise ConfigError(
            f"query will not run SQL as {location}: that role can write files on the database server (superuser "
            f"or a member of {', '.join(SERVER_FILE_ROLES)}). Set {READ_CREDENTIALS_SETTING} to a read-only role "
            "(docs/postgres.md: \"Giving dashboards read-only access\")."
        )


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


def format_rows(
    columns: list[str], rows: list[tuple], output_format: str, csv_formulas: CsvFormulas = CsvFormulas.ESCAPE
) -> str:
    """The rows as text; CSV text cells that a spreadsheet would run as formulas are escaped unless kept."""
    if output_format not in QUERY_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(QUERY_FORMATS)}; got {output_format!r}.")
    if output_format == "csv":
        lines = [columns, *rows]
        return "".join(",".join(_csv_field(csv_cell(value, csv_formulas)) for value in line) + "\n" for line in lines)
    if output_format == "json":
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        return json_text(json.dumps(records, default=_json_default, ensure_ascii=False, indent=2)) + "\n"
    return _render_table(columns, rows)


def _csv_field(value: Any) -> str:
    """RFC 4180 quoting, CR included (Python's csv module leaves a lone CR unquoted when lines end in LF, and
    readers then split the row there). NULL is an empty field, an empty string `""`."""
    if value is None:
        return ""
    text = str(value)
    if text and not any(char in text for char in ',"\r\n'):
        return text
    return '"' + text.replace('"', '""') + '"'


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _render_table(columns: list[str], rows: list[tuple]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for column in columns:
        table.add_column(rich_text(column))
    for row in rows:
        table.add_row(*(rich_text(value) for value in row))  # Text, not markup: `[/bold]` in a name stays text
    console = Console(file=io.StringIO(), width=shutil.get_terminal_size((160, 40)).columns, force_terminal=False)
    console.print(table)
    console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    return console.file.getvalue()


def export_views(
    warehouse: Warehouse, out_dir: str | Path, output_format: str, csv_formulas: CsvFormulas = CsvFormulas.ESCAPE
) -> list[Path]:
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
                _write_batches(reader, temporary, output_format, csv_formulas)
            written.append(target)
    return written


def _write_batches(reader: pa.RecordBatchReader, path: Path, output_format: str, csv_formulas: CsvFormulas) -> None:
    if output_format == "parquet":
        with pq.ParquetWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    else:
        with pa_csv.CSVWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(csv_batch(batch, csv_formulas))
