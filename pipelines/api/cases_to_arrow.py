"""Test-case bodies -> the Arrow tables `test_cases` and `test_case_messages`, the bulk of every load.

Two paths, one result:
- the **documented-shape path**: a body in the documented (assumed, docs/api.md) shape is parsed straight into
  Arrow by Arrow's JSON reader, in the HTTP worker threads and outside the GIL (`read_documented_shape`); a batch
  of runs is then flattened with Arrow compute. No Python object is made per test case or message.
- the **tolerant path** (`TolerantTestCases`): anything else (unknown fields, a bare array, `messages` instead of
  `conversation`, wrong types, missing required fields) is mapped record by record, keeping unknown fields as
  extra text columns and failing with a message that names the endpoint and the record.
`TestCaseBatch` takes each run the fast way when it can and the tolerant way otherwise.

Memory: a body is parsed from its own bytes (no copy); a large body (`settings.FLATTEN_ALONE_BYTES`) is flattened
on its own in the worker thread, so that its bytes are freed at once instead of waiting for the rest of the batch.
A 256 MiB body then costs about three times its size at the peak (perf/BOUNDS.md, "Large bodies").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from pipelines.api import settings
from pipelines.api.client import Body
from pipelines.api.mapping import as_text, json_type, optional_timestamp, preview, require_int, require_object
from pipelines.errors import ApiDataError
from pipelines.tables import (
    NUL_REPLACED_COLUMN,
    PROBE_RUNS,
    TEST_CASE_MESSAGES,
    TEST_CASES,
    ColumnType,
    Table,
    arrow_type,
)

TIMESTAMP = arrow_type(ColumnType.TIMESTAMP)
CASE_FIELDS = TEST_CASES.api_fields()  # e.g. redTeamer -> red_teamer
MESSAGE_FIELDS = TEST_CASE_MESSAGES.api_fields()
TIMESTAMP_COLUMNS = {column.name for column in TEST_CASES.columns if column.type is ColumnType.TIMESTAMP}
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


@dataclass(frozen=True)
class ReadRun:
    """One run's test-cases body as the worker thread left it: flattened (body freed), parsed, or raw."""

    body: Body | None  # kept until the batch is flattened: the tolerant path needs it if flattening fails
    parsed: pa.Table | None = None
    flattened: tuple[pa.Table, pa.Table] | None = None


def read_test_cases(run: dict[str, Any], body: Body) -> ReadRun:
    """In the HTTP worker threads: parse a run's body with Arrow (GIL released); flatten a large one right away."""
    parsed = read_documented_shape(body)
    if parsed is not None and len(body.content) >= settings.FLATTEN_ALONE_BYTES:
        flattened = flatten_documented_shape([run], [parsed])
        if flattened is not None:
            return ReadRun(None, flattened=flattened)
    return ReadRun(body, parsed)


class TestCaseBatch:
    """Collects several runs' test cases and turns them into (test_cases, test_case_messages) Arrow tables."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._flattened: list[tuple[pa.Table, pa.Table]] = []
        self._documented: list[tuple[dict[str, Any], pa.Table, Body]] = []
        self._documented_count = 0
        self._tolerant = TolerantTestCases()

    def __len__(self) -> int:
        return self._documented_count + len(self._tolerant)

    def add_run(self, run: dict[str, Any], read: ReadRun) -> int:
        """Add one run's body as `read_test_cases` read it; returns its test cases. Raises ApiDataError."""
        if read.flattened is not None:
            self._flattened.append(read.flattened)
            count = read.flattened[0].num_rows
        elif read.parsed is None:
            return self._tolerant.add_run(run, read.body.json(), read.body.endpoint)
        else:
            count = pc.sum(pc.list_value_length(read.parsed.column(CASE_LIST_KEY)).fill_null(0)).as_py() or 0
            self._documented.append((run, read.parsed, read.body))
        self._documented_count += count
        return count

    def to_tables(self) -> tuple[pa.Table, pa.Table]:
        tables = list(self._flattened)
        if self._documented:
            flattened = flatten_documented_shape(
                [run for run, _, _ in self._documented], [parsed for _, parsed, _ in self._documented]
            )
            if flattened is None:  # a value the fast path cannot take: redo those runs the tolerant way
                for run, _, body in self._documented:
                    self._tolerant.add_run(run, body.json(), body.endpoint)
            else:
                tables.append(flattened)
        if len(self._tolerant) or not tables:
            tables.append(self._tolerant.to_tables())
        return _concat([t[0] for t in tables]), _concat([t[1] for t in tables])


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


def _concat(tables: list[pa.Table]) -> pa.Table:
    """One table from several; columns only some of them have (unknown fields) are null elsewhere."""
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")


