"""The one seam between a load and the source, besides the source's settings.

A load hands the source what it knows from outside dlt's configuration (the run signatures the warehouse holds, list
bodies it already read while checking for changes, what analytics shows for the mass-removal guard) and gets back
what dlt does not record (requests made, list digests, runs fetched or vanished, live progress). Row counts come
from dlt's own normalize info instead.

The source looks the context up when it is called (`LoadContext.current()`), so its signature holds settings only
and it still works on its own, as any dlt source: without an active context it fetches everything, silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from pipelines.api.client import ListRecorder, Prefetched, RequestCounter
from pipelines.api.removals import ShownEntities
from pipelines.progress import LoadProgress
from pipelines.warehouse.duckdb.memory import LargestRows

T = TypeVar("T")


@dataclass
class LoadContext:
    # In: from the warehouse and from the change check.
    known_run_signatures: Mapping[int, str] = field(default_factory=dict)
    prefetched: Prefetched | None = None
    # What analytics shows before the load (the mass-removal guard's baseline, removals.py); None: no guard.
    shown: ShownEntities | None = None
    allow_mass_removal: bool = False  # `load --allow-mass-removal`: this one load may flag any number as removed
    # From the engine: False where text cannot hold U+0000 (PostgreSQL); the source then replaces it (nul_text.py).
    stores_nul_characters: bool = True
    # Out: what the load did, beside the rows dlt counts.
    progress: LoadProgress = field(default_factory=LoadProgress)
    requests: RequestCounter = field(default_factory=RequestCounter)
    lists: ListRecorder = field(default_factory=ListRecorder)
    runs_listed: int = 0  # counted here: dlt's row counts of list rows written as CSV (PostgreSQL) are not rows
    runs_fetched: int = 0
    runs_vanished: int = 0  # listed, then gone before their test cases were read
    notices: list[str] = field(default_factory=list)  # lines for the user besides the summary
    largest_rows: LargestRows = field(default_factory=LargestRows)  # the text DuckDB's insert must hold at once
    _open: ExitStack = field(default_factory=ExitStack, repr=False)

    def close_when_done(self, resource: T) -> T:
        """Close `resource` (e.g. the HTTP session) when the load that uses this context ends."""
        return self._open.enter_context(resource)  # type: ignore[arg-type]

    @contextmanager
    def active(self) -> Iterator[LoadContext]:
        """Make this the context sources called inside the block see; close what they opened at the end."""
        token = _current.set(self)
        try:
            with self._open:
                yield self
        finally:
            _current.reset(token)

    @staticmethod
    def current() -> LoadContext:
        """The active load's context, or a fresh one for a source used on its own."""
        context = _current.get(None)
        return context if context is not None else LoadContext()


_current: ContextVar[LoadContext | None] = ContextVar("benchmarks_load_context", default=None)
