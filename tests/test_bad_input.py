"""Hostile or broken API answers: each fails with a clear error naming the endpoint, or is loaded and reported.

Rejected (the load stops, the warehouse stays as it was): invalid JSON, an HTML page with status 200, invalid
UTF-8, a wrong type for an id or a count, a missing id or result, duplicate ids in one list, a list that is `null`,
an id outside 64 bits, a createdAt that is not a date (the whole class: tests/test_malformed_lists.py).
Loaded and reported in analytics.data_quality: negative counts, passed + failed > total, test cases that
disagree with their run's counts. Loaded as they are: very long messages, deeply nested free-form objects.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import psutil
import pytest

from pipelines.errors import ApiDataError
from pipelines.load.runner import run_load
from simulator.crafted_api import API, CASES, RUNS, CraftedApi, huge_and_deep_overrides, small_world
from tests.warehouse_checks import analytics_snapshot, rows_as_dicts


def loaded_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    with CraftedApi(small_world()) as api:
        run_load(db, base_url=api.url)
    return db


def run(body_overrides: dict, db) -> None:
    with CraftedApi(small_world(**body_overrides)) as api:
        run_load(db, base_url=api.url, full_refresh=True)


def exact_json(value) -> tuple[int, bytes, None]:
    """A route answering `value` as JSON, integers beyond 64 bits included (which orjson cannot write)."""
    return 200, json.dumps(value).encode(), None


RUN = small_world()[RUNS][0]
# Shared with tests/test_postgres_reliability.py, which runs the same cases on PostgreSQL.
REJECTED = [
    pytest.param({CASES: (200, b'{"id": 10, "testCases": [', None)}, "not valid JSON", id="truncated-json"),
    pytest.param({RUNS: (200, b"<!DOCTYPE html><html><body>Service maintenance</body></html>", "text/html")},
                 "text/html", id="html-200"),
    pytest.param({CASES: (200, b'{"id": 10, "testCases": [{"id": 1, "result": "PASSED", "attack": "\xff\xfe"}]}',
                          None)}, "not valid JSON", id="invalid-utf8"),
    pytest.param({RUNS: [{"id": 10, "totalCount": "3", "passedCount": 1, "failedCount": 1}]}, "'totalCount' is str",
                 id="string-count"),
    pytest.param({f"{API}/types": [{"id": "1", "name": "Security"}]}, "'id' is str", id="string-id"),
    pytest.param({CASES: {"id": 10, "testCases": [{"id": 1}]}}, "required field 'result'", id="missing-result"),
    pytest.param({CASES: {"id": 10, "testCases": [{"id": 1, "result": "PASSED"}, {"id": 1, "result": "FAILED"}]}},
                 "twice", id="duplicate-case"),
    pytest.param({RUNS: [RUN, RUN]}, "listed id 10 twice", id="duplicate-run"),
    pytest.param({RUNS: (200, b"null", None)}, "returned null where a JSON array was expected", id="null-run-list"),
    pytest.param({CASES: (200, b"null", None)}, "returned null where an object was expected", id="null-test-cases"),
    pytest.param({RUNS: exact_json([{**RUN, "id": 2**63}])}, "outside the 64-bit integer range", id="int64-run-id"),
    pytest.param({CASES: exact_json({**RUN, "testCases": [{"id": -(2**63) - 1, "result": "PASSED"}]})},
                 "outside the 64-bit integer range", id="int64-case-id"),
    pytest.param({RUNS: [{**RUN, "createdAt": "not a date"}]}, "'createdAt' is not an ISO-8601",
                 id="created-at-not-a-date"),
]


@pytest.mark.parametrize("override, message", REJECTED)
def test_rejected_with_the_endpoint_named_and_nothing_changed(tmp_path, override, message):
    db = loaded_warehouse(tmp_path)
    before = analytics_snapshot(db)
    with pytest.raises(ApiDataError, match=message) as error:
        run(override, db)
    assert "GET /api/v2/benchmarks/" in str(error.value)
    assert analytics_snapshot(db) == before


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
            run_load(tmp_path / "w.duckdb", base_url=api.url)
        assert connections_to(api.url) == []


def test_negative_and_inconsistent_counts_are_loaded_and_reported(tmp_path):
    db = tmp_path / "w.duckdb"
    world = small_world()
    run_object = dict(world[RUNS][0], totalCount=-1, passedCount=5, failedCount=1)
    run({RUNS: [run_object], CASES: {**run_object, "testCases": world[CASES]["testCases"]}}, db)
    checks = {row["check_name"] for row in rows_as_dicts(db, "data_quality")}
    assert checks == {"negative_count", "passed_failed_exceed_total", "test_cases_disagree_with_counts"}


def test_huge_message_and_deep_config_load_exactly(tmp_path):
    db = tmp_path / "w.duckdb"
    overrides, huge, _, _ = huge_and_deep_overrides()
    run(overrides, db)
    messages = rows_as_dicts(db, "test_case_messages")
    assert huge in [m["content"] for m in messages]
    assert len(huge.encode()) > 5_000_000


def test_a_package_duckdb_refuses_does_not_block_later_loads(tmp_path, monkeypatch):
    """Were invalid UTF-8 to slip through to DuckDB, the failed package is given up and the next load works."""
    from pipelines.api import cases_documented as test_cases
    from pipelines.errors import WarehouseError
    from pipelines.load import steps
    from pipelines.warehouse.duckdb.configuration import DuckDbSettings
    from pipelines.warehouse.duckdb.file import DuckDbFile

    db = loaded_warehouse(tmp_path)
    before = analytics_snapshot(db)
    invalid = {CASES: (200, b'{"id": 10, "testCases": [{"id": 1, "result": "PASSED", "attack": "\xff"}]}', None)}
    with monkeypatch.context() as patched:
        patched.setattr(test_cases, "has_valid_utf8", lambda table: True)
        with pytest.raises(WarehouseError, match="during load"):
            run(invalid, db)
    assert analytics_snapshot(db) == before
    pipeline = steps.make_pipeline(DuckDbFile(db, DuckDbSettings()))
    assert not pipeline.has_pending_data, "the refused package was given up"
    with CraftedApi(small_world()) as api:
        run_load(db, base_url=api.url)
    assert analytics_snapshot(db) == before
