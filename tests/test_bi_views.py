"""The views as BI tools use them, the same on every engine: percentages rounded alike (`*_pct`), every natural
order carried as a column (`rank`, `ordinal`), and the SQL examples of README.md and docs/ running unchanged.

Read from the tiny world loaded at epoch 0 then 1 (tests/prebuilt.py), so that regressions exist."""

from __future__ import annotations

import math
import re
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlglot
from sqlglot.tokens import TokenType

from pipelines.readers.read_only_sql import checked_read_only
from pipelines.tables.declaration import ColumnType
from pipelines.warehouse import settings
from pipelines.warehouse.views import SOURCE_DIALECT, view_files
from tests.snapshots import normalised, relation_names
from tests.warehouses import Warehouses, on_engines

EVERY_ENGINE = on_engines("duckdb", "postgres", "spark")
OTHER_ENGINES = ("postgres", "spark")  # each compared with DuckDB
SPARK_GROUP = pytest.mark.xdist_group("spark")  # one cluster: one pytest-xdist worker runs every Spark test

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = (0, 1)
# A rate column ends so; each comes with its percentage, the same name ending in _pct.
RATE_SUFFIXES = ("pass_rate", "pass_rate_low", "pass_rate_high")


def is_rate(column: str) -> bool:
    """A fraction from 0 to 1 (or a difference of two) that a BI tool shows as a percentage."""
    return column == "delta" or column.endswith(RATE_SUFFIXES)


# The percentage of a fraction, one decimal, half away from zero; within 1e-9 of a half counts as the half
# (sql/macros/percent.sql), computed here on the exact binary value, without SQL.
HALF_WITH_TOLERANCE = Decimal("0.500000001")


def percent(fraction: float | None) -> float | None:
    if fraction is None:
        return None
    tenths = (Decimal(abs(fraction)) * 1000 + HALF_WITH_TOLERANCE).to_integral_value(rounding=ROUND_FLOOR)
    return math.copysign(float(tenths / 10), fraction) if tenths else 0.0


def exact_percent(passed: int, failed: int) -> float | None:
    """100 * passed / (passed + failed) rounded half away from zero to one decimal, in exact arithmetic."""
    if passed + failed == 0:
        return None
    tenths = Fraction(1000 * passed, passed + failed) + Fraction(1, 2)
    return float(Decimal(math.floor(tenths)) / 10)


# The views whose rows have a natural order, as a column: (column, partition, sort key of a row (a dict)).
def _nulls_last(value: Any, descending: bool = False) -> tuple:
    return (value is None, -(value or 0) if descending else (value or 0))


NATURAL_ORDERS = {
    "leaderboard": ("rank", ("benchmark_type_id",), lambda r: (
        _nulls_last(r["pass_rate_low"], descending=True), _nulls_last(r["pass_rate"], descending=True),
        r["model_id"])),
    "category_pass_rates": ("ordinal", ("model_id", "benchmark_type_id"), lambda r: (
        _nulls_last(r["pass_rate"]), r["probe_category_id"])),
    "probe_pass_rates": ("ordinal", ("model_id", "benchmark_type_id"), lambda r: (
        _nulls_last(r["pass_rate"]), r["probe_id"])),
    "regressions": ("ordinal", (), lambda r: (r["delta"], r["model_id"], r["benchmark_type_id"], r["probe_id"])),
}


def read(warehouse: Any, sql: str) -> pa.Table:
    """The result of `sql` as an Arrow table, in the order the engine returns it (through the product's reader)."""
    engine = warehouse.engine()
    with engine.connect_published() as connection:
        return engine.arrow_reader(connection, sql, 10_000).read_all()


def dicts(table: pa.Table) -> list[dict[str, Any]]:
    return [{key: normalised(value) for key, value in row.items()} for row in table.to_pylist()]


@pytest.fixture(scope="module")
def read_once() -> dict[str, dict[str, pa.Table]]:
    """The views fixture's reads, per engine, for this module's tests: Spark plans each view for seconds."""
    return {}