def test_case_list(body: Any, endpoint: str) -> list[Any]:
    """The test cases of a body: `testCases` of the run object, or a bare array (the shape NOTES.md §2.5 suggests)."""
    if isinstance(body, list):
        return body
    body = require_object(body, endpoint)
    cases = body.get(CASE_LIST_KEY)
    if isinstance(cases, list):
        return cases
    if CASE_LIST_KEY in body:  # `null` included: a list that is not a list is malformed, never "no test cases"
        raise ApiDataError(f"{endpoint} returned an object whose '{CASE_LIST_KEY}' is {json_type(cases)}, not a JSON "
                           f"array: {preview(body)}")
    raise ApiDataError(f"{endpoint} returned an object without a '{CASE_LIST_KEY}' list: {preview(body)}")


class TolerantTestCases:
    """The tolerant path: maps test cases of any shape record by record into columns, then into Arrow tables.

    Columns instead of row dicts keep memory and time low: a batch of 5,000 test cases with their conversations
    is a few MB of Arrow buffers.
    """

    def __init__(self) -> None:
        self.cases = _ColumnsWithExtras(TEST_CASES)
        self.messages = _ColumnsWithExtras(TEST_CASE_MESSAGES)

    def __len__(self) -> int:
        return self.cases.rows

    def add_run(self, run: dict[str, Any], body: Any, endpoint: str) -> int:
        """Add one run's test cases; returns how many were added."""
        cases = test_case_list(body, endpoint)
        seen_ids: set[int] = set()
        for case in cases:
            case = require_object(case, endpoint)
            case_id = require_int(case, "id", endpoint)
            if case_id in seen_ids:
                raise ApiDataError(f"{endpoint} listed test case id {case_id} twice.")
            seen_ids.add(case_id)
            self._add_case(case, case_id, run, endpoint)
        return len(cases)

    def _add_case(self, case: dict[str, Any], case_id: int, run: dict[str, Any], endpoint: str) -> None:
        result = case.get("result")
        if not isinstance(result, str) or not result:
            raise ApiDataError(f"{endpoint} returned a test case without the required field 'result': {preview(case)}")
        values: dict[str, Any] = {column: run[key] for column, key in RUN_COLUMNS.items()}
        conversation = None
        extras: dict[str, Any] = {}
        for key, value in case.items():
            column = CASE_FIELDS.get(key)
            if column in TIMESTAMP_COLUMNS:
                values[column] = optional_timestamp(case, key, endpoint)
            elif column is not None:
                values[column] = value if value is None or isinstance(value, str) else str(value)
            elif key in CONVERSATION_KEYS:
                conversation = value
            else:
                extras[key] = value
        values.update(id=case_id, result=result.upper())
        self.cases.append(values, extras)
        self._add_messages(case_id, run["id"], conversation, endpoint)

    def _add_messages(self, case_id: int, run_id: int, conversation: Any, endpoint: str) -> None:
        if conversation is None:
            return
        if not isinstance(conversation, list):
            raise ApiDataError(
                f"{endpoint} returned test case {case_id} whose conversation is not a list: {preview(conversation)}"
            )
        for position, message in enumerate(conversation):
            if not isinstance(message, dict):
                raise ApiDataError(
                    f"{endpoint} returned test case {case_id} with a message that is not an object: "
                    f"{preview(message)}"
                )
            role = message.get("role")
            values = {
                "test_case_id": case_id,
                "probe_run_id": run_id,
                "position": position,
                "role": role.lower() if isinstance(role, str) else as_text(role),
                "content": as_text(message.get("content")),
            }
            extras = {key: value for key, value in message.items() if key not in MESSAGE_FIELDS}
            self.messages.append(values, extras)

    def to_tables(self) -> tuple[pa.Table, pa.Table]:
        """The batch as (test_cases, test_case_messages) Arrow tables; key columns are non-nullable."""
        return self.cases.to_table(), self.messages.to_table()


class _ColumnsWithExtras:
    """A table's declared columns plus any unknown fields (as text), accumulated column by column."""

    def __init__(self, table: Table) -> None:
        self.schema = table.arrow_schema()
        self.columns: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        self.extras: dict[str, list[Any]] = {}
        self.rows = 0

    def append(self, values: dict[str, Any], extras: dict[str, Any]) -> None:
        for name, column in self.columns.items():
            column.append(values.get(name))
        for key in extras.keys() - self.extras.keys():
            self.extras[key] = [None] * self.rows
        for key, column in self.extras.items():
            column.append(as_text(extras.get(key)))
        self.rows += 1

    def to_table(self) -> pa.Table:
        arrays = [pa.array(self.columns[field.name], field.type) for field in self.schema]
        fields = list(self.schema)
        for name, values in self.extras.items():
            arrays.append(pa.array(values, pa.string()))
            fields.append(pa.field(name, pa.string()))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
