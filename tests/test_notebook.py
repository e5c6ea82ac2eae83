"""The notebook (bi/notebooks/benchmarks.ipynb) runs against both engines and shows what the engine itself answers.

It is executed as a user would (`jupyter nbconvert --execute`, in the environment its requirements.txt pins:
tests/notebook.py) against the simulator's tiny world loaded at epoch 0 then 1 (so probes have regressed): a
DuckDB file, opened read-only, and a PostgreSQL database, as the read-only `bi` role of docs/postgres.md. Every cell
must run with no error and no warning (DuckDB: while the test holds the file open read-only, which a writable
connection could not share), and each table it shows must hold the rows, in the same order, that the same
warehouse gives the test through the product's own engine: a view that lost a column, a broken grant or a changed
figure fails here. The notebook is committed with its outputs cleared.

When the environment cannot be installed (no registry) the test is skipped with the reason, except under CI
(CI=true), where that fails.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests import notebook
from tests.read_only_role import BI_PASSWORD, grant_readme_recipe
from tests.readers import ReaderUnavailable
from tests.snapshots import RelationRows, select_in_order
from tests.warehouses import PostgresWarehouse, Warehouse

UNDER_CI = os.environ.get("CI") == "true"
TAGS = ("parameters", "leaderboard", "categories", "trend", "regressions", "loads", "data-quality")
NULL_TEXTS = ("NaN", "None", "<NA>", "NaT")  # how pandas shows a missing value
TOP_REGRESSIONS = 20  # the notebook's default
NAMES = ("inner join {analytics}.models as models on {table}.model_id = models.model_id "
         "inner join {analytics}.benchmark_types as types on {table}.benchmark_type_id = types.benchmark_type_id")
LEADERBOARD = """select benchmark_type_name as benchmark_type, rank, model_name as model, provider, pass_rate_pct,
    pass_rate_low_pct, pass_rate_high_pct, test_cases from {analytics}.leaderboard
    order by benchmark_type_id nulls first, rank"""
TOP_MODEL = "select model_name, pass_rate_pct from {analytics}.leaderboard where benchmark_type_id is null and rank = 1"
CATEGORIES = """select types.name as benchmark_type, c.probe_category_name as category, models.name as model,
    c.pass_rate_pct
    from {analytics}.category_pass_rates as c """ + NAMES.replace("{table}", "c")
OVERALL_ORDER = "select model_name from {analytics}.leaderboard where benchmark_type_id is null order by rank"
TREND = """select count(*), min(day), max(day) from {analytics}.pass_rate_trend where pass_rate_pct is not null"""
REGRESSIONS = f"""select r.ordinal, models.name as model, types.name as benchmark_type, r.probe_name as probe,
    r.previous_pass_rate_pct, r.latest_pass_rate_pct, r.delta_pct, r.significant
    from {{analytics}}.regressions as r {NAMES.replace("{table}", "r")}
    where r.ordinal <= {TOP_REGRESSIONS} order by r.ordinal"""
LOADS = """select load_id, status, test_cases_loaded from {analytics}.load_history
    order by started_at desc nulls last limit 5"""
DATA_QUALITY = """select check_name, entity, count(*) as problems from {analytics}.data_quality
    group by check_name, entity order by check_name, entity"""


@pytest.fixture(scope="module")
def environment():
    """The notebook's environment (installed on first use)."""
    try:
        return notebook.notebook_environment()
    except ReaderUnavailable as exc:
        if UNDER_CI:
            pytest.fail(f"the notebook's environment could not be installed under CI: {exc}")
        pytest.skip(f"the notebook's environment could not be installed: {exc}")


def test_notebook_is_committed_without_outputs():
    committed = json.loads(notebook.NOTEBOOK.read_text(encoding="utf-8"))
    left = [index for index, cell in enumerate(notebook.cells(committed))
            if cell["outputs"] or cell["execution_count"] is not None]
    assert not left, f"code cells {left} of {notebook.NOTEBOOK.name} hold outputs: clear them before committing"
    for tag in TAGS:
        notebook.tagged(committed, tag)


