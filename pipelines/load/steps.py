"""The normal load, with dlt: finish what an interrupted load left, commit what landed whole, extract what changed,
load it where readers do not see it yet, commit again (pipelines/warehouse/commit.py), re-create the views and
publish."""

from __future__ import annotations

import ctypes
import errno
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.sources import DltSource

from pipelines import interrupts
from pipelines.api.client import Prefetched
from pipelines.api.configuration import SourceSettings
from pipelines.api.removals import ShownEntities
from pipelines.api.source import benchmarks
from pipelines.api.stats import SourceStats
from pipelines.errors import BenchmarksEtlError, OutOfSpaceError, WarehouseError, first_line
from pipelines.progress import LoadProgress
from pipelines.warehouse import settings
from pipelines.warehouse.duckdb.memory import MEMORY_LIMIT_SETTING
from pipelines.warehouse.engine import Engine
from pipelines.warehouse.views import drop_views

RowsPerTable = dict[str, int]  # table name -> rows loaded, as dlt's normalize counted them


@dataclass(frozen=True)
class Loaded:
    rows_per_table: RowsPerTable
    notices: tuple[str, ...]  # lines for the user besides the summary (e.g. a storage format converted)

PIPELINE_NAME = "benchmarks_warehouse"


def make_pipeline(engine: Engine) -> dlt.Pipeline:
    """dlt loads into the state readers do not see yet; `Engine.publish` then shows it to them."""
    # Arrow tables get dlt's load id too, so analytics.load_history can say which load brought which test cases.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    # Loaded data files are deleted once loaded: the warehouse has the data, the working folder must not grow.
    dlt.config["load.delete_completed_jobs"] = True
    # dlt's own handler would hold Ctrl-C / SIGTERM until its running jobs drain; ours stops at once (interrupts/).
    dlt.config["runtime.intercept_signals"] = False
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(getattr(engine, "dlt_dir", engine.working_dir)),  # DuckDB: a path dlt's SQL can hold
        destination=engine.dlt_destination(),
        dataset_name=settings.RAW_SCHEMA,
    )


def load_and_publish(
    engine: Engine, source_settings: SourceSettings, stats: SourceStats, *, prefetched: Prefetched | None,
    shown: ShownEntities | None, full_refresh: bool,
) -> Loaded:
    """Finish an interrupted load if any, run this one, re-create the views, publish. `prefetched`: the list bodies
    the change check read; `shown`: the mass-removal guard's baseline (None: no guard). Returns the rows loaded per
    table, as dlt counted them. Raises a `BenchmarksEtlError` with a one-line message on any failure."""
    # Arrow's default allocator (mimalloc) keeps freed batches cached; the system allocator returns them, which
    # keeps a load's memory flat (measured: about 150 MB less at the medium scale).
    pa.set_memory_pool(pa.system_memory_pool())
    progress = stats.progress
    with _translated_errors(engine):
        notice = engine.prepare_for_load()
        pipeline = make_pipeline(engine)
        if pipeline.has_pending_data:
            finish_interrupted_load(pipeline, progress)
        if not full_refresh:  # what earlier loads left (whole, in part, or damaged since) decides what is fetched
            engine.commit_loaded_runs()
        source = benchmarks(
            source_settings, known_run_signatures={} if full_refresh else engine.known_run_signatures(),
            prefetched=prefetched, shown=shown, stores_nul_characters=engine.stores_nul_characters, stats=stats,
        )
        rows = _extract_normalize_load(pipeline, engine, source, stats, full_refresh)
        progress.stage("commit", "recording the runs whose rows all landed")
        engine.commit_loaded_runs()
        if not source_settings.conversations:  # what this load or an earlier one deleted must not stay readable
            progress.stage("compact", "rewriting the warehouse without the deleted rows (no conversations kept)")
            engine.compact()
        engine.refresh_statistics()  # after the commit: loaded_runs and the pruned tables as the views will read them
        progress.stage("views", "re-creating the analytics views")
        engine.apply_views()
        with interrupts.committing():  # a signal from here on lets the publish finish
            progress.stage("publish", engine.location)
            engine.publish()
        forget_old_packages(pipeline)
        return Loaded(rows, (notice,) if notice else ())


def finish_interrupted_load(pipeline: dlt.Pipeline, progress: LoadProgress) -> None:
    """A previous load was interrupted after extracting: land its data first, so nothing is lost (the commit step
    that follows removes what it copied twice and records the runs that are whole)."""
    progress.stage("recover", "finishing an interrupted earlier load")
    try:
        pipeline.normalize()
        pipeline.load()
    except PipelineStepFailed as exc:  # it cannot be finished: give it up; this load fetches what it lacked
        if interrupts.received():
            raise  # not a failure: the next load finishes it
        abandon_pending_packages(pipeline)
        progress.stage("recover", f"gave up the interrupted load: {first_line(exc.exception)}")


