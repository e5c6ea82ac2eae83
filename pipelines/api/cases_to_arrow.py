"""Test-case bodies -> the Arrow tables `test_cases` and `test_case_messages`, the bulk of every load.

Two paths, one result: the documented-shape path (cases_documented.py: Arrow's JSON reader and Arrow compute, no
Python object per test case) and the tolerant path (cases_tolerant.py: record by record, any shape, exact errors).
`CaseBatch` takes each run the fast way when it can and the tolerant way otherwise.

Memory: a body is parsed from its own bytes (no copy); a large body (`settings.FLATTEN_ALONE_BYTES`) is flattened
on its own in the worker thread, so that its bytes are freed at once instead of waiting for the rest of the batch.
A 256 MiB body then costs about three times its size at the peak (perf/BOUNDS.md, "Large bodies").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.api import settings
from pipelines.api.cases_documented import CASE_LIST_KEY, flatten_documented_shape, read_documented_shape
from pipelines.api.cases_tolerant import TolerantTestCases
from pipelines.api.client import Body


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


class CaseBatch:
    """Collects several runs' test cases and turns them into (test_cases, test_case_messages) Arrow tables."""

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


def _concat(tables: list[pa.Table]) -> pa.Table:
    """One table from several; columns only some of them have (unknown fields) are null elsewhere."""
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
