"""Rows of a PostgreSQL query as Arrow batches, for `export` and the other readers that stream a whole view.

psycopg2 returns Python values; Arrow wants a type per column before the first batch. The column types come from
the cursor's type OIDs; what has no Arrow counterpart here travels as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

# PostgreSQL type OIDs (pg_type.oid) -> Arrow types
ARROW_TYPES = {
    16: pa.bool_(), 20: pa.int64(), 21: pa.int64(), 23: pa.int64(), 700: pa.float64(), 701: pa.float64(),
    1700: pa.float64(), 1114: pa.timestamp("us"), 1184: pa.timestamp("us", tz="UTC"), 1082: pa.date32(),
}
CURSOR_NAME = "benchmarks_arrow_reader"


def arrow_reader(raw: Any, sql: str, batch_rows: int) -> pa.RecordBatchReader:
    """`sql` through a server-side cursor of the psycopg2 connection `raw` (in autocommit mode), in a read-only
    transaction that ends, and autocommit comes back, when the reader is exhausted."""
    raw.autocommit = False
    cursor = raw.cursor(name=CURSOR_NAME)
    cursor.execute(sql)
    rows = cursor.fetchmany(batch_rows)
    schema = pa.schema([(column.name, ARROW_TYPES.get(column.type_code, pa.string())) for column in cursor.description])

    def batches(rows: list[tuple]) -> Iterator[pa.RecordBatch]:
        try:
            while rows:
                columns = zip(zip(*rows, strict=True), schema, strict=True)
                yield pa.RecordBatch.from_arrays([arrow_array(values, field.type) for values, field in columns],
                                                 schema=schema)
                rows = cursor.fetchmany(batch_rows)
        finally:
            cursor.close()
            raw.rollback()
            raw.autocommit = True

    return pa.RecordBatchReader.from_batches(schema, batches(rows))


def arrow_array(values: tuple, arrow_type: pa.DataType) -> pa.Array:
    """One column's values as `arrow_type`: numeric arrives as Decimal, json as dicts and lists."""
    if pa.types.is_floating(arrow_type):
        values = tuple(None if value is None else float(value) for value in values)
    elif pa.types.is_string(arrow_type):  # anything unmapped as its text
        values = tuple(value if value is None or isinstance(value, str) else _as_text(value) for value in values)
    return pa.array(values, type=arrow_type)


def _as_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)
