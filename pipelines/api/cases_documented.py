"""The documented-shape path: test-case bodies in the documented (assumed, docs/api.md) shape -> Arrow tables.

A body is parsed straight into Arrow by Arrow's JSON reader, in the HTTP worker threads and outside the GIL
(`read_documented_shape`); a batch of runs is then flattened with Arrow compute (`flatten_documented_shape`). No
Python object is made per test case or message. A body this path cannot take goes to the tolerant path
(cases_tolerant.py), which gives the exact error.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from pipelines.api.client import Body
from pipelines.tables import NUL_REPLACED_COLUMN, PROBE_RUNS, TEST_CASE_MESSAGES, TEST_CASES
from pipelines.tables.declaration import ColumnType, Table, arrow_type

TIMESTAMP = arrow_type(ColumnType.TIMESTAMP)
CASE_LIST_KEY = "testCases"
# The conversation's key is a guess from the API's UI wording (NOTES.md §2.5 asks to accept both).
CONVERSATION_KEYS = ("conversation", "messages")
# Columns taken from the test case's run rather than from the test case itself.
RUN_COLUMNS = {"probe_run_id": "id", "model_id": "model_id", "benchmark_type_id": "benchmark_type_id",
               "run_signature": "signature"}


def _api_type(type_: ColumnType) -> pa.DataType:
    """How the API sends a column: timestamps arrive as ISO-8601 strings."""
    return pa.string() if type_ is ColumnType.TIMESTAMP else arrow_type(type_)


def _api_struct(table: Table) -> list[tuple[str, pa.DataType]]:
    return [(column.api_field, _api_type(column.type)) for column in table.columns if column.api_field]


MESSAGE_TYPE = pa.struct(_api_struct(TEST_CASE_MESSAGES))
CASE_TYPE = pa.struct([*_api_struct(TEST_CASES), (CONVERSATION_KEYS[0], pa.list_(MESSAGE_TYPE))])
# The run object the test-cases endpoint returns, with its test cases. A field outside this schema sends the body
# to the tolerant path, where it is kept as an extra column.
BODY_SCHEMA = pa.schema([*_api_struct(PROBE_RUNS), (CASE_LIST_KEY, pa.list_(CASE_TYPE))])


def read_documented_shape(body: Body) -> pa.Table | None:
    """The body as a one-row Arrow table, or None when it is not in the documented shape (or not valid JSON)."""
    if not body.content[:1024].lstrip().startswith(b"{"):  # a slice: never a copy of a large body
        return None  # only an object can be; Arrow's reader crashes the process on a bare `null`
    try:
        table = pa_json.read_json(
            pa.BufferReader(body.content),  # reads the bytes in place; a Python file object would copy them
            # The body is one JSON object: one line, which Arrow's reader cannot split across blocks.
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(body.content) + 1024),
            parse_options=pa_json.ParseOptions(explicit_schema=BODY_SCHEMA, unexpected_field_behavior="error"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != 1 or table.column(CASE_LIST_KEY).null_count:
        return None  # several values, or no `testCases` list: the tolerant path names what is wrong
    return table


def flatten_documented_shape(runs: list[dict[str, Any]], bodies: list[pa.Table]) -> tuple[pa.Table, pa.Table] | None:
    """Runs' parsed bodies -> (test_cases, test_case_messages); None if a value needs the tolerant path (a missing
    id or result, duplicate ids, an unparsable timestamp, invalid UTF-8), which then gives the exact error."""
    chunks = [chunk for body in bodies for chunk in body.column(CASE_LIST_KEY).chunks]
    per_run = chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks)  # one chunk: no copy of a large body
    cases = pc.list_flatten(per_run)
    ids, results = cases.field("id"), cases.field("result")
    if len(cases) and (
        cases.null_count or ids.null_count or results.null_count or pc.count_distinct(ids).as_py() != len(ids)
        or pc.min(pc.utf8_length(results)).as_py() == 0
    ):
        return None
    run_of_case = pc.list_parent_indices(per_run)
    columns: dict[str, pa.Array] = {}
    for column in TEST_CASES.columns:
        if column.name in RUN_COLUMNS:
            values = pa.array([run[RUN_COLUMNS[column.name]] for run in runs], arrow_type(column.type))
            columns[column.name] = pc.take(values, run_of_case)
        elif column.name == NUL_REPLACED_COLUMN:  # set later, if the engine needs it (nul_text.py)
            columns[column.name] = pa.nulls(len(cases), pa.string())
        elif column.type is ColumnType.TIMESTAMP:
            try:
                columns[column.name] = cases.field(column.api_field).cast(TIMESTAMP)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        else:
            columns[column.name] = cases.field(column.api_field)
    columns["result"] = pc.utf8_upper(results)
    messages = _flatten_conversations(cases.field(CONVERSATION_KEYS[0]), ids, columns["probe_run_id"])
    if messages is None:
        return None
    cases_table = pa.Table.from_arrays(list(columns.values()), schema=TEST_CASES.arrow_schema())
    if not (has_valid_utf8(cases_table) and has_valid_utf8(messages)):
        return None  # Arrow's JSON reader does not check UTF-8; the tolerant path reports it precisely
    return cases_table, messages


def _flatten_conversations(conversations: pa.ListArray, case_ids: pa.Array, run_ids: pa.Array) -> pa.Table | None:
    parents = pc.list_parent_indices(conversations)
    messages = pc.list_flatten(conversations)
    if messages.null_count:
        return None
    starts = pc.take(conversations.offsets, parents).cast(pa.int64())
    first = conversations.offsets[0].as_py() if len(conversations) else 0
    arrays = [
        pc.take(case_ids, parents),
        pc.take(run_ids, parents),
        pc.subtract(pa.array(range(first, first + len(messages)), pa.int64()), starts),
        pc.utf8_lower(messages.field("role")),
        messages.field("content"),
        pa.nulls(len(messages), pa.string()),  # nul_replaced
    ]
    return pa.Table.from_arrays(arrays, schema=TEST_CASE_MESSAGES.arrow_schema())


def has_valid_utf8(table: pa.Table) -> bool:
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True
