"""A query's result read through Spark Connect as a stream of Arrow batches: `export` and the tests read views of any
size without holding them whole, as DuckDB's Arrow reader and PostgreSQL's server-side cursor do."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any


def arrow_batches(session: Any, sql: str, batch_rows: int) -> Any:
    """A pyarrow RecordBatchReader over the result of `sql`, batches of at most `batch_rows` rows.

    pyspark's public readers either fetch the whole result (`toArrow`, which also asks the server to analyse the
    query a second time for its schema) or convert each row to a Python `Row` (`toLocalIterator`). The client's own
    iterator, which `toLocalIterator` is built on, yields the Arrow batches as the server sends them; the server
    sends the result's schema with its first batch (an empty batch for an empty result)."""
    import pyarrow as pa

    frame = session.sql(sql)
    stream = session.client.to_table_as_iterator(frame._plan.to_proto(session.client), frame._plan.observations)
    tables = (item for item in stream if isinstance(item, pa.Table))
    first = next(tables, None)
    if first is None:  # no batch at all: the schema alone, from an analysis of the query
        return pa.RecordBatchReader.from_batches(frame.toArrow().schema, iter(()))
    return pa.RecordBatchReader.from_batches(first.schema, _rechunked(first, tables, batch_rows))


def _rechunked(first: Any, rest: Iterator[Any], batch_rows: int) -> Iterator[Any]:
    for table in itertools.chain([first], rest):
        yield from table.to_batches(max_chunksize=batch_rows)
