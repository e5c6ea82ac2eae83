"""What the source reports back to the load that runs it, besides the rows dlt counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.api.client import ListRecorder, RequestCounter
from pipelines.progress import LoadProgress
from pipelines.warehouse.duckdb.memory import LargestRows


@dataclass
class SourceStats:
    """Filled by the source while dlt extracts it: the load's summary, the change check's record (`lists`), live
    progress and what DuckDB's insert must hold at once (`largest_rows`)."""

    progress: LoadProgress = field(default_factory=LoadProgress)
    requests: RequestCounter = field(default_factory=RequestCounter)
    lists: ListRecorder = field(default_factory=ListRecorder)  # the digests of the list bodies read
    runs_listed: int = 0  # counted here: dlt's row counts of list rows written as CSV (PostgreSQL) are not rows
    runs_fetched: int = 0
    runs_vanished: int = 0  # listed, then gone before their test cases were read
    largest_rows: LargestRows = field(default_factory=LargestRows)
