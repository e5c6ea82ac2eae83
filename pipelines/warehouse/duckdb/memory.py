"""How much memory a load's DuckDB may take: the configured limit, raised for a load whose rows hold huge text.

DuckDB cannot spill a single string: inserting one message of 200 MB needs more than 256 MB of its memory however
the rest is tuned. A load therefore measures the text of its largest rows while extracting (`LargestRows`) and
gives DuckDB what those need (`limit_for`), so that any body under the size cap loads, and an ordinary load keeps
the configured limit, which bounds its memory.
"""

from __future__ import annotations

import heapq
import re
import threading
from typing import TYPE_CHECKING

from pipelines.errors import ConfigError
from pipelines.warehouse import settings

if TYPE_CHECKING:
    import pyarrow as pa

MEMORY_LIMIT_SETTING = "warehouse.duckdb_memory_limit (WAREHOUSE__DUCKDB_MEMORY_LIMIT)"
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
MINIMUM_BYTES = 10**6


def memory_limit_bytes(text: str) -> int:
    """A DuckDB memory size such as 256MB or 1GiB (DuckDB's own units: MB = 10^6 bytes) in bytes."""
    match = _SIZE.match(str(text))
    unit = (match.group(2).lower() or "b") if match else ""
    if not match or unit not in _UNITS or float(match.group(1)) * _UNITS[unit] < MINIMUM_BYTES:
        raise ConfigError(
            f"{MEMORY_LIMIT_SETTING} = {text!r} is not a memory size of at least 1MB; use one such as 256MB or 1GB."
        )
    return int(float(match.group(1)) * _UNITS[unit])


def load_config(memory_limit: str) -> dict[str, object]:
    """DuckDB's settings for a connection that writes the warehouse (settings.DUCKDB_LOAD_CONFIG, with the limit)."""
    return {**settings.DUCKDB_LOAD_CONFIG, "memory_limit": memory_limit}


def limit_for(configured: str, largest_rows_bytes: int) -> str:
    """The memory limit for inserting rows whose largest vector holds `largest_rows_bytes` of text."""
    needed = settings.DUCKDB_MEMORY_PER_TEXT_BYTE * largest_rows_bytes
    if needed <= memory_limit_bytes(configured):
        return configured
    return f"{-(-needed // 2**20)}MiB"


class LargestRows:
    """The text bytes of the `settings.DUCKDB_VECTOR_ROWS` largest rows a load extracted, across its tables.

    An upper bound of what DuckDB holds at once while inserting them (a vector's strings), wherever dlt's files put
    those rows. Thread-safe; cheap (one top-k per table). pyarrow is imported only when a table is added: a load that
    finds nothing changed never imports it."""

    def __init__(self, rows: int = settings.DUCKDB_VECTOR_ROWS) -> None:
        self._rows = rows
        self._largest: list[int] = []
        self._lock = threading.Lock()

    def add(self, table: pa.Table) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        text = [column for column, field in zip(table.columns, table.schema, strict=True)
                if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)]
        if not text or not table.num_rows:
            return
        sizes = pc.binary_length(text[0]).fill_null(0).cast(pa.int64())
        for column in text[1:]:
            sizes = pc.add(sizes, pc.binary_length(column).fill_null(0).cast(pa.int64()))
        if isinstance(sizes, pa.ChunkedArray):
            sizes = sizes.combine_chunks()
        largest = pc.take(sizes, pc.select_k_unstable(sizes, self._rows, sort_keys=[("dummy", "descending")]))
        with self._lock:
            self._largest = heapq.nlargest(self._rows, [*self._largest, *largest.to_pylist()])

    @property
    def bytes(self) -> int:
        return sum(self._largest)
