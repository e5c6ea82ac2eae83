"""Shared assertions: what the analytics views should hold, derived independently from the simulator's World."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.warehouse import settings
from pipelines.warehouse.engine import quote

if TYPE_CHECKING:
    from simulator.world import World

# The views that mirror the API's entities one to one (the pass-rate views are checked in tests/test_views.py).
ENTITY_VIEWS = ("benchmark_types", "models", "model_scores", "probe_runs", "test_cases", "test_case_messages")


def ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def expected_views(world: World, type_ids: list[int] | None = None) -> dict[str, set[tuple]]:
    """Rows each entity view should hold for `world`, computed from the simulator's data, not from our SQL."""
    types = world.types()
    selected = [t["id"] for t in types] if type_ids is None else type_ids
    expected: dict[str, set[tuple]] = {name: set() for name in ENTITY_VIEWS}
    expected["benchmark_types"] = {(t["id"], t["name"], t["description"]) for t in types}
    for model in world.models(None):
        details = world.model_details(model["id"], None)
        expected["models"].add(
            (model["id"], model["name"], model["provider"], ts(model.get("benchmarkDate")), model.get("url"),
             details.get("description"), details["totalCount"], details["passedCount"], details["failedCount"])
        )
    for scope in [None, *selected]:
        for model in world.models(scope):
            details = world.model_details(model["id"], scope)
            scores = details.get("scores") or {}
            ranks = details.get("ranks") or {}
            for category in set(scores) | set(ranks):
                rank = ranks.get(category)
                expected["model_scores"].add(
                    (model["id"], scope, category, _float(scores.get(category)), _float(rank))
                )
    for model_id, type_id, run in world.iter_runs():
        if type_id not in selected:
            continue
        expected["probe_runs"].add(
            (run["id"], model_id, type_id, run["probeId"], run["probeName"], run["probeCategoryId"],
             run["probeCategoryName"], ts(run["createdAt"]), run["totalCount"], run["passedCount"],
             run["failedCount"], run["totalCount"] - run["passedCount"] - run["failedCount"], float(run["score"]))
        )
        body = world.test_cases(model_id, run["id"])
        for case in body["testCases"]:
            expected["test_cases"].add(
                (case["id"], run["id"], model_id, type_id, case["result"], case["attack"], case["strategy"],
                 case["redTeamer"], case["variation"], ts(case.get("detectionTime")))
            )
            for position, message in enumerate(case["conversation"]):
                expected["test_case_messages"].add(
                    (case["id"], run["id"], position, message["role"], message["content"])
                )
    return expected


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@contextmanager
def read_only(db_path: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """A read-only connection and the catalog-qualified prefix of the analytics schema."""
    connection = duckdb.connect(str(db_path), read_only=True)
    try:
        catalog = connection.execute("select current_database()").fetchone()[0]
        yield connection, f"{quote(catalog)}.{quote(settings.ANALYTICS_SCHEMA)}"
    finally:
        connection.close()


def view_rows(db_path: Path, view: str) -> list[tuple]:
    """All rows of analytics.<view>, timestamps normalised to UTC."""
    with read_only(db_path) as (connection, analytics):
        rows = connection.execute(f"select * from {analytics}.{quote(view)}").fetchall()
    return [tuple(v.astimezone(UTC) if isinstance(v, datetime) else v for v in row) for row in rows]


def rows_as_dicts(db_path: Path, view: str) -> list[dict]:
    with read_only(db_path) as (connection, analytics):
        cursor = connection.execute(f"select * from {analytics}.{quote(view)}")
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def raw_rows(db_path: Path, sql: str) -> list[tuple]:
    with read_only(db_path) as (connection, _):
        return connection.execute(sql).fetchall()


def analytics_snapshot(db_path: Path) -> dict[str, list[tuple]]:
    """Every analytics view's rows, sorted; load_history aside (its timestamps differ from load to load)."""
    with read_only(db_path) as (connection, analytics):
        views = [row[0] for row in connection.execute(
            "select view_name from duckdb_views() where database_name = current_database() "
            "and schema_name = ? and view_name != 'load_history' order by 1", [settings.ANALYTICS_SCHEMA]).fetchall()]
        return {view: sorted(connection.execute(f"select * from {analytics}.{quote(view)}").fetchall(), key=repr)
                for view in views}


def snapshot(db_path: Path, views: tuple[str, ...] = ENTITY_VIEWS) -> dict[str, list[tuple]]:
    return {view: sorted(view_rows(db_path, view), key=repr) for view in views}


def assert_warehouse_matches(db_path: Path, world: World, type_ids: list[int] | None = None) -> None:
    expected = expected_views(world, type_ids)
    for view in ENTITY_VIEWS:
        rows = view_rows(db_path, view)
        assert len(rows) == len(set(rows)), f"analytics.{view} has duplicate rows"
        actual = set(rows)
        missing = expected[view] - actual
        extra = actual - expected[view]
        assert not missing and not extra, (
            f"analytics.{view}: {len(missing)} rows missing (e.g. {sorted(missing, key=repr)[:2]}), "
            f"{len(extra)} unexpected (e.g. {sorted(extra, key=repr)[:2]})"
        )


def requested_test_case_paths(requests: list[dict]) -> list[str]:
    return [r["path"] for r in requests if r["path"].endswith("/test-cases")]


# Comparing one warehouse with another, whatever the engine: DB-API connections (DuckDB's or psycopg2's).

@dataclass(frozen=True)
class RelationRows:
    """One relation's column names (in order) and rows, normalised and sorted (see `normalised`)."""

    columns: list[str]
    rows: list[tuple]


def relation_names(connection: Any, schema: str, table_type: str | None = None) -> list[str]:
    """The relations of `schema` in the connection's database, by name; only those of `table_type` ('VIEW',
    'BASE TABLE') when given. information_schema, which DuckDB and PostgreSQL both have."""
    cursor = connection.cursor()
    cursor.execute(
        "select table_name, table_type from information_schema.tables where table_catalog = current_database() "
        f"and table_schema = '{schema}' order by 1"
    )
    return [name for name, kind in cursor.fetchall() if table_type is None or kind == table_type]


def normalised(value: Any) -> Any:
    """Numbers as floats (PostgreSQL's numeric sums arrive as Decimal, DuckDB's as float or int), timestamps in UTC
    (a timestamp without zone read as UTC)."""
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


def relations_snapshot(
    connection: Any, relations: Iterable[str], qualified: Callable[[str], str]
) -> dict[str, RelationRows]:
    """Every row of each relation (`qualified(name)` is its name in SQL), normalised and sorted."""
    snapshot = {}
    for name in relations:
        cursor = connection.cursor()
        cursor.execute(f"select * from {qualified(name)}")
        rows = [tuple(normalised(value) for value in row) for row in cursor.fetchall()]
        snapshot[name] = RelationRows([column[0] for column in cursor.description], sorted(rows, key=_sort_key))
    return snapshot


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


def pg_analytics_snapshot(connection: Any) -> dict[str, RelationRows]:
    """Every table of a PostgreSQL warehouse's analytics schema but load_history (its timestamps differ by nature)."""
    relations = [name for name in relation_names(connection, settings.ANALYTICS_SCHEMA) if name != "load_history"]
    return relations_snapshot(connection, relations, lambda name: f"{quote(settings.ANALYTICS_SCHEMA)}.{quote(name)}")
