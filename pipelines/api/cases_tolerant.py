"""The tolerant path: test cases of any shape -> Arrow tables, record by record.

It takes what the documented-shape path (cases_documented.py) does not: unknown fields (kept as extra text columns),
a bare array, `messages` instead of `conversation`, wrong types, missing required fields; and it fails with a
message that names the endpoint and the record.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipelines.api.cases_documented import CASE_LIST_KEY, CONVERSATION_KEYS, RUN_COLUMNS
from pipelines.api.mapping import as_text, json_type, optional_timestamp, preview, require_int, require_object
from pipelines.errors import ApiDataError
from pipelines.tables import TEST_CASE_MESSAGES, TEST_CASES
from pipelines.tables.declaration import ColumnType, Table

CASE_FIELDS = TEST_CASES.api_fields()  # e.g. redTeamer -> red_teamer
MESSAGE_FIELDS = TEST_CASE_MESSAGES.api_fields()
TIMESTAMP_COLUMNS = {column.name for column in TEST_CASES.columns if column.type is ColumnType.TIMESTAMP}


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
