"""Test-case bodies -> Arrow tables, the fast path that carries the bulk of the data.

A body in the documented (assumed) shape is parsed straight into Arrow by Arrow's JSON reader, in the HTTP worker
threads and outside the GIL: no Python object is made per test case or message. Batches of runs are then
flattened with Arrow compute. Anything else -- unknown fields, other key names, wrong types, missing required
fields, invalid JSON -- goes through `mapping.TestCaseBatch`, which tolerates other shapes and gives the precise
error message.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from pipelines.benchmarks.helpers import Body
from pipelines.benchmarks.mapping import TestCaseBatch, arrow_table

MESSAGE_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])
CASE_TYPE = pa.struct(
    [
        ("id", pa.int64()),
        ("result", pa.string()),
        ("attack", pa.string()),
        ("strategy", pa.string()),
        ("redTeamer", pa.string()),
        ("variation", pa.string()),
        ("detectionTime", pa.string()),
        ("explanation", pa.string()),
        ("conversation", pa.list_(MESSAGE_TYPE)),
    ]
)
# The run object the test-cases endpoint returns, with its test cases. Fields outside this schema send the body
# to the tolerant path, where they are kept as extra columns.
BODY_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("createdAt", pa.string()),
        ("probeId", pa.int64()),
        ("probeName", pa.string()),
        ("probeCategoryId", pa.int64()),
        ("probeCategoryName", pa.string()),
        ("score", pa.float64()),
        ("totalCount", pa.int64()),
        ("passedCount", pa.int64()),
        ("failedCount", pa.int64()),
        ("testCases", pa.list_(CASE_TYPE)),
    ]
)
TIMESTAMP = pa.timestamp("us", tz="UTC")


def parse_body(body: Body) -> pa.Table | None:
    """The body as a one-row Arrow table, or None when it is not in the expected shape (or not valid JSON)."""
    try:
        table = pa_json.read_json(
            io.BytesIO(body.content),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(body.content) + 1024),
            parse_options=pa_json.ParseOptions(explicit_schema=BODY_SCHEMA, unexpected_field_behavior="error"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return table if table.num_rows == 1 else None


class TestCaseTables:
    """Collects runs' test cases and turns them into (test_cases, test_case_messages) Arrow tables."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._fast: list[tuple[dict[str, Any], pa.Table, Body]] = []
        self._fast_count = 0
        self._tolerant = TestCaseBatch()

    def __len__(self) -> int:
        return self._fast_count + len(self._tolerant)

    def add_run(self, run: dict[str, Any], body: Body, parsed: pa.Table | None) -> int:
        """Add one run's body (`parsed` = parse_body(body)); returns its test cases. Raises ApiDataError."""
        if parsed is None:
            return self._tolerant.add_run(run, body.json(), body.endpoint)
        count = pc.sum(pc.list_value_length(parsed.column("testCases")).fill_null(0)).as_py() or 0
        self._fast.append((run, parsed, body))
        self._fast_count += count
        return count

    def to_tables(self) -> tuple[pa.Table, pa.Table]:
        tables = []
        if self._fast:
            fast = self._fast_tables()
            if fast is None:  # a value the fast path cannot take: redo those runs the tolerant way (exact errors)
                for run, _, body in self._fast:
                    self._tolerant.add_run(run, body.json(), body.endpoint)
            else:
                tables.append(fast)
        if len(self._tolerant) or not tables:
            tables.append(self._tolerant.to_tables())
        return concat([t[0] for t in tables]), concat([t[1] for t in tables])

    def _fast_tables(self) -> tuple[pa.Table, pa.Table] | None:
        runs = [run for run, _, _ in self._fast]
        per_run = pa.concat_arrays(
            [chunk for _, table, _ in self._fast for chunk in table.column("testCases").chunks]
        )
        cases = pc.list_flatten(per_run)
        run_of_case = pc.list_parent_indices(per_run)
        ids, results = cases.field("id"), cases.field("result")
        if len(cases) and (
            cases.null_count or ids.null_count or results.null_count or pc.count_distinct(ids).as_py() != len(ids)
            or pc.min(pc.utf8_length(results)).as_py() == 0
        ):
            return None
        try:
            detection_time = cases.field("detectionTime").cast(TIMESTAMP)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None

        def per_case(key: str, type_: pa.DataType) -> pa.Array:
            return pc.take(pa.array([run[key] for run in runs], type_), run_of_case)

        run_ids = per_case("id", pa.int64())
        cases_table = arrow_table(
            {
                "id": ids,
                "probe_run_id": run_ids,
                "model_id": per_case("model_id", pa.int64()),
                "benchmark_type_id": per_case("benchmark_type_id", pa.int64()),
                "result": pc.utf8_upper(results),
                "attack": cases.field("attack"),
                "strategy": cases.field("strategy"),
                "red_teamer": cases.field("redTeamer"),
                "variation": cases.field("variation"),
                "detection_time": detection_time,
                "explanation": cases.field("explanation"),
                "run_signature": per_case("signature", pa.string()),
            },
            required=("id", "probe_run_id", "result"),
        )
        conversations = cases.field("conversation")
        parents = pc.list_parent_indices(conversations)
        messages = pc.list_flatten(conversations)
        if messages.null_count:
            return None
        starts = pc.take(conversations.offsets, parents).cast(pa.int64())
        first = conversations.offsets[0].as_py() if len(conversations) else 0
        messages_table = arrow_table(
            {
                "test_case_id": pc.take(ids, parents),
                "probe_run_id": pc.take(run_ids, parents),
                "position": pc.subtract(pa.array(range(first, first + len(messages)), pa.int64()), starts),
                "role": pc.utf8_lower(messages.field("role")),
                "content": messages.field("content"),
            },
            required=("test_case_id", "probe_run_id", "position"),
        )
        if not (has_valid_utf8(cases_table) and has_valid_utf8(messages_table)):
            return None  # Arrow's JSON reader does not check UTF-8; the tolerant path reports it precisely
        return cases_table, messages_table


def has_valid_utf8(table: pa.Table) -> bool:
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def concat(tables: list[pa.Table]) -> pa.Table:
    """One table from several; columns only some of them have (unknown fields) are null elsewhere."""
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
