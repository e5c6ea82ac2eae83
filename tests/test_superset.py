"""Apache Superset 6.1.0 (bi/superset/requirements.txt, installed on first use: tests/superset_env.py) reading each
warehouse as docs/superset.md tells a user to connect it: DuckDB read-only through duckdb-engine, PostgreSQL as the
read-only role of docs/postgres.md, with Superset's own DML switch on so that only the connection or the role stands
in the way of a write. Through the REST API: the `analytics` relations and their columns, every view run whole in SQL
Lab, writes refused, the dashboard bundle of bi/superset/ imported with every chart's data equal to its expected
query (bi/superset/expected/) run on the engine directly; and the dashboard rendered in headless Chromium.

One Superset server for the module (tests/superset_server.py); each engine's databases are registered, checked and
removed in turn. The warehouses are copies of the tiny world loaded at epochs 0 and 1 (regressions, removals).
Superset that cannot be installed is skipped with the reason, except under CI (CI=true), where that fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pipelines.warehouse import settings
from tests.read_only_role import BI_PASSWORD, grant_readme_recipe
from tests.snapshots import normalised, relation_names
from tests.superset_browser import chromium_available, render_dashboard
from tests.superset_bundle import MASKED_PASSWORD, charts, expected_sql, import_bundle, remove_bundle
from tests.superset_env import ReaderUnavailable, superset_bin
from tests.superset_server import ADMIN, ROW_LIMIT, SupersetClient, SupersetServer
from tests.warehouses import ENGINES, Warehouse, Warehouses

# One pytest-xdist worker runs the whole module (make test: --dist loadgroup), so one Superset server starts.
pytestmark = pytest.mark.xdist_group("superset")
UNDER_CI = os.environ.get("CI") == "true"
EPOCHS = (0, 1)
TEMPORAL = 2  # GenericDataType.TEMPORAL in a chart data response's "coltypes"


@dataclass(frozen=True)
class Registered:
    """A warehouse as Superset knows it: the database registered through the API, the schema Superset names."""

    warehouse: Warehouse
    database_id: int
    schema: str


@pytest.fixture(scope="module")
def superset(tmp_path_factory) -> Iterator[SupersetServer]:
    try:
        bin_dir = superset_bin()
    except ReaderUnavailable as exc:
        if UNDER_CI:
            pytest.fail(f"Superset could not be installed under CI: {exc}")
        pytest.skip(f"Superset could not be installed: {exc}")
    server = SupersetServer(bin_dir, tmp_path_factory.mktemp("superset"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(superset) -> SupersetClient:
    return superset.client()


@pytest.fixture(scope="module", params=ENGINES)
def registered(request, superset, prebuilt, module_environment) -> Iterator[Registered]:
    """The engine's warehouse registered with allow_dml on, and the bundle imported against it (removed after).
    The warehouse is built while Superset starts: the client is asked for only then."""
    engine_name = request.param
    server = request.getfixturevalue("postgres") if engine_name == "postgres" else None
    warehouses = Warehouses(engine_name, module_environment / engine_name, server)
    warehouse = warehouses.copy(prebuilt.world(warehouses, EPOCHS))
    client = request.getfixturevalue("client")
    if engine_name == "postgres":
        grant_readme_recipe(warehouse)
        uri = f"postgresql://bi:{{}}@127.0.0.1:{warehouse.server.port}/{warehouse.name}"
        schema, password = settings.ANALYTICS_SCHEMA, BI_PASSWORD
    else:
        uri = f"duckdb:///{warehouse.db}?access_mode=read_only"
        schema, password = f"{warehouse.db.stem}.{settings.ANALYTICS_SCHEMA}", None
    database = client.post("/api/v1/database/", expect=201, json={
        "database_name": f"warehouse on {engine_name}", "sqlalchemy_uri": uri.format(password),
        "expose_in_sqllab": True, "allow_dml": True, "allow_run_async": False}).json()["id"]
    import_bundle(client, uri.format(MASKED_PASSWORD), password)
    yield Registered(warehouse, database, schema)
    remove_bundle(client)
    client.session.delete(f"{client.url}/api/v1/database/{database}", timeout=60)
    warehouses.drop()


def test_lists_the_analytics_relations_with_their_columns(client, registered):
    path = f"/api/v1/database/{registered.database_id}"
    assert registered.schema in client.get(f"{path}/schemas/", q="(force:!t)")["result"]
    listed = client.get(f"{path}/tables/", q=f"(schema_name:'{registered.schema}',force:!t)")["result"]
    names = sorted(table["value"] for table in listed)
    engine = registered.warehouse.engine()
    with engine.connect_published() as connection:
        assert names == relation_names(connection, settings.ANALYTICS_SCHEMA)
    with ThreadPoolExecutor(4) as pool:  # Superset serves them in parallel threads; DuckDB's catalogue is slow
        listed_columns = pool.map(lambda name: client.get(f"{path}/table_metadata/", name=name,
                                                          schema=registered.schema)["columns"], names)
    for name, columns in zip(names, listed_columns, strict=True):
        assert [column["name"] for column in columns] == engine_rows(
            registered.warehouse, f"select * from analytics.{name} where 1 = 0")[0], name


def test_sql_lab_returns_every_view_whole(client, registered):
    for name in relation_names_of(registered.warehouse):
        columns, rows = sql_lab(client, registered, f"select * from analytics.{name}")
        want_columns, want_rows = engine_rows(registered.warehouse, f"select * from analytics.{name}")
        assert columns == want_columns, name
        assert len(rows) == len(want_rows), name
        assert sorted(rows, key=repr) == sorted(want_rows, key=repr), name


@pytest.mark.parametrize("statement", [
    "create table analytics.written_by_superset (x integer)",
    "drop {kind} analytics.leaderboard",
    "delete from {table}",
])
def test_sql_lab_writes_are_refused_by_the_connection_or_role(client, registered, statement):
    """DuckDB's views cannot be deleted from anyway, so there the delete aims at a table the loader writes."""
    on_postgres = registered.warehouse.engine_name == "postgres"
    kind, table = ("table", "analytics.models") if on_postgres else ("view", "benchmarks_raw.models")
    before = engine_rows(registered.warehouse, f"select * from {table}")
    response = client.post("/api/v1/sqllab/execute/", json=sql_lab_request(
        registered, statement.format(kind=kind, table=table)))
    message = str(response.json())
    refusals = ("permission denied", "must be owner") if on_postgres else ("read-only mode",)
    assert response.status_code != 200 and any(refusal in message for refusal in refusals), message
    assert engine_rows(registered.warehouse, f"select * from {table}") == before


