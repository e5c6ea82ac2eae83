"""Hostile or broken API answers, on every engine: each fails with a clear error naming the endpoint, or is loaded and
reported.

Rejected (the load stops, the warehouse stays as it was): invalid JSON, an HTML page with status 200, invalid
UTF-8, a wrong type for an id or a count, a missing id or result, duplicate ids in one list, a list that is `null`,
an id outside 64 bits, a createdAt that is not a date (tests/api_cases.py; the whole class:
tests/test_malformed_lists.py). Loaded and reported in analytics.data_quality: negative counts, passed + failed >
total, test cases that disagree with their run's counts. Loaded as they are: very long messages, deeply nested
free-form objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil
import pytest

from pipelines.errors import ApiDataError
from pipelines.warehouse.spark.relations import PUBLICATION_VIEW, SCHEMAS, STATE_SCHEMA, applied_digest
from simulator.crafted_api import CASES, RUNS, CraftedApi, huge_and_deep_overrides, small_world
from tests.api_cases import REJECTED
from tests.loads import load, load_routes
from tests.snapshots import rows, snapshot, values
from tests.warehouses import ENGINES, Warehouse, Warehouses, on_engines

# On Spark a rejected load is an incremental one (`--full-refresh` is not built on Spark yet: docs/spark.md): its
# lake starts from small_world() with run 10's score changed, so every load below fetches run 10's test cases again.
# The first case's setup starts the cluster and loads the lake (minutes on a busy machine: past the default timeout).
SPARK = pytest.param("spark", marks=[pytest.mark.xdist_group("spark-loads"), pytest.mark.timeout(1800)])
SPARK_START = {RUNS: [{**small_world()[RUNS][0], "score": 40.0}], CASES: {**small_world()[CASES], "score": 40.0}}


@dataclass(frozen=True)
class Loaded:
    """A warehouse, what readers see in it before the rejected loads (`published_state`), and the snapshot of a
    clean load of small_world(): what the next good load must make."""

    warehouse: Warehouse
    state: tuple
    after_good: dict


@pytest.fixture(scope="module", params=[*ENGINES, SPARK])
def loaded(request, module_environment) -> Iterator[Loaded]:
    """small_world() loaded once per engine (on Spark with run 10 changed), and what readers see: the rejected loads
    below, one after another, must each leave it exactly so."""
    engine_name = request.param
    server = request.getfixturevalue("postgres") if engine_name == "postgres" else None
    cluster = request.getfixturevalue("spark") if engine_name == "spark" else None
    made = Warehouses(engine_name, module_environment, server, cluster)
    warehouse = made.new()
    start = small_world(**SPARK_START) if engine_name == "spark" else small_world()
    load_routes(warehouse, start, source_options={"api_key": "demo-key"})
    if engine_name == "spark":  # a snapshot of a lake takes minutes: what decides it is compared instead
        assert values(warehouse, "select count(*) from {analytics}.test_cases") == [(3,)]
        reference = Warehouses("duckdb", module_environment).new("reference")
        load_routes(reference, small_world(), source_options={"api_key": "demo-key"})
        yield Loaded(warehouse, published_state(warehouse), snapshot(reference))
    else:
        before = snapshot(warehouse)
        assert before["test_cases"].rows
        yield Loaded(warehouse, published_state(warehouse), before)
    made.drop()


def run(target: Warehouse, body_overrides: dict) -> None:
    """A load of small_world() with `body_overrides`: a full refresh (every answer read), or on Spark an incremental
    load of the lake `loaded` made (run 10 changed)."""
    load_routes(target, small_world(**body_overrides), full_refresh=target.engine_name != "spark")


def published_state(warehouse: Warehouse) -> tuple:
    """What decides what readers of a warehouse see, read in seconds where a Spark snapshot takes a minute: on Spark,
    the publication shown (its loads and its definition), the catalog's relations by schema and the digest of the
    views' definitions, and the lake's files (its state folder aside: leases and attempt records are no data);
    elsewhere the snapshot itself."""
    if warehouse.engine_name != "spark":
        return tuple(sorted(snapshot(warehouse).items()))
    engine = warehouse.engine()
    with engine.connect_published() as connection:
        catalog = [sorted(connection.execute(f"show tables in {schema}").fetchall()) for schema in SCHEMAS]
        shown = connection.execute(f"show create table {STATE_SCHEMA}.{PUBLICATION_VIEW}").fetchall()
        digest = applied_digest(connection)
    lake = warehouse.lake
    files = sorted((str(path.relative_to(lake)), path.stat().st_size) for path in lake.rglob("*")
                   if path.is_file() and path.relative_to(lake).parts[0] != STATE_SCHEMA)
    return tuple(engine.published_identity()), tuple(catalog), tuple(shown), digest, tuple(files)


@pytest.mark.parametrize("override, message", REJECTED)
def test_rejected_with_the_endpoint_named_and_nothing_changed(loaded, override, message):
    with pytest.raises(ApiDataError, match=message) as error:
        run(loaded.warehouse, override)
    assert "GET /api/v2/benchmarks/" in str(error.value)
    assert published_state(loaded.warehouse) == loaded.state


def test_the_next_good_load_after_rejected_ones_works(loaded):
    assert published_state(loaded.warehouse) == loaded.state
    run(loaded.warehouse, {})
    assert snapshot(loaded.warehouse) == loaded.after_good


def connections_to(url: str) -> list:
    """This process's open connections to the server at `url` (the client's side: idle keep-alive ones included)."""
    port = urlsplit(url).port
    return [connection for connection in psutil.Process().net_connections("tcp")
            if connection.raddr and connection.raddr.port == port and connection.status == psutil.CONN_ESTABLISHED]


@pytest.mark.parametrize("override", [
    pytest.param({RUNS: (200, b"<html>maintenance</html>", "text/html")}, id="while-reading-the-lists"),
    pytest.param({CASES: (200, b'{"id": 10, "testCases": [', None)}, id="while-fetching-test-cases"),
])
def test_a_load_that_fails_midway_leaves_no_connection_open(tmp_path, override):
    """The source closes the HTTP sessions it opens, also when the extract fails in the middle (pipelines/api/source.py:
    the lists' client when they are read, the test cases' client when their generator ends or dlt closes it)."""
    with CraftedApi(small_world(**override)) as api:
        with pytest.raises(ApiDataError):
            load(tmp_path / "w.duckdb", api.url)
        assert connections_to(api.url) == []


def test_negative_and_inconsistent_counts_are_loaded_and_reported(warehouse):
    world = small_world()
    run_object = dict(world[RUNS][0], totalCount=-1, passedCount=5, failedCount=1)
    run(warehouse, {RUNS: [run_object], CASES: {**run_object, "testCases": world[CASES]["testCases"]}})
    checks = {row["check_name"] for row in rows(warehouse, "data_quality")}
    assert checks == {"negative_count", "passed_failed_exceed_total", "test_cases_disagree_with_counts"}
    assert values(warehouse, "select total_count, passed_count, failed_count from {analytics}.probe_runs") == \
        [(-1, 5, 1)]


def test_huge_message_and_deep_config_load_exactly(warehouse):
    overrides, huge, deep, first_case_id = huge_and_deep_overrides()
    run(warehouse, overrides)
    content = values(warehouse, f"select content from {{analytics}}.test_case_messages where test_case_id = "
                                f"{first_case_id}")
    assert content == [(huge,)]
    assert len(huge.encode()) > 5_000_000
    configs = values(warehouse, "select config from {raw}.model_details")
    assert any(json.loads(config) == deep for (config,) in configs), "the 200-level config, exactly"


@on_engines("duckdb")
def test_a_package_duckdb_refuses_does_not_block_later_loads(warehouses, prebuilt, monkeypatch):
    """Were invalid UTF-8 to slip through to DuckDB, the failed package is given up and the next load works."""
    from pipelines.api import cases_documented as test_cases
    from pipelines.errors import WarehouseError
    from pipelines.load import steps
    from pipelines.warehouse.destinations import engine_for_load

    warehouse = warehouses.copy(prebuilt.crafted(warehouses, "small_world", small_world()))
    before = snapshot(warehouse)
    invalid = {CASES: (200, b'{"id": 10, "testCases": [{"id": 1, "result": "PASSED", "attack": "\xff"}]}', None)}
    with monkeypatch.context() as patched:
        patched.setattr(test_cases, "has_valid_utf8", lambda table: True)
        with pytest.raises(WarehouseError, match="during load"):
            run(warehouse, invalid)
    assert snapshot(warehouse) == before
    loading = engine_for_load("duckdb", warehouse.db)
    assert not steps.make_pipeline(loading).has_pending_data, "the refused package was given up"
    load_routes(warehouse, small_world())
    assert snapshot(warehouse) == before
