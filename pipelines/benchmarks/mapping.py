"""Pure record mapping: API JSON -> warehouse rows. No I/O here, so every function is easy to test in isolation.

Known fields are renamed to snake_case explicitly (the table contract); fields the API adds later are passed
through so dlt's schema evolution keeps them; a missing or mistyped required field raises `ApiDataError`
naming the endpoint and the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from pipelines import settings
from pipelines.errors import ApiDataError

TEST_CASE_RESULTS = ("PASSED", "FAILED", "ERROR")

TYPE_FIELDS = {"id": "id", "name": "name", "description": "description"}
MODEL_FIELDS = {
    "id": "id",
    "name": "name",
    "provider": "provider",
    "benchmarkDate": "benchmark_date",
    "url": "url",
}
DETAIL_FIELDS = {
    **MODEL_FIELDS,
    "description": "description",
    "totalCount": "total_count",
    "passedCount": "passed_count",
    "failedCount": "failed_count",
    "config": "config",
    "metadata": "metadata",
}
RUN_FIELDS = {
    "id": "id",
    "createdAt": "created_at",
    "probeId": "probe_id",
    "probeName": "probe_name",
    "probeCategoryId": "probe_category_id",
    "probeCategoryName": "probe_category_name",
    "score": "score",
    "totalCount": "total_count",
    "passedCount": "passed_count",
    "failedCount": "failed_count",
}
TEST_CASE_FIELDS = {
    "id": "id",
    "result": "result",
    "attack": "attack",
    "strategy": "strategy",
    "redTeamer": "red_teamer",
    "red_teamer": "red_teamer",
    "variation": "variation",
    "detectionTime": "detection_time",
    "detection_time": "detection_time",
    "explanation": "explanation",
}
# Keys that are read elsewhere and are not columns of their own table.
MODEL_NESTED = ("scores", "ranks")
CONVERSATION_KEYS = ("conversation", "messages")
TEST_CASE_LIST_KEYS = ("testCases", "test_cases", "items")
MESSAGE_FIELDS = {"role": "role", "content": "content"}


def preview(record: Any, limit: int = 200) -> str:
    """A short JSON excerpt of a record for error messages."""
    try:
        text = orjson.dumps(record, default=str).decode()
    except TypeError:
        text = repr(record)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def require_object(record: Any, endpoint: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ApiDataError(f"{endpoint} returned {type(record).__name__} where an object was expected: "
                           f"{preview(record)}")
    return record


def require_list(body: Any, endpoint: str) -> list[Any]:
    if not isinstance(body, list):
        raise ApiDataError(f"{endpoint} returned {type(body).__name__} where a JSON array was expected: "
                           f"{preview(body)}")
    return body


def require_int(record: dict[str, Any], key: str, endpoint: str) -> int:
    value = record.get(key)
    if value is None:
        raise ApiDataError(f"{endpoint} returned a record without the required field '{key}': {preview(record)}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiDataError(
            f"{endpoint} returned a record whose '{key}' is {type(value).__name__}, not an integer: "
            f"{preview(record)}"
        )
    return value


def optional_int(record: dict[str, Any], key: str, endpoint: str) -> int | None:
    if record.get(key) is None:
        return None
    return require_int(record, key, endpoint)


def optional_number(record: dict[str, Any], key: str, endpoint: str) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiDataError(
            f"{endpoint} returned a record whose '{key}' is {type(value).__name__}, not a number: "
            f"{preview(record)}"
        )
    return float(value)


def _rename(record: dict[str, Any], known: dict[str, str], skip: Iterable[str] = ()) -> dict[str, Any]:
    """Known keys renamed to their column names; unknown keys kept as they are (dlt snake_cases them)."""
    skipped = set(skip)
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key in skipped:
            continue
        row[known.get(key, key)] = value
    return row


def ensure_unique_ids(records: list[dict[str, Any]], endpoint: str, key: str = "id") -> None:
    seen: set[int] = set()
    for record in records:
        value = record[key]
        if value in seen:
            raise ApiDataError(f"{endpoint} listed id {value} twice; refusing to load an ambiguous list.")
        seen.add(value)


def type_row(record: Any, endpoint: str, seen_at: datetime) -> dict[str, Any]:
    record = require_object(record, endpoint)
    require_int(record, "id", endpoint)
    return {**_rename(record, TYPE_FIELDS), "last_seen_at": seen_at}


def model_row(record: Any, endpoint: str, seen_at: datetime) -> dict[str, Any]:
    """A model from the overall list; its scores are loaded from the details (see `score_rows`)."""
    record = require_object(record, endpoint)
    require_int(record, "id", endpoint)
    return {**_rename(record, MODEL_FIELDS, skip=MODEL_NESTED), "last_seen_at": seen_at}


def detail_row(record: Any, scope_type_id: int, endpoint: str, seen_at: datetime) -> dict[str, Any]:
    """One model's details for one scope (a benchmark type, or ALL_TYPES_SCOPE for the aggregate)."""
    record = require_object(record, endpoint)
    model_id = require_int(record, "id", endpoint)
    for key in ("totalCount", "passedCount", "failedCount"):
        optional_int(record, key, endpoint)
    row = _rename(record, DETAIL_FIELDS, skip=("id", *MODEL_NESTED))
    return {"model_id": model_id, "scope_type_id": scope_type_id, **row, "last_seen_at": seen_at}


