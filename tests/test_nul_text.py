"""U+0000 in text the API sends, on every engine: PostgreSQL cannot store it, so a load there replaces each with
U+FFFD and reports it in analytics.data_quality (check nul_character_replaced); DuckDB keeps the text byte-exact
(pipelines/api/nul_text.py)."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from pipelines.api.nul_text import replace_nul_in_row, replace_nul_in_table
from pipelines.warehouse.views import apply_views
from simulator.crafted_api import API, small_world
from tests.loads import load_routes
from tests.snapshots import rows, values
from tests.warehouses import as_warehouse, on_engines

CASES = f"{API}/models/1/runs/10/test-cases"
CONTENT = "hel\x00lo\x00\x00 world"
EXPLANATION = "refused\x00"
NOTE = "a\x00b"
CHECK = "nul_character_replaced"


def nul_world(*, tolerant: bool = False) -> dict:
    """small_world with U+0000 in a message, an explanation, a type's description and a model's config; `tolerant`
    adds an unknown field (with U+0000 too), which sends the test cases through the tolerant path."""
    world = small_world()
    cases = world[CASES]["testCases"]
    cases[0] = {**cases[0], "explanation": EXPLANATION, "conversation": [{"role": "user", "content": CONTENT}]}
    if tolerant:
        cases[0]["extraNote"] = NOTE
    world[CASES] = {**world[CASES], "testCases": cases}
    world[f"{API}/types"] = [{"id": 1, "name": "Security", "description": NOTE}]
    for path in (f"{API}/models/1", f"{API}/models/1?benchmarkTypeId=1"):
        world[path] = {**world[path], "config": {"temperature": 0.2, "note": NOTE}}
    return world


def expected_checks(*, tolerant: bool) -> set[tuple[str, str, str, str]]:
    case_note = "1 in explanation, 1 in extraNote" if tolerant else "1 in explanation"
    return {
        (CHECK, "test_case", "100001", f"U+0000 replaced by U+FFFD: {case_note}"),
        (CHECK, "message", "100001:0", "U+0000 replaced by U+FFFD: 3 in content"),
        (CHECK, "benchmark_type", "1", "U+0000 replaced by U+FFFD: 1 in description"),
        (CHECK, "model_detail", "1:all", "U+0000 replaced by U+FFFD: 1 in config"),
        (CHECK, "model_detail", "1:1", "U+0000 replaced by U+FFFD: 1 in config"),
    }


@pytest.mark.parametrize("tolerant", [False, True], ids=["documented-shape", "tolerant-path"])
def test_nul_is_kept_where_the_engine_stores_it_and_replaced_and_reported_where_not(warehouse, tolerant):
    load_routes(warehouse, nul_world(tolerant=tolerant))
    kept = warehouse.engine().stores_nul_characters
    assert kept == (warehouse.engine_name == "duckdb")
    shown = (lambda text: text) if kept else (lambda text: text.replace("\x00", "\ufffd"))
    messages = values(warehouse, "select content from {analytics}.test_case_messages where test_case_id = 100001")
    assert messages == [(shown(CONTENT),)]
    assert values(warehouse, "select explanation from {raw}.test_cases where id = 100001") == [(shown(EXPLANATION),)]
    assert [row["description"] for row in rows(warehouse, "benchmark_types")] == [shown(NOTE)]
    notes = values(warehouse, "select config from {raw}.model_details")
    assert sorted(json.loads(config)["note"] for (config,) in notes) == [shown(NOTE)] * 2
    checks = {(row["check_name"], row["entity"], row["entity_id"], row["detail"])
              for row in rows(warehouse, "data_quality") if row["check_name"] == CHECK}
    assert checks == (set() if kept else expected_checks(tolerant=tolerant))
    # the rows without U+0000 stay as they were
    assert values(warehouse, "select position, content from {analytics}.test_case_messages where test_case_id = "
                             "100003") == [(0, "a"), (1, "b")]
    replaced = values(warehouse, "select count(*) from {raw}.test_case_messages where nul_replaced is not null")
    assert replaced == [(0 if kept else 1,)]


def test_arrow_batches_get_u_fffd_and_a_note_per_row():
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "content": pa.array(["a\x00b\x00", "clean", None]),
        "attack": pa.array(["x", "\x00", "y"]),
        "nul_replaced": pa.nulls(3, pa.string()),
    })
    replaced = replace_nul_in_table(table)
    assert replaced.schema == table.schema
    assert replaced.column("content").to_pylist() == ["a\ufffdb\ufffd", "clean", None]
    assert replaced.column("attack").to_pylist() == ["x", "\ufffd", "y"]
    assert replaced.column("nul_replaced").to_pylist() == ["2 in content", "1 in attack", None]
    clean = table.slice(2, 1)
    assert replace_nul_in_table(clean) is clean  # nothing to replace: the very same table
    without_note = replace_nul_in_table(table.drop_columns(["nul_replaced"]))
    assert without_note.column("nul_replaced").to_pylist() == ["2 in content", "1 in attack", None]


def test_dict_rows_get_u_fffd_in_nested_values_and_keys():
    row = {"id": 1, "name": "n\x00", "config": {"k\x00": ["v\x00", 1]}, "score": 2.0}
    assert replace_nul_in_row(row) == {
        "id": 1, "name": "n\ufffd", "config": {"k\ufffd": ["v\ufffd", 1]}, "score": 2.0,
        "nul_replaced": "1 in name, 2 in config",
    }
    clean = {"id": 2, "name": "fine", "config": {"a": [1]}}
    assert replace_nul_in_row(clean) is clean


@on_engines("duckdb")
def test_a_warehouse_made_before_nul_replaced_gets_the_column_when_views_are_applied(warehouses, prebuilt):
    db = warehouses.copy(prebuilt.crafted(warehouses, "small_world", small_world())).db
    with duckdb.connect(str(db)) as connection:  # as the warehouse was before the column was declared
        connection.execute("drop schema analytics cascade")
        connection.execute("drop schema benchmarks_stg cascade")
        for table in ("test_cases", "test_case_messages", "models"):
            connection.execute(f"alter table benchmarks_raw.{table} drop column nul_replaced")
    engine = as_warehouse(db).engine()
    engine.working_db = db  # apply the views to the file itself
    apply_views(engine)
    assert values(db, "select count(*) from {raw}.test_cases where nul_replaced is null") == [(3,)]
    assert not rows(db, "data_quality")

