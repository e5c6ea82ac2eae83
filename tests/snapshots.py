"""What a warehouse holds, on any engine, read through the product's own `Engine` (connect_published, names,
arrow_reader) the way `query`, `export` and `report` read it: the one snapshot helper of the tests. Expected rows
come from elsewhere (tests/warehouse_checks.py builds them from the simulator's world)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipelines.tables import TEST_CASE_MESSAGES, TEST_CASES
from pipelines.warehouse import introspect, settings
from pipelines.warehouse.engine import quote
from tests.warehouses import Warehouse, as_warehouse

READ_BATCH_ROWS = 10_000
SPARK_READS_AT_ONCE = 4


@dataclass(frozen=True)
class RelationRows:
    """One relation's column names (in order) and rows, normalised and sorted (see `normalised`)."""

    columns: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


RAW_CONTENT = {table.name: ", ".join(quote(column.name) for column in table.columns)
               for table in (TEST_CASES, TEST_CASE_MESSAGES)}


def snapshot(target: Warehouse | Path, *, raw: bool = False, load_history: bool = False) -> dict[str, RelationRows]:
    """Every analytics relation (views on DuckDB, tables on PostgreSQL), rows normalised and sorted. load_history
    only when asked (its timestamps differ from load to load); the load ids other views name (regressions'
    latest_load_id) only as there or not, for the same reason; `raw`: also the raw test cases and messages row for
    row without their load ids (which differ from one warehouse to another), as "raw test_cases" and so on."""
    engine = as_warehouse(target).engine()
    with engine.connect_published() as connection:
        names = engine.names(connection)
        views = [view for view in relation_names(connection, settings.ANALYTICS_SCHEMA)
                 if load_history or view != "load_history"]
        taken = _read_each(engine, connection, {view: f"select * from {names.analytics(view)}" for view in views})
        taken = {view: relation if view == "load_history" else _load_ids_as_present(relation)
                 for view, relation in taken.items()}
        if raw:
            for table, columns in RAW_CONTENT.items():
                taken[f"raw {table}"] = _read(engine, connection, f"select {columns} from {names.raw(table)}")
    return taken


def rows(target: Warehouse | Path, view: str) -> list[dict[str, Any]]:
    """analytics.<view> as dicts, normalised and sorted (the view's name quoted as the engine quotes)."""
    engine = as_warehouse(target).engine()
    with engine.connect_published() as connection:
        return _read(engine, connection, f"select * from {engine.names(connection).analytics(view)}").dicts()


def select(target: Warehouse | Path, sql: str) -> RelationRows:
    """The rows of one read-only statement; `{analytics}` and `{raw}` in it become the qualified schemas."""
    found = select_in_order(target, sql)
    return RelationRows(found.columns, sorted(found.rows, key=_sort_key))


def select_in_order(target: Warehouse | Path, sql: str) -> RelationRows:
    """As `select`, the rows left in the statement's own order (for what a reader shows in the ORDER BY's order)."""
    engine = as_warehouse(target).engine()
    with engine.connect_published() as connection:
        names = engine.names(connection)
        qualified = sql.replace("{analytics}", names.schema(settings.ANALYTICS_SCHEMA))
        return _read_in_order(engine, connection, qualified.replace("{raw}", names.schema(settings.RAW_SCHEMA)))


def values(target: Warehouse | Path, sql: str) -> list[tuple]:
    """The rows of `select` as tuples (sorted): what a test compares with a literal."""
    return select(target, sql).rows


def relation_names(connection: Any, schema: str) -> list[str]:
    """Tables and views of `schema`, by name (the product's introspect: information_schema, or Spark's catalog)."""
    return introspect.view_names(connection, schema)


def _read_each(engine: Any, connection: Any, statements: dict[str, str]) -> dict[str, RelationRows]:
    """Each statement's rows. On Spark several at a time (SPARK_READS_AT_ONCE): its driver plans each request on a
    thread of its own, and planning is most of a view's time on a small lake; DuckDB's and psycopg2's connections
    serve one statement at a time."""
    if engine.dialect != "spark":
        return {name: _read(engine, connection, sql) for name, sql in statements.items()}
    with ThreadPoolExecutor(SPARK_READS_AT_ONCE) as pool:
        reads = {name: pool.submit(_read, engine, connection, sql) for name, sql in statements.items()}
        return {name: read.result() for name, read in reads.items()}


def _read(engine: Any, connection: Any, sql: str) -> RelationRows:
    found = _read_in_order(engine, connection, sql)
    return RelationRows(found.columns, sorted(found.rows, key=_sort_key))


def _read_in_order(engine: Any, connection: Any, sql: str) -> RelationRows:
    table = engine.arrow_reader(connection, sql, READ_BATCH_ROWS).read_all()
    columns = [table.column(index).to_pylist() for index in range(table.num_columns)]
    found = [tuple(normalised(value) for value in row) for row in zip(*columns, strict=True)]
    return RelationRows(list(table.column_names), found)


def _load_ids_as_present(relation: RelationRows) -> RelationRows:
    """A view's `..._load_id` columns as True (a load id) or None: which load brought a row differs from one
    warehouse to another holding the same data, whether one did does not."""
    load_ids = [index for index, column in enumerate(relation.columns) if column.endswith("load_id")]
    if not load_ids:
        return relation
    rows = [tuple(True if index in load_ids and value is not None else value for index, value in enumerate(row))
            for row in relation.rows]
    return RelationRows(relation.columns, sorted(rows, key=_sort_key))


def normalised(value: Any) -> Any:
    """Numbers as floats (PostgreSQL's numeric and DuckDB's huge sums arrive as Decimal), timestamps in UTC (a
    timestamp without zone read as UTC)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _sort_key(row: tuple) -> str:
    # floats rounded, so that two engines' last-bit differences in a sum do not change the order
    return repr(tuple(f"{value:.9g}" if isinstance(value, float) else value for value in row))


def _same_value(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def assert_same_relations(
    expected: dict[str, RelationRows], actual: dict[str, RelationRows], count_only: Iterable[str] = (),
    what: str = "",
) -> None:
    """The same relations, columns in the same order and the same rows (floats within 1e-9); for the relations in
    `count_only`, the same number of rows. `what` prefixes the messages."""
    assert sorted(actual) == sorted(expected), what
    for name, want in expected.items():
        got = actual[name]
        assert got.columns == want.columns, f"{what} {name}: columns differ"
        assert len(got.rows) == len(want.rows), f"{what} {name}: {len(got.rows)} rows, expected {len(want.rows)}"
        if name in count_only:
            continue
        for index, (got_row, want_row) in enumerate(zip(got.rows, want.rows, strict=True)):
            same = len(got_row) == len(want_row) and all(map(_same_value, got_row, want_row))
            assert same, f"{what} {name}, sorted row {index}: {got_row!r}, expected {want_row!r}"


def relation_rows(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> RelationRows:
    """Rows read by any other client (a BI tool's driver) as the helpers above give theirs: normalised, sorted."""
    normalised_rows = (tuple(normalised(value) for value in row) for row in rows)
    return RelationRows(list(columns), sorted(normalised_rows, key=_sort_key))
