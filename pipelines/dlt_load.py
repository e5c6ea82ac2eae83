"""The normal load, with dlt: finish what an interrupted load left, extract what changed, load it into the working
file, prune superseded test cases, re-create the views and publish."""

from __future__ import annotations

import ctypes
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines import paths, settings, warehouse
from pipelines.benchmarks.catalog import LoadStats
from pipelines.benchmarks.helpers import Prefetched
from pipelines.benchmarks.source import benchmarks
from pipelines.errors import ApiAuthError, BenchmarksEtlError, WarehouseError

PIPELINE_NAME = "benchmarks_warehouse"


def make_pipeline(db_path: Path) -> dlt.Pipeline:
    """dlt loads into the private working file; `publish` then replaces the file readers use."""
    # Arrow tables get dlt's load id too, so analytics.load_history can say which load brought which test cases.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    # Loaded data files are deleted once loaded: the warehouse has the data, the working folder must not grow.
    dlt.config["load.delete_completed_jobs"] = True
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(paths.working_dir_for(db_path)),
        destination=dlt.destinations.duckdb(
            credentials=DuckDbCredentials(
                str(paths.working_db_for(db_path)), global_config=dict(settings.DUCKDB_LOAD_CONFIG)
            )
        ),
        dataset_name=settings.RAW_SCHEMA,
    )


def load_and_publish(
    db_path: Path, stats: LoadStats, options: dict[str, Any], full_refresh: bool, prefetched: Prefetched | None
) -> bool:
    """Finish an interrupted load if any, run this one, re-create the views, publish. True if it finished one.

    Raises a `BenchmarksEtlError` with a one-line message on any failure.
    """
    # Arrow's default allocator (mimalloc) keeps freed batches cached; the system allocator returns them, which
    # keeps a load's memory flat (measured: about 150 MB less at the medium scale).
    pa.set_memory_pool(pa.system_memory_pool())
    with _translated_errors():
        return _load_and_publish(db_path, stats, options, full_refresh, prefetched)


def _load_and_publish(
    db_path: Path, stats: LoadStats, options: dict[str, Any], full_refresh: bool, prefetched: Prefetched | None
) -> bool:
    working = warehouse.prepare_working_copy(db_path)
    pipeline = make_pipeline(db_path)
    finished_pending = False
    if pipeline.has_pending_data:
        # A previous load was interrupted after extracting: land its data first, so nothing is lost.
        stats.progress.stage("recover", "finishing an interrupted earlier load")
        try:
            pipeline.normalize()
            pipeline.load()
        except PipelineStepFailed as exc:  # it cannot be finished: give it up; this load fetches what it lacked
            abandon_pending_packages(pipeline)
            stats.progress.stage("recover", f"gave up the interrupted load: {_first_line(exc.exception)}")
        else:
            finished_pending = True
        doubled = warehouse.remove_duplicate_rows(working)
        if doubled:
            stats.progress.stage("recover", f"removed {doubled:,} rows copied twice by the interrupted load")
    progress = stats.progress
    progress.stage("extract", "reading the API")
    known = {} if full_refresh else warehouse.known_run_signatures(working)
    source = benchmarks(known_run_signatures=known, stats=stats, prefetched=prefetched, **options)
    # Parquet for every table: dlt would send the small lists as one INSERT ... VALUES statement per table, and
    # DuckDB parsing 8,000 rows of VALUES briefly takes ~300 MB (measured at the large scale).
    pipeline.extract(source, refresh="drop_sources" if full_refresh else None, loader_file_format="parquet")
    progress.stage("normalize", f"{stats.requests.value:,} requests made")
    try:
        pipeline.normalize()
        progress.stage("load", "writing to DuckDB")
        return_freed_memory()
        pipeline.load()
    except PipelineStepFailed:
        abandon_pending_packages(pipeline)  # a package DuckDB refused would otherwise block every later load
        raise
    warehouse.prune_superseded_test_cases(working)  # every load: also finishes a prune a killed load missed
    progress.stage("views", "re-creating the analytics views")
    warehouse.apply_views(working)
    progress.stage("publish", str(db_path))
    warehouse.publish(db_path)
    forget_old_packages(pipeline)
    return finished_pending


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

    Safe for the data: lists are re-read by every load, and test cases are re-fetched for every run whose loaded
    test cases do not carry its current signature, which includes the runs of an abandoned package.
    """
    try:
        pipeline.abort_packages()
    except Exception:  # noqa: BLE001 - whatever dlt objects to, the pending packages must go
        pipeline.drop_pending_packages()


@contextmanager
def _translated_errors() -> Iterator[None]:
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
        missing = _find_cause(exc, ConfigFieldMissingException)
        if missing is not None and "api_key" in str(missing):
            raise ApiAuthError(
                f"No API key configured: set {settings.API_KEY_SETTING} or api_key under [sources.benchmarks] "
                "in .dlt/secrets.toml."
            ) from exc
        if isinstance(exc, PipelineStepFailed):
            raise WarehouseError(
                f"The load failed during {exc.step}: {_first_line(exc.exception)}; the warehouse keeps its "
                "previous contents. Run again with --verbose for details."
            ) from exc
        raise


def _find_cause(exc: BaseException, kind: type) -> Any:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        nested = getattr(current, "exception", None)
        current = nested if isinstance(nested, BaseException) else (current.__cause__ or current.__context__)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
