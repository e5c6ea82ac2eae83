"""Large bodies load with bounded memory and exact values; a load that fails inside dlt says so in one line.

Real subprocesses against a real HTTP server (simulator/crafted_api.py) serving bodies built by simulator/big_bodies.py.
The full-size figures (256 MiB bodies of every shape, wall time and peak RSS) come from perf/big_body.py.
"""

from __future__ import annotations

import duckdb

from simulator.big_bodies import big_body, routes_serving
from simulator.crafted_api import RUNS, CraftedApi, small_world
from tests.commands import assert_one_line_error, run_cli

# Ten messages of about 14 MiB: more text at once than DuckDB's insert could hold under its default 256 MB limit
# before the limit followed the largest rows (that load failed with DuckDB out of memory after five retries).
HARDEST_SHAPE, HARDEST_MIB = "huge-messages", 160
OUT_OF_MEMORY = {"WAREHOUSE__DUCKDB_MEMORY_LIMIT": "1MB"}  # too little for DuckDB to insert even small_world()


def test_a_body_of_huge_messages_loads_with_its_values_exact(tmp_path):
    body = big_body(HARDEST_SHAPE, HARDEST_MIB)
    db = tmp_path / "w.duckdb"
    with CraftedApi(routes_serving(body)) as api:
        result = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with duckdb.connect(str(db), read_only=True) as connection:
        counts = connection.execute(
            "select (select count(*) from analytics.test_cases), (select count(*) from analytics.test_case_messages)"
        ).fetchone()
        largest = connection.execute(
            "select length(content), sha256(content) from benchmarks_raw.test_case_messages "
            "where test_case_id = ? and position = ?",
            [body.largest_message_case, body.largest_message_position],
        ).fetchone()
    assert counts == (body.test_cases, body.messages)
    assert largest == (body.largest_message_length, body.largest_message_sha256)


def test_duckdb_out_of_memory_is_one_line_naming_the_setting_and_the_file_stays(crafted_file, tmp_path):
    db = crafted_file.db  # small_world() as a load makes it
    published = db.read_bytes()
    changed = small_world()[RUNS][0] | {"score": 75.0}  # a new signature: its test cases are loaded again
    with CraftedApi(small_world(**{RUNS: [changed]})) as api:
        failed = run_cli("load", "--db", str(db), "--base-url", api.url, cwd=tmp_path, env=OUT_OF_MEMORY)
        verbose = run_cli("load", "--db", str(db), "--base-url", api.url, "--verbose", cwd=tmp_path,
                          env=OUT_OF_MEMORY)
    # dlt retried the failed job five times, logging a traceback each time: none of it reaches stderr
    assert_one_line_error(failed, 6, "DuckDB ran out of memory while loading", "warehouse.duckdb_memory_limit",
                          "WAREHOUSE__DUCKDB_MEMORY_LIMIT")
    assert "|dlt|" not in failed.stderr
    assert db.read_bytes() == published
    # --verbose shows dlt's own log lines and the traceback, and still ends with the same one line
    assert verbose.returncode == 6
    assert "Traceback" in verbose.stderr and "|dlt|" in verbose.stderr
    assert verbose.stderr.strip().splitlines()[-1].startswith("error: DuckDB ran out of memory while loading")
    assert db.read_bytes() == published


def test_a_memory_limit_that_is_not_a_size_is_refused_in_one_line(tmp_path):
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path,
                         env={"WAREHOUSE__DUCKDB_MEMORY_LIMIT": "lots"})
    assert_one_line_error(result, 2, "warehouse.duckdb_memory_limit", "'lots'")
    assert not (tmp_path / "w.duckdb").exists()


def test_a_body_flattened_on_its_own_gives_the_tables_of_the_tolerant_path(monkeypatch):
    """What a large body takes (flattened alone in the worker, its bytes freed) equals the record-by-record path."""
    import orjson

    from pipelines.api import cases_to_arrow as test_cases
    from pipelines.api import settings
    from pipelines.api.cases_tolerant import TolerantTestCases
    from pipelines.api.client import Body

    monkeypatch.setattr(settings, "FLATTEN_ALONE_BYTES", 0)  # every body counts as large
    run = {"id": 10, "model_id": 1, "benchmark_type_id": 1, "signature": "3|1|1|50.0"}
    served = big_body("many", 0.05)
    read = test_cases.read_test_cases(run, Body("GET /test-cases", served.content, "application/json"))
    assert read.body is None and read.flattened is not None  # the bytes are not kept
    fast, tolerant = test_cases.CaseBatch(), TolerantTestCases()
    assert fast.add_run(run, read) == served.test_cases
    tolerant.add_run(run, orjson.loads(served.content), "GET /test-cases")
    for fast_table, tolerant_table in zip(fast.to_tables(), tolerant.to_tables(), strict=True):
        assert fast_table.to_pylist() == tolerant_table.to_pylist()