def _extract_normalize_load(
    pipeline: dlt.Pipeline, engine: Engine, source: DltSource, stats: SourceStats, full_refresh: bool
) -> RowsPerTable:
    stats.progress.stage("extract", "reading the API")
    # Spark: readers read the lake's files and the views themselves, so nothing may be dropped; the refresh's load
    # supersedes every earlier one when it is published instead (pipelines/warehouse/spark/compaction.py).
    supersede_from = getattr(engine, "supersede_from", None) if full_refresh else None
    drop = full_refresh and supersede_from is None
    if drop:
        drop_views(engine)  # dlt drops the raw tables; the views over them are re-created after the load
    # A file format for every table (parquet on DuckDB, CSV through COPY on PostgreSQL): dlt would send the small
    # lists as one INSERT ... VALUES statement per table, and DuckDB parsing 8,000 rows of VALUES briefly takes
    # ~300 MB (measured at the large scale).
    pipeline.extract(source, refresh="drop_sources" if drop else None, loader_file_format=engine.loader_file_format)
    if supersede_from is not None and pipeline.list_extracted_load_packages():
        supersede_from(max(pipeline.list_extracted_load_packages(), key=float))
    stats.progress.stage("normalize", f"{stats.requests.value:,} requests made")
    try:
        rows = pipeline.normalize().row_counts
        stats.progress.stage("load", f"writing to {engine.name}")
        return_freed_memory()
        engine.fit_memory_to(stats.largest_rows.bytes)
        pipeline.load()
    except PipelineStepFailed:
        if not interrupts.received():  # an interrupted package is finished by the next load, as after a kill
            abandon_pending_packages(pipeline)  # a package the warehouse refused would otherwise block every load
        raise
    return rows


def return_freed_memory() -> None:
    """Hand the memory the extract freed back to the operating system before DuckDB's threads allocate their own.

    glibc keeps freed memory in per-thread arenas; DuckDB's threads cannot reuse what the HTTP threads freed, so
    without this the load step's peak is the extract's leftovers plus DuckDB's insert. No-op where there is no glibc.
    """
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def forget_old_packages(pipeline: dlt.Pipeline, keep: int = settings.LOADED_PACKAGES_KEPT) -> None:
    """Delete dlt's records of loaded packages beyond the newest `keep`: an hourly cron job would otherwise add
    about half a megabyte to the working folder every hour, forever. The warehouse keeps its own load history."""
    loaded = Path(pipeline.working_dir) / "load" / "loaded"
    for load_id in sorted(pipeline.list_completed_load_packages())[:-keep]:
        shutil.rmtree(loaded / load_id, ignore_errors=True)


def abandon_pending_packages(pipeline: dlt.Pipeline) -> None:
    """Give up packages that failed to load, so they do not block the next load.

    Safe for the data: lists are re-read by every load, and test cases are re-fetched for every run not recorded
    as loaded with its current signature; the runs of an abandoned package never were (pipelines/warehouse/commit.py).
    """
    try:
        pipeline.abort_packages()
    except Exception:  # noqa: BLE001 - whatever dlt objects to, the pending packages must go
        pipeline.drop_pending_packages()


@contextmanager
def _translated_errors(engine: Engine) -> Iterator[None]:
    """Turn dlt's wrapped exceptions back into our one-line errors."""
    try:
        yield
    except BenchmarksEtlError:
        raise
    except Exception as exc:
        interrupted = _find_cause(exc, KeyboardInterrupt)  # Ctrl-C or SIGTERM, wrapped by dlt
        if interrupted is not None:
            raise interrupted from None
        ours = _find_cause(exc, BenchmarksEtlError)
        if ours is not None:
            raise ours from exc
        if any(_is_out_of_space(cause) for cause in _causes(exc)):
            raise OutOfSpaceError(engine.out_of_space_message()) from exc
        out_of_memory = _out_of_memory(exc)
        if out_of_memory is not None:
            raise WarehouseError(
                f"DuckDB ran out of memory while loading: {out_of_memory}. Raise {MEMORY_LIMIT_SETTING}, e.g. to "
                f"1GB (the default is {settings.DEFAULT_DUCKDB_MEMORY_LIMIT}), and load again; the warehouse keeps its "
                "previous contents."
            ) from exc
        if isinstance(exc, PipelineStepFailed):
            raise WarehouseError(
                f"The load failed during {exc.step}: {_failure(exc)}; the warehouse keeps its "
                "previous contents. Run again with --verbose for details."
            ) from exc
        raise


DUCKDB_OUT_OF_MEMORY = re.compile(r"Out of Memory Error: ([^\n]+)")


def _out_of_memory(exc: BaseException) -> str | None:
    """DuckDB's own words when it ran out of memory anywhere in the chain (a job dlt retried keeps only the text)."""
    for cause in _causes(exc):
        for text in (str(cause), getattr(cause, "failed_message", None)):
            match = DUCKDB_OUT_OF_MEMORY.search(text) if isinstance(text, str) else None
            if match:
                return match.group(1).strip().rstrip(".")
    return None


def _failure(exc: PipelineStepFailed) -> str:
    """The first line of what failed: the job's own exception when dlt wrapped it (its message is a traceback)."""
    job_error = next((cause.client_exception for cause in _causes(exc)
                      if isinstance(getattr(cause, "client_exception", None), BaseException)), None)
    return first_line(job_error if job_error is not None else exc.exception)


def _is_out_of_space(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in str(exc)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps: dlt's `.exception`, or the cause or context."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nested = getattr(current, "exception", None)
        if not isinstance(nested, BaseException):
            nested = getattr(current, "client_exception", None)  # dlt's failed load jobs
        current = nested if isinstance(nested, BaseException) else (current.__cause__ or current.__context__)


def _find_cause(exc: BaseException, kind: type) -> Any:
    return next((cause for cause in _causes(exc) if isinstance(cause, kind)), None)
