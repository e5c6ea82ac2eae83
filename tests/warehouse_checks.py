"""Shared assertions: what the analytics views should hold, derived independently from the simulator's World."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines import settings
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


def pg_analytics_snapshot(connection: Any) -> dict[str, list[tuple]]:
    """Every relation in a PostgreSQL warehouse's analytics schema (tables there), rows sorted; load_history aside.
    `connection` is a psycopg2 connection. Numbers (numeric, double precision) become floats: compare snapshots
    with `assert_pg_snapshots_equal`, which allows 1e-9."""
    cursor = connection.cursor()
    cursor.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_name != 'load_history' "
        "order by 1", [settings.ANALYTICS_SCHEMA])
    relations = [name for (name,) in cursor.fetchall()]
    result = {}
    for relation in relations:
        cursor.execute(f"select * from {quote(settings.ANALYTICS_SCHEMA)}.{quote(relation)}")
        rows = [tuple(float(v) if isinstance(v, int | float | Decimal) and not isinstance(v, bool) else v
                      for v in row) for row in cursor.fetchall()]
        result[relation] = sorted(rows, key=_sort_key)
    return result


def _sort_key(row: tuple) -> str:
    return repr(tuple(round(v, 6) if isinstance(v, float) else v for v in row))


def assert_pg_snapshots_equal(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]], what: str = "") -> None:
    """Same relations, same rows; floats equal within 1e-9 (absolute or relative)."""
    assert sorted(actual) == sorted(expected), what
    for relation, rows in expected.items():
        got = actual[relation]
        assert len(got) == len(rows), f"{what}: analytics.{relation} has {len(got)} rows, expected {len(rows)}"
        for got_row, row in zip(got, rows, strict=True):
            same = len(got_row) == len(row) and all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) if isinstance(a, float) and isinstance(b, float)
                else a == b for a, b in zip(got_row, row, strict=False))
            assert same, f"{what}: analytics.{relation}: {got_row!r} != {row!r}"


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