def score_rows(record: dict[str, Any], scope_type_id: int, endpoint: str, seen_at: datetime) -> list[dict]:
    """Unpivot a model's `scores` and `ranks` maps to one row per category (never one column per category)."""
    model_id = require_int(record, "id", endpoint)
    scores = record.get("scores") or {}
    ranks = record.get("ranks") or {}
    if not isinstance(scores, dict) or not isinstance(ranks, dict):
        raise ApiDataError(f"{endpoint} returned 'scores'/'ranks' that are not objects: {preview(record)}")
    rows = []
    for category in sorted(set(scores) | set(ranks)):
        rows.append(
            {
                "model_id": model_id,
                "scope_type_id": scope_type_id,
                "category": category,
                "score": optional_number(scores, category, endpoint),
                "rank": optional_number(ranks, category, endpoint),
                "last_seen_at": seen_at,
            }
        )
    return rows


def run_row(record: Any, model_id: int, type_id: int, endpoint: str, seen_at: datetime) -> dict[str, Any]:
    record = require_object(record, endpoint)
    require_int(record, "id", endpoint)
    for key in ("totalCount", "passedCount", "failedCount", "probeId", "probeCategoryId"):
        optional_int(record, key, endpoint)
    optional_number(record, "score", endpoint)
    row = {**_rename(record, RUN_FIELDS), "model_id": model_id, "benchmark_type_id": type_id}
    return {**row, "signature": run_signature(row), "last_seen_at": seen_at}


def run_signature(run: dict[str, Any]) -> str:
    """What identifies a run's test-case set: when any of these change, its test cases are fetched again."""
    score = run.get("score")
    score_text = repr(float(score)) if score is not None else "null"
    return f"{run.get('total_count')}|{run.get('passed_count')}|{run.get('failed_count')}|{score_text}"


def test_case_list(body: Any, endpoint: str) -> list[Any]:
    """The test cases of a test-cases body: `testCases` of the run object, or a bare array (tolerated)."""
    if isinstance(body, list):
        return body
    body = require_object(body, endpoint)
    for key in TEST_CASE_LIST_KEYS:
        if key in body:
            cases = body[key]
            return require_list(cases if cases is not None else [], endpoint)
    raise ApiDataError(f"{endpoint} returned an object without a 'testCases' list: {preview(body)}")


def _extra_value(value: Any) -> str | None:
    """Unknown fields are kept as text (JSON for structures) so batches never disagree on a column's type."""
    if value is None or isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. integers beyond 64 bits, which orjson refuses
        return json.dumps(value, default=str)