@pytest.fixture()
def views(warehouses, prebuilt, read_once) -> dict[str, pa.Table]:
    """Every analytics relation of the tiny world (epochs 0 then 1) on the test's engine."""
    warehouse = prebuilt.world(warehouses, EPOCHS).warehouse
    if warehouses.engine_name not in read_once:
        engine = warehouse.engine()
        with engine.connect_published() as connection:
            names = engine.names(connection)
            read_once[warehouses.engine_name] = {
                name: engine.arrow_reader(connection, f"select * from {names.analytics(name)}", 10_000).read_all()
                for name in relation_names(connection, settings.ANALYTICS_SCHEMA)}
    return read_once[warehouses.engine_name]


@EVERY_ENGINE
def test_the_percent_macro_rounds_half_away_from_zero(warehouses, prebuilt):
    """Half-way cases included, on the engine's own arithmetic; PostgreSQL has no round(double, integer)."""
    cases = {0.12345: 12.3, 0.00125: 0.1, 0.0625: 6.3, 0.3125: 31.3, 0.0145: 1.5, 0.0125: 1.3, 0.0005: 0.1,
             0.00049: 0.0, 0.99995: 100.0, 1.0: 100.0, 0.0: 0.0, 1 / 3: 33.3, 2 / 3: 66.7, -0.0625: -6.3,
             -0.0001: 0.0}
    warehouse = prebuilt.world(warehouses, EPOCHS).warehouse
    double = warehouse.engine().type_names[ColumnType.DOUBLE]  # Spark has no `double precision`
    literals = ", ".join(f"('{value!r}')" for value in cases)
    got = read(warehouse, f"select v, benchmarks_stg.percent(cast(v as {double})) as pct "
                          f"from (values {literals}) as t(v)")
    assert got.schema.field("pct").type == pa.float64()
    for value, pct in zip(got.column("v").to_pylist(), got.column("pct").to_pylist(), strict=True):
        value = float(value)
        assert pct == cases[value] == percent(value), value
        assert math.copysign(1, pct) == math.copysign(1, cases[value]), f"{value}: -0.0"
    [null] = read(warehouse, f"select benchmarks_stg.percent(cast(null as {double})) as pct").to_pylist()
    assert null["pct"] is None


@EVERY_ENGINE
def test_every_rate_comes_with_its_percentage(views):
    checked = 0
    for view, table in views.items():
        for rate in (column for column in table.column_names if is_rate(column)):
            column = f"{rate}_pct"
            assert column in table.column_names, f"analytics.{view} has {rate} but not {column}"
            assert table.schema.field(column).type == pa.float64(), f"analytics.{view}.{column}"
            for row in dicts(table):
                assert row[column] == percent(row[rate]), (view, column, row)
                checked += row[column] is not None
        for row in dicts(table) if {"passed", "failed", "pass_rate_pct"} <= set(table.column_names) else []:
            assert row["pass_rate_pct"] == exact_percent(int(row["passed"]), int(row["failed"])), (view, row)
    assert checked > 200, "too few percentages to prove anything"
    assert all(not column.endswith("_pct") or is_rate(column[:-4])
               for table in views.values() for column in table.column_names)


@EVERY_ENGINE
@pytest.mark.parametrize("view", sorted(NATURAL_ORDERS))
def test_the_order_column_follows_the_views_natural_order(views, view):
    column, partition, key = NATURAL_ORDERS[view]
    table = views[view]
    assert table.schema.field(column).type == pa.int64(), f"analytics.{view}.{column}"
    groups: dict[tuple, list[dict]] = {}
    for row in dicts(table):
        groups.setdefault(tuple(row[c] for c in partition), []).append(row)
    assert groups and max(len(rows) for rows in groups.values()) > 1, f"analytics.{view}: nothing to order"
    for rows in groups.values():
        by_column = sorted(rows, key=lambda row: row[column])
        assert [row[column] for row in by_column] == list(range(1, len(rows) + 1)), view
        assert by_column == sorted(rows, key=key), f"analytics.{view}: {column} is not its natural order"


