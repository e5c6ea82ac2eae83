"""Print every view of schema `analytics` in a DuckDB file, as JSON, the way a Python DuckDB client reads it.

    python read_views.py PATH/benchmarks.duckdb

Runs under any Python >= 3.11 with `duckdb` >= 1.1 installed (duckdb 1.x also needs `pytz` to return TIMESTAMP WITH
TIME ZONE values); it imports nothing from this project, so each reader's own virtual environment can run it.
The file is opened read-only. Prints one JSON object:

    {"reader": "python duckdb 1.1.3",
     "views": {"<view>": {"columns": ["<name>", ...], "rows": [[<value>, ...], ...]}, ...}}

Rows are those of `select * from <catalog>.analytics.<view> order by all`. Values are normalised so that readers
can be compared: TIMESTAMP WITH TIME ZONE as a UTC ISO string with microseconds (`2025-01-18T05:32:58.733000Z`),
TIMESTAMP the same without the `Z`, DATE as `YYYY-MM-DD`, integers of any width as JSON integers, DECIMAL and
floating point as JSON numbers (NaN and infinities as the strings "nan", "inf", "-inf"), NULL as null, BLOB as hex,
LIST and STRUCT recursively, anything else as its string form.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import sys
from typing import Any

import duckdb

VIEWS_SQL = (
    "select table_name from information_schema.tables "
    "where table_schema = 'analytics' and table_type = 'VIEW' and table_catalog = current_database() "
    "order by table_name"
)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def normalise(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (float, decimal.Decimal)):
        number = float(value)
        if math.isfinite(number):
            return number
        return "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.%f")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [normalise(item) for item in value]
    if isinstance(value, dict):
        return {str(key): normalise(item) for key, item in value.items()}
    return str(value)


def read_views(path: str) -> dict[str, Any]:
    """{"reader": ..., "views": {view: {"columns": [...], "rows": [[...]]}}} for the DuckDB file at `path`."""
    connection = duckdb.connect(path, read_only=True)
    try:
        catalog = connection.execute("select current_database()").fetchone()[0]
        views: dict[str, Any] = {}
        for (view,) in connection.execute(VIEWS_SQL).fetchall():
            cursor = connection.execute(
                f"select * from {quote(catalog)}.analytics.{quote(view)} order by all")
            columns = [column[0] for column in cursor.description]
            rows = [[normalise(value) for value in row] for row in cursor.fetchall()]
            views[view] = {"columns": columns, "rows": rows}
    finally:
        connection.close()
    return {"reader": f"python duckdb {duckdb.__version__}", "views": views}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: read_views.py PATH/TO/FILE.duckdb", file=sys.stderr)
        return 2
    try:
        views = read_views(argv[1])
    except duckdb.Error as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(views, sys.stdout, allow_nan=False, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