class TestCaseBatch:
    """Accumulates the test cases and messages of several runs as columns, then emits two Arrow tables.

    Columns instead of row dicts keep memory and time low: a batch of 5,000 test cases with their conversations
    is a few MB of Arrow buffers.
    """

    __test__ = False  # not a pytest test class

    CASE_COLUMNS = (
        "id", "probe_run_id", "model_id", "benchmark_type_id", "result", "attack", "strategy", "red_teamer",
        "variation", "detection_time", "explanation", "run_signature",
    )
    MESSAGE_COLUMNS = ("test_case_id", "probe_run_id", "position", "role", "content")

    def __init__(self) -> None:
        self.cases: dict[str, list[Any]] = {name: [] for name in self.CASE_COLUMNS}
        self.messages: dict[str, list[Any]] = {name: [] for name in self.MESSAGE_COLUMNS}
        self.case_extras: dict[str, list[Any]] = {}
        self.message_extras: dict[str, list[Any]] = {}
        self.case_count = 0
        self.message_count = 0

    def __len__(self) -> int:
        return self.case_count

    def add_run(self, run: dict[str, Any], body: Any, endpoint: str) -> int:
        """Add one run's test cases; returns how many were added."""
        cases = test_case_list(body, endpoint)
        run_id = run["id"]
        model_id = run["model_id"]
        type_id = run["benchmark_type_id"]
        signature = run["signature"]
        seen_ids: set[int] = set()
        for case in cases:
            case = require_object(case, endpoint)
            case_id = require_int(case, "id", endpoint)
            if case_id in seen_ids:
                raise ApiDataError(f"{endpoint} listed test case id {case_id} twice.")
            seen_ids.add(case_id)
            result = case.get("result")
            if not isinstance(result, str) or not result:
                raise ApiDataError(
                    f"{endpoint} returned a test case without the required field 'result': {preview(case)}"
                )
            values = {
                "id": case_id,
                "probe_run_id": run_id,
                "model_id": model_id,
                "benchmark_type_id": type_id,
                "result": result.upper(),
                "attack": None,
                "strategy": None,
                "red_teamer": None,
                "variation": None,
                "detection_time": None,
                "explanation": None,
                "run_signature": signature,
            }
            conversation = None
            extras: dict[str, Any] = {}
            for key, value in case.items():
                column = TEST_CASE_FIELDS.get(key)
                if column is not None:
                    if column not in ("id", "result"):
                        values[column] = value if value is None or isinstance(value, str) else str(value)
                elif key in CONVERSATION_KEYS:
                    conversation = value
                else:
                    extras[key] = value
            self._append(self.cases, self.case_extras, self.case_count, values, extras)
            self.case_count += 1
            self._add_messages(case_id, run_id, conversation, endpoint)
        return len(cases)

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
            content = message.get("content")
            values = {
                "test_case_id": case_id,
                "probe_run_id": run_id,
                "position": position,
                "role": role.lower() if isinstance(role, str) else _extra_value(role),
                "content": _extra_value(content),
            }
            extras = {key: value for key, value in message.items() if key not in MESSAGE_FIELDS}
            self._append(self.messages, self.message_extras, self.message_count, values, extras)
            self.message_count += 1

    @staticmethod
    def _append(columns: dict[str, list], extra_columns: dict[str, list], row_index: int,
                values: dict[str, Any], extras: dict[str, Any]) -> None:
        for name, value in values.items():
            columns[name].append(value)
        for key in extras.keys() - extra_columns.keys():
            extra_columns[key] = [None] * row_index
        for key, column in extra_columns.items():
            column.append(_extra_value(extras.get(key)))

    def to_tables(self) -> tuple[pa.Table, pa.Table]:
        """The batch as (test_cases, test_case_messages) Arrow tables; key columns are non-nullable."""
        case_arrays = {
            "id": pa.array(self.cases["id"], pa.int64()),
            "probe_run_id": pa.array(self.cases["probe_run_id"], pa.int64()),
            "model_id": pa.array(self.cases["model_id"], pa.int64()),
            "benchmark_type_id": pa.array(self.cases["benchmark_type_id"], pa.int64()),
            "result": pa.array(self.cases["result"], pa.string()),
            **{name: pa.array(self.cases[name], pa.string()) for name in ("attack", "strategy", "red_teamer",
                                                                         "variation")},
            "detection_time": parse_timestamps(self.cases["detection_time"]),
            "explanation": pa.array(self.cases["explanation"], pa.string()),
            "run_signature": pa.array(self.cases["run_signature"], pa.string()),
            **{name: pa.array(values, pa.string()) for name, values in self.case_extras.items()},
        }
        message_arrays = {
            "test_case_id": pa.array(self.messages["test_case_id"], pa.int64()),
            "probe_run_id": pa.array(self.messages["probe_run_id"], pa.int64()),
            "position": pa.array(self.messages["position"], pa.int64()),
            "role": pa.array(self.messages["role"], pa.string()),
            "content": pa.array(self.messages["content"], pa.string()),
            **{name: pa.array(values, pa.string()) for name, values in self.message_extras.items()},
        }
        return (
            arrow_table(case_arrays, required=("id", "probe_run_id", "result")),
            arrow_table(message_arrays, required=("test_case_id", "probe_run_id", "position")),
        )


def arrow_table(arrays: dict[str, pa.Array], required: tuple[str, ...]) -> pa.Table:
    """A table whose `required` columns are declared non-nullable, matching the resource's column hints."""
    schema = pa.schema([pa.field(name, array.type, nullable=name not in required) for name, array in arrays.items()])
    return pa.Table.from_arrays(list(arrays.values()), schema=schema)


def parse_timestamps(values: list[str | None]) -> pa.Array:
    """ISO-8601 strings ('2025-12-06T17:26:26.262Z') to a UTC timestamp array; unparsable values become NULL."""
    strings = pa.array(values, pa.string())
    try:
        return strings.cast(pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([_parse_one(value) for value in values], pa.timestamp("us", tz="UTC"))


def _parse_one(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def iter_scopes(type_ids: Iterable[int]) -> Iterator[int]:
    """The scopes whose models and details are read: the aggregate first, then each benchmark type."""
    yield settings.ALL_TYPES_SCOPE
    yield from type_ids
