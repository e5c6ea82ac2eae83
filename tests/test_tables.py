"""The raw tables are declared once (pipelines/tables/): what dlt creates from the derived hints, what
the derived DDL creates, and the Arrow batches the source yields must all agree with that declaration."""

from __future__ import annotations

import duckdb
import orjson

from pipelines import tables
from pipelines.api.cases_documented import read_documented_shape
from pipelines.api.cases_to_arrow import CaseBatch, read_test_cases
from pipelines.api.client import Body
from pipelines.warehouse.duckdb.file import TYPE_NAMES
from pipelines.warehouse.engine import quote
from simulator.crafted_api import API, CraftedApi, small_world
from tests.loads import load


def column_types(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = connection.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return dict(rows)


def test_dlt_and_the_ddl_create_every_declared_column_with_its_declared_type(tmp_path):
    db = tmp_path / "w.duckdb"
    with CraftedApi(small_world()) as api:
        load(db, api.url)
    scratch = duckdb.connect()
    connection = duckdb.connect(str(db), read_only=True)
    try:
        for table in tables.RAW_TABLES:
            scratch.execute(f"create table {quote(table.name)} ({table.ddl_columns(TYPE_NAMES, quote)})")
            declared = column_types(scratch, "main", table.name)
            loaded = column_types(connection, "benchmarks_raw", table.name)
            assert {name: loaded.get(name) for name in declared} == declared, table.name
    finally:
        connection.close()
        scratch.close()


def test_test_case_batches_have_the_declared_arrow_schema_on_both_paths():
    run = {"id": 10, "model_id": 1, "benchmark_type_id": 1, "signature": "3|1|1|50.0"}
    case = {"id": 1, "result": "PASSED", "attack": "A", "strategy": "S", "redTeamer": "R", "variation": "V",
            "detectionTime": "2025-01-01T00:00:00.000Z", "explanation": None,
            "conversation": [{"role": "user", "content": "hi"}]}
    documented = Body(f"GET {API}/test", orjson.dumps({"id": 10, "testCases": [case]}), "application/json")
    other_shape = Body(f"GET {API}/test", orjson.dumps([{**case, "id": 2}]), "application/json")  # a bare array
    for body in (documented, other_shape):
        batch = CaseBatch()
        batch.add_run(run, read_test_cases(run, body))
        cases, messages = batch.to_tables()
        assert cases.schema == tables.TEST_CASES.arrow_schema()
        assert messages.schema == tables.TEST_CASE_MESSAGES.arrow_schema()
    assert read_documented_shape(documented) is not None and read_documented_shape(other_shape) is None