def test_notebook_shows_what_the_engine_answers(warehouses, prebuilt, environment, tmp_path):
    warehouse = warehouses.copy(prebuilt.world(warehouses, (0, 1)))
    with another_reader(warehouse):
        executed = notebook.execute(environment, read_only_address(warehouse), tmp_path)
    assert notebook.problems(executed) == []
    assert BI_PASSWORD not in json.dumps(executed), "the notebook shows the password"

    leaderboard = shown(executed, "leaderboard")
    expected = select_in_order(warehouse, LEADERBOARD)
    assert leaderboard.columns == expected.columns
    assert_shows(leaderboard, expected, "leaderboard")
    ((top_model, top_rate),) = select_in_order(warehouse, TOP_MODEL).rows
    assert leaderboard.pick(["model"])[0] == [top_model] and shows(leaderboard.pick(["pass_rate_pct"])[0][0], top_rate)

    assert_categories(shown(executed, "categories"), warehouse)
    assert_trend(notebook.tagged(executed, "trend"), warehouse)
    assert_shows(shown(executed, "regressions"), select_in_order(warehouse, REGRESSIONS), "regressions")
    assert_shows(shown(executed, "loads"), select_in_order(warehouse, LOADS), "load history")
    assert_shows(shown(executed, "data-quality"), select_in_order(warehouse, DATA_QUALITY), "data quality")


def read_only_address(warehouse: Warehouse) -> str:
    """What a user sets BENCHMARKS_DB to: the file, or the database as the read-only role of docs/postgres.md."""
    if isinstance(warehouse, PostgresWarehouse):
        grant_readme_recipe(warehouse)
        return PostgresWarehouse(warehouse.server, warehouse.name, login=("bi", BI_PASSWORD)).url
    return str(warehouse.db)


@contextmanager
def another_reader(warehouse: Warehouse) -> Iterator[None]:
    """The DuckDB file held open read-only by this process while the notebook runs: DuckDB then lets the notebook
    open it read-only only, so a notebook that opened it writable would fail."""
    if isinstance(warehouse, PostgresWarehouse):
        yield
        return
    import duckdb

    connection = duckdb.connect(str(warehouse.db), read_only=True)
    try:
        yield
    finally:
        connection.close()


def shown(executed: dict[str, Any], tag: str) -> notebook.Shown:
    return notebook.shown_table(notebook.tagged(executed, tag))


def assert_categories(table: notebook.Shown, warehouse: Warehouse) -> None:
    """A pivot: one row per (benchmark type, category), one column per model in the overall leaderboard's order."""
    rows = select_in_order(warehouse, CATEGORIES).rows
    rates = {(kind, category, model): rate for kind, category, model, rate in rows}
    models = {model for _, _, model in rates}
    in_rank_order = [model for (model,) in select_in_order(warehouse, OVERALL_ORDER).rows if model in models]
    assert table.columns == ["benchmark_type", "category", *in_rank_order], "categories: columns"
    assert {(kind, category) for kind, category, _ in rates} == {(row[0], row[1]) for row in table.rows}
    for kind, category, *cells in table.rows:
        want = [rates.get((kind, category, model)) for model in in_rank_order]
        assert all(map(shows, cells, want)), f"categories, {kind} / {category}: shown {cells}, engine {want}"


def assert_trend(cell: dict[str, Any], warehouse: Warehouse) -> None:
    """The chart, and the line above it saying what it plots."""
    ((points, first, last),) = select_in_order(warehouse, TREND).rows
    assert points > 0, "the world has a trend to plot"
    assert notebook.printed(cell) == f"{int(points)} points (model, benchmark type, day) from {first} to {last}\n"
    assert notebook.images(cell) == 1, "the trend chart"


def assert_shows(table: notebook.Shown, expected: RelationRows, what: str) -> None:
    """The table shows the expected columns' rows, in order (other columns it shows are not compared)."""
    rows = table.pick(expected.columns)
    assert len(rows) == len(expected.rows), f"{what}: {len(rows)} rows shown, the engine has {len(expected.rows)}"
    for index, (texts, values) in enumerate(zip(rows, expected.rows, strict=True)):
        assert all(map(shows, texts, values)), f"{what}, row {index}: shown {texts}, engine {values}"


def shows(text: str, value: Any) -> bool:
    """Whether a table cell's `text` shows `value` (as tests/snapshots.py normalises it: numbers as floats)."""
    if value is None:
        return text in NULL_TEXTS
    if isinstance(value, float):
        return text not in NULL_TEXTS and math.isclose(float(text), value, rel_tol=1e-9, abs_tol=1e-9)
    return text == str(value)