def sort_keys_without_nulls_order(sql: str) -> list[str]:
    """The sort keys of every ORDER BY (windows included) in `sql` that do not say where NULLs go."""
    # Tokens, not the AST: the parser fills in Ordered.nulls_first from the dialect when NULLS is not written.
    tokens = sqlglot.tokenize(sql, read=SOURCE_DIALECT)
    missing = []
    for start, token in enumerate(tokens):
        if token.token_type != TokenType.ORDER_BY:
            continue
        depth, keys = 0, [[]]
        for following in tokens[start + 1:]:
            kind = following.token_type
            if depth == 0 and kind in (TokenType.R_PAREN, TokenType.LIMIT, TokenType.SEMICOLON):
                break
            depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
            if depth == 0 and kind == TokenType.COMMA:
                keys.append([])
            else:
                keys[-1].append(following.text.lower())
        missing += [" ".join(key) for key in keys if "nulls" not in key]
    return missing


@pytest.mark.parametrize("view", view_files(), ids=lambda view: view.name)
def test_every_order_by_of_the_views_says_where_nulls_go(view):
    """DuckDB puts NULLs last in a descending sort, PostgreSQL first: each sort key says which, so both agree."""
    assert not sort_keys_without_nulls_order(view.path.read_text(encoding="utf-8")), view.path.name
    assert sort_keys_without_nulls_order("select 1 from t order by a desc nulls last, b limit 1") == ["b"]


# ----- the SQL examples of the docs ---------------------------------------------------------------------------------
SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.DOTALL | re.MULTILINE)
QUERY_COMMAND = re.compile(r"benchmarks-etl query \"([^\"]+)\"")
QUERY_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def doc_examples() -> list[tuple[str, str]]:
    """(where, sql) of every query in a ```sql block or a `benchmarks-etl query "..."` of README.md and docs/*.md.
    Blocks that are not queries (docs/postgres.md's grants) are administration for one engine, not run here."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for match in [*SQL_BLOCK.finditer(text), *QUERY_COMMAND.finditer(text)]:
            line = text.count("\n", 0, match.start()) + 1
            if QUERY_START.match(match.group(1)):
                found.append((f"{page.relative_to(ROOT)}:{line}", match.group(1).strip().rstrip(";")))
    return found


EXAMPLES = doc_examples()


def test_the_readme_has_sql_examples():
    assert any(where.startswith("README.md") for where, _ in EXAMPLES), EXAMPLES


@pytest.mark.parametrize("other", [*OTHER_ENGINES[:1], pytest.param(OTHER_ENGINES[1], marks=SPARK_GROUP)])
@pytest.mark.parametrize(("where", "sql"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_every_sql_example_of_the_docs_runs_alike_on_every_engine(where, sql, other, tmp_path, request, prebuilt):
    """Unchanged, on a loaded DuckDB warehouse and a loaded PostgreSQL (or Spark) one: the same columns, rows and
    order."""
    server = request.getfixturevalue("postgres") if other == "postgres" else None
    cluster = request.getfixturevalue("spark") if other == "spark" else None
    results = []
    for engine in ("duckdb", other):
        warehouse = prebuilt.world(Warehouses(engine, tmp_path / engine, server, cluster), EPOCHS).warehouse
        results.append(read(warehouse, sql))
    duckdb_rows, other_rows = (dicts(result) for result in results)
    if not re.search(r"\border\s+by\b", sql, re.IGNORECASE):  # no order asked for: any order will do
        duckdb_rows, other_rows = (sorted(rows, key=repr) for rows in (duckdb_rows, other_rows))
    assert results[0].column_names == results[1].column_names, where
    assert duckdb_rows, f"{where}: the example returns nothing on the tiny world"
    assert len(duckdb_rows) == len(other_rows), where
    for left, right in zip(duckdb_rows, other_rows, strict=True):
        assert left.keys() == right.keys() and all(
            math.isclose(left[k], right[k], abs_tol=1e-9) if isinstance(left[k], float) and isinstance(right[k],
                                                                                                       float)
            else left[k] == right[k] for k in left), f"{where}: {left} != {right}"


@pytest.mark.parametrize(("where", "sql"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_query_on_spark_accepts_every_sql_example_of_the_docs(where, sql):
    """`query --destination spark` sends only what its read-only check accepts (pipelines/readers/read_only_sql.py):
    every example of the docs must pass it, and reach Spark as the same query (sqlglot's own reading of both)."""
    sent = checked_read_only(sql, "spark")
    assert sqlglot.parse_one(sent, read="spark") == sqlglot.parse_one(sql, read="spark"), where
