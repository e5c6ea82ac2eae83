"""Pure record mapping: API JSON -> warehouse rows. No I/O here, so every function is easy to test in isolation.

Known fields are renamed to snake_case explicitly (the table contract); fields the API adds later are passed
through so dlt's schema evolution keeps them; a missing or mistyped required field raises `ApiDataError`
naming the endpoint and the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from pipelines import tables
from pipelines.api import settings
from pipelines.errors import ApiDataError

TYPE_FIELDS = tables.BENCHMARK_TYPES.api_fields()
MODEL_FIELDS = tables.MODELS.api_fields()
DETAIL_FIELDS = tables.MODEL_DETAILS.api_fields()  # its "id" is the model_id
RUN_FIELDS = tables.PROBE_RUNS.api_fields()
# Keys of a model record that are read elsewhere (`score_rows`) and are not columns of their own table.
MODEL_NESTED = ("scores", "ranks")
# Every id and count is stored as BIGINT: a value outside it is malformed, refused here with the record named (not
# later by dlt's normalize, which could not say which endpoint sent it).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Timestamps a record must carry (docs/api.md, "Timestamps"): a run's createdAt orders a probe's runs.
REQUIRED_TIMESTAMPS = ("createdAt",)


def preview(record: Any, limit: int = 200) -> str:
    """A short JSON excerpt of a record for error messages."""
    try:
        text = orjson.dumps(record, default=str).decode()
    except TypeError:
        text = repr(record)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_type(value: Any) -> str:
    """What a decoded JSON value is, in JSON's words (`null`, not NoneType)."""
    names = {type(None): "null", bool: "boolean", int: "number", float: "number", str: "string", list: "array",
             dict: "object"}
    return names.get(type(value), type(value).__name__)


def require_object(record: Any, endpoint: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ApiDataError(f"{endpoint} returned {json_type(record)} where an object was expected: "
                           f"{preview(record)}")
    return record


def require_list(body: Any, endpoint: str) -> list[Any]:
    """A list must be a JSON array: `null` or anything else is malformed, never an empty list."""
    if not isinstance(body, list):
        raise ApiDataError(f"{endpoint} returned {json_type(body)} where a JSON array was expected: "
                           f"{preview(body)}")
    return body


def require_int(record: dict[str, Any], key: str, endpoint: str) -> int:
    value = record.get(key)
    if value is None:
        raise ApiDataError(f"{endpoint} returned a record without the required field '{key}': {preview(record)}")
    # orjson reads an integer literal past 64 bits as a float
    beyond_int64 = isinstance(value, float) and value.is_integer() and abs(value) >= 2**63
    if (isinstance(value, bool) or not isinstance(value, int)) and not beyond_int64:
        raise ApiDataError(
            f"{endpoint} returned a record whose '{key}' is {type(value).__name__}, not an integer: "
            f"{preview(record)}"
        )
    if beyond_int64 or not INT64_MIN <= value <= INT64_MAX:
        raise ApiDataError(
            f"{endpoint} returned a record whose '{key}' ({value}) is outside the 64-bit integer range: "
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


def parse_timestamp(value: str) -> datetime | None:
    """An ISO-8601 string ('2025-12-06T17:26:26.262Z') as a UTC datetime (no offset = UTC); None if it is not one.

    The one parser of API timestamps; Arrow's, on the test cases' fast path, accepts a subset of what this accepts."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def optional_timestamp(record: dict[str, Any], key: str, endpoint: str) -> datetime | None:
    """An absent or null timestamp is NULL; one present but not a date is malformed (never stored as NULL)."""
    value = record.get(key)
    if value is None:
        return None
    moment = parse_timestamp(value) if isinstance(value, str) else None
    if moment is None:
        raise ApiDataError(
            f"{endpoint} returned a record whose '{key}' is not an ISO-8601 date and time: {preview(record)}"
        )
    return moment


def require_timestamp(record: dict[str, Any], key: str, endpoint: str) -> datetime:
    moment = optional_timestamp(record, key, endpoint)
    if moment is None:
        raise ApiDataError(f"{endpoint} returned a record without the required field '{key}': {preview(record)}")
    return moment


def with_timestamps(
    row: dict[str, Any], record: dict[str, Any], table: tables.Table, endpoint: str, required: Iterable[str] = ()
) -> dict[str, Any]:
    """`row` with every timestamp column of `table` parsed from `record` (docs/api.md says which are required)."""
    needed = set(required)
    for column in table.columns:
        if column.type is tables.ColumnType.TIMESTAMP and column.api_field:
            parse = require_timestamp if column.api_field in needed else optional_timestamp
            row[column.name] = parse(record, column.api_field, endpoint)
    return row


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
    row = with_timestamps(_rename(record, MODEL_FIELDS, skip=MODEL_NESTED), record, tables.MODELS, endpoint)
    return {**row, "last_seen_at": seen_at}


def detail_row(record: Any, scope_type_id: int, endpoint: str, seen_at: datetime) -> dict[str, Any]:
    """One model's details for one scope (a benchmark type, or ALL_TYPES_SCOPE for the aggregate)."""
    record = require_object(record, endpoint)
    model_id = require_int(record, "id", endpoint)
    for key in ("totalCount", "passedCount", "failedCount"):
        optional_int(record, key, endpoint)
    row = with_timestamps(_rename(record, DETAIL_FIELDS, skip=MODEL_NESTED), record, tables.MODEL_DETAILS, endpoint)
    return {**row, "model_id": model_id, "scope_type_id": scope_type_id, "last_seen_at": seen_at}


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
    row = with_timestamps(_rename(record, RUN_FIELDS), record, tables.PROBE_RUNS, endpoint, REQUIRED_TIMESTAMPS)
    row.update(model_id=model_id, benchmark_type_id=type_id)
    return {**row, "signature": run_signature(row), "last_seen_at": seen_at}


def run_signature(run: dict[str, Any]) -> str:
    """What identifies a run's test-case set: when any of these change, its test cases are fetched again."""
    score = run.get("score")
    score_text = repr(float(score)) if score is not None else "null"
    return f"{run.get('total_count')}|{run.get('passed_count')}|{run.get('failed_count')}|{score_text}"


def held_signature(run_signature: str, conversations: bool) -> str:
    """The signature a run's claim records: the run's own, marked when its messages were dropped
    (`sources.benchmarks.conversations = false`), so that switching the setting fetches every run again and the
    commit then drops, or brings, their messages."""
    return run_signature if conversations else run_signature + tables.WITHOUT_CONVERSATIONS


def as_text(value: Any) -> str | None:
    """Unknown fields are kept as text (JSON for structures) so batches never disagree on a column's type."""
    if value is None or isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. integers beyond 64 bits, which orjson refuses
        return json.dumps(value, default=str)


def iter_scopes(type_ids: Iterable[int]) -> Iterator[int]:
    """The scopes whose models and details are read: the aggregate first, then each benchmark type."""
    yield settings.ALL_TYPES_SCOPE
    yield from type_ids
