"""Every `analytics` view answers the same in the DuckDB clients BI tools and notebooks embed.

One small world (the simulator's tiny scale, loaded at epoch 0 and again at epoch 1, so removed runs and models and
regressions exist) is read, file as `run_load` published it, by each reader of tests/readers.py: Python duckdb
1.1.3, 1.4.4, 1.5.6 (each in its own virtual environment, installed from PyPI on first use) and the project's own
2.0.1, and node's @duckdb/node-api 1.4.x (from npm). Each must give every view the same columns and the same rows
as the project's DuckDB reading the same file in this process (rows compared as sorted lists, floats to 1e-9).

SQLAlchemy with duckdb-engine (what Superset and many notebooks use) must list the views with their columns and let
pandas read one.

A reader that cannot be installed is skipped with the reason, except under CI (CI=true), where that fails.
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import readers
from tests.reader_scripts import read_views
from tests.warehouses import Warehouses

FLOAT_TOLERANCE = 1e-9
UNDER_CI = os.environ.get("CI") == "true"
READERS: dict[str, Callable[[], readers.Reader]] = {
    **{f"python-duckdb-{v}": (lambda v=v: readers.python_reader(v)) for v in readers.PYTHON_DUCKDB_VERSIONS},
    f"python-duckdb-{readers.PROJECT_DUCKDB_VERSION}-project": readers.project_reader,
    f"node-api-{readers.NODE_API_VERSION}": readers.node_reader,
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, prebuilt) -> Path:
    """The tiny world loaded at epoch 0, then epoch 1 on top (tests/prebuilt.py; only read here); every view but
    data_quality has rows."""
    return prebuilt.world(Warehouses("duckdb", tmp_path_factory.mktemp("readers")), (0, 1)).warehouse.db


@pytest.fixture(scope="module")
def expected(warehouse) -> dict[str, Any]:
    """Every view as the project's DuckDB reads it, in this process."""
    answer = read_views.read_views(str(warehouse))
    assert "data_quality" in answer["views"] and len(answer["views"]) >= 15, sorted(answer["views"])
    empty = sorted(view for view, got in answer["views"].items() if not got["rows"])
    assert empty in ([], ["data_quality"]), f"views without rows would prove little: {empty}"
    return answer


def need(module: str) -> Any:
    """Import `module` (a dev extra); skip without it, except under CI."""
    if UNDER_CI:
        return importlib.import_module(module)
    return pytest.importorskip(module)


def get_reader(key: str) -> readers.Reader:
    try:
        return READERS[key]()
    except readers.ReaderUnavailable as exc:
        if UNDER_CI:
            pytest.fail(f"reader {key} could not be installed under CI: {exc}")
        pytest.skip(f"reader {key} could not be installed: {exc}")


@pytest.mark.parametrize("key", list(READERS))
def test_every_view_reads_the_same(key, warehouse, expected):
    reader = get_reader(key)
    got = reader.read(warehouse)
    label = f"{reader.name} ({got['reader']})"
    assert sorted(got["views"]) == sorted(expected["views"]), f"{label}: other views in schema analytics"
    problems = [problem for view in sorted(expected["views"])
                if (problem := difference(got["views"][view], expected["views"][view]))]
    assert not problems, (f"{label} reads {len(problems)} view(s) differently from the project's DuckDB:\n"
                          + "\n".join(f"  analytics.{view}: {problem}" for view, problem in problems))


def test_duckdb_engine_inspector_lists_every_view_and_pandas_reads_one(warehouse, expected):
    pandas, sqlalchemy, _ = need("pandas"), need("sqlalchemy"), need("duckdb_engine")
    views = expected["views"]
    engine = sqlalchemy.create_engine(f"duckdb:///{warehouse}", connect_args={"read_only": True})
    try:
        inspector = sqlalchemy.inspect(engine)
        assert sorted(inspector.get_view_names(schema="analytics")) == sorted(views)
        assert inspector.get_table_names(schema="analytics") == []
        for view, want in views.items():
            columns = [column["name"] for column in inspector.get_columns(view, schema="analytics")]
            assert columns == want["columns"], f"analytics.{view}: inspector columns differ"
        frame = pandas.read_sql("select * from analytics.leaderboard", engine)
        rows = [[None if isinstance(value, float) and math.isnan(value) else value for value in row]
                for row in frame.itertuples(index=False, name=None)]
        assert list(frame.columns) == views["leaderboard"]["columns"]
        assert not difference({"columns": list(frame.columns), "rows": rows}, views["leaderboard"])
        with engine.connect() as connection, pytest.raises(sqlalchemy.exc.SQLAlchemyError, match="read-only"):
            connection.execute(sqlalchemy.text("create table analytics.scratch (x integer)"))
    finally:
        engine.dispose()