def test_every_chart_of_the_bundle_shows_its_expected_query(client, registered):
    imported = {chart["uuid"]: chart["id"] for chart in client.get("/api/v1/chart/", q="(page_size:100)")["result"]}
    for name, chart in charts().items():
        data = client.get(f"/api/v1/chart/{imported[chart['uuid']]}/data/", force="true")["result"][0]
        columns, rows = engine_rows(registered.warehouse, expected_sql(name))
        assert rows or name == "data_quality", f"{name}: a chart without rows would prove little"
        assert data["colnames"] == columns, name
        temporal = [kind == TEMPORAL for kind in data["coltypes"]]
        got = [[comparable(row[column]) for column in columns] for row in data["data"]]
        assert instants(got, temporal) == instants(rows, temporal), name


@pytest.mark.skipif(not chromium_available() and not UNDER_CI, reason="chromium not installed (CI installs it)")
def test_the_dashboard_renders_every_chart_without_console_errors(superset, registered, tmp_path):
    rendered = render_dashboard(superset.url, *ADMIN, len(charts()), tmp_path / "dashboard.png")
    assert rendered.charts == len(charts()) and rendered.drawn >= len(charts()), rendered
    assert rendered.error_boxes == 0, rendered
    assert rendered.console_errors == [], rendered.console_errors


# ----- helpers ----------------------------------------------------------------------------------------------------
def sql_lab_request(registered: Registered, sql: str) -> dict[str, Any]:
    return {"database_id": registered.database_id, "sql": sql, "runAsync": False, "queryLimit": ROW_LIMIT,
            "client_id": secrets.token_hex(5)}


def sql_lab(client: SupersetClient, registered: Registered, sql: str) -> tuple[list[str], list[list[Any]]]:
    """SQL Lab's columns and rows of `sql` (values as `comparable` makes them)."""
    result = client.post("/api/v1/sqllab/execute/", expect=200, json=sql_lab_request(registered, sql)).json()
    assert result["status"] == "success", result
    columns = [column["name"] for column in result["columns"]]
    return columns, [[comparable(row[column]) for column in columns] for row in result["data"]]


def engine_rows(warehouse: Warehouse, sql: str) -> tuple[list[str], list[list[Any]]]:
    """The engine's own columns and rows of `sql`, in its order (values as `comparable` makes them)."""
    engine = warehouse.engine()
    with engine.connect_published() as connection:
        table = engine.arrow_reader(connection, sql, 10_000).read_all()
    return list(table.column_names), [[comparable(value) for value in row.values()] for row in table.to_pylist()]


def instants(rows: list[list[Any]], temporal: list[bool]) -> list[list[Any]]:
    """Temporal columns in one form: Superset's chart data gives them as milliseconds since the epoch (UTC), the
    engine as a date or timestamp (ISO text once `comparable`)."""
    def instant(value: Any) -> Any:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value / 1000, UTC).isoformat()
        if isinstance(value, str) and len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
        return value
    return [[instant(value) if is_temporal else value for value, is_temporal in zip(row, temporal, strict=True)]
            for row in rows]


def relation_names_of(warehouse: Warehouse) -> list[str]:
    engine = warehouse.engine()
    with engine.connect_published() as connection:
        return relation_names(connection, settings.ANALYTICS_SCHEMA)


def comparable(value: Any) -> Any:
    """One form for what Superset's JSON and the engine give: numbers as floats rounded to 12 significant digits
    (two engines' last-bit differences), dates and timestamps as ISO text in UTC."""
    value = normalised(value)
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