def test_duckdb_engine_read_only_uri_as_superset_uses_it(warehouse, expected):
    """The URI docs/bi.md gives for Superset: duckdb-engine passes `access_mode=read_only` on to DuckDB."""
    sqlalchemy, _ = need("sqlalchemy"), need("duckdb_engine")
    engine = sqlalchemy.create_engine(f"duckdb:///{warehouse}?access_mode=read_only")
    try:
        with engine.connect() as connection:
            text = sqlalchemy.text
            assert connection.execute(text("select current_setting('access_mode')")).scalar() == "read_only"
            count = connection.execute(text("select count(*) from analytics.leaderboard")).scalar()
            assert count == len(expected["views"]["leaderboard"]["rows"])
            with pytest.raises(sqlalchemy.exc.SQLAlchemyError, match="read-only"):
                connection.execute(text("create table analytics.scratch (x integer)"))
    finally:
        engine.dispose()


@pytest.mark.parametrize(("stem", "listed"), [("w", "w.analytics"), ("Bench Warehouse", '"Bench Warehouse".analytics')])
def test_duckdb_engine_lists_the_schemas_under_the_files_stem(warehouse, expected, tmp_path, stem, listed):
    """What Superset offers as schemas (docs/bi.md, "Which schema"): duckdb-engine's inspector lists every schema
    as `<catalog>.<schema>`, the catalog being the file's stem, quoted where SQL needs it; `analytics` alone is
    accepted too, and is what SQL should name (it does not change with the file's name)."""
    sqlalchemy, _ = need("sqlalchemy"), need("duckdb_engine")
    copy = tmp_path / f"{stem}.duckdb"
    shutil.copyfile(warehouse, copy)
    engine = sqlalchemy.create_engine(f"duckdb:///{copy}", connect_args={"read_only": True})
    try:
        inspector = sqlalchemy.inspect(engine)
        schemas = inspector.get_schema_names()
        assert [schema for schema in schemas if schema.endswith("analytics")] == [listed], schemas
        assert "analytics" not in schemas and inspector.default_schema_name == "main"
        for schema in (listed, "analytics"):
            assert sorted(inspector.get_view_names(schema=schema)) == sorted(expected["views"]), schema
            columns = [column["name"] for column in inspector.get_columns("leaderboard", schema=schema)]
            assert columns == expected["views"]["leaderboard"]["columns"], schema
        with engine.connect() as connection:
            count = connection.execute(sqlalchemy.text("select count(*) from analytics.leaderboard")).scalar()
            assert count == len(expected["views"]["leaderboard"]["rows"])
    finally:
        engine.dispose()


# ----- comparing ----------------------------------------------------------------------------------------------------
def difference(got: dict[str, Any], want: dict[str, Any]) -> str | None:
    """None when `got` has the columns of `want` and the same rows in any order; else what differs, briefly."""
    if got["columns"] != want["columns"]:
        return f"columns {got['columns']} != expected {want['columns']}"
    if len(got["rows"]) != len(want["rows"]):
        return f"{len(got['rows'])} rows != expected {len(want['rows'])}"
    for got_row, want_row in zip(sorted(got["rows"], key=sort_key), sorted(want["rows"], key=sort_key), strict=True):
        if not same(got_row, want_row):
            return f"row {got_row!r} != expected {want_row!r} (first difference after sorting)"
    return None


def same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def sort_key(row: list[Any]) -> tuple:
    """Orders rows the same way whatever the reader; floats rounded so noise below 1e-9 cannot reorder them."""
    def key(value: Any) -> tuple:
        if value is None:
            return (0,)
        if isinstance(value, bool):
            return (1, value)
        if isinstance(value, int | float):
            return (2, float(f"{value:.8g}"))
        if isinstance(value, str):
            return (3, value)
        return (4, repr(value))

    return tuple(key(value) for value in row)
