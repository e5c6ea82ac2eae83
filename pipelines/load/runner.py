"""One load: resolve the settings with dlt, take the load lock, find out whether anything changed upstream; if so,
load it with dlt and publish.

dlt's pipeline is used only when there is something to load: finding out that nothing changed needs the settings
and the lists only (pipelines/load/change_check.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines import interrupts
from pipelines.api import api_key
from pipelines.api.configuration import resolve_source_settings
from pipelines.api.stats import SourceStats
from pipelines.errors import BenchmarksEtlError
from pipelines.load import change_check
from pipelines.load.dlt_runtime import settings_folders, use_dlt_configuration
from pipelines.progress import LoadProgress
from pipelines.tables import TEST_CASE_MESSAGES, TEST_CASES
from pipelines.warehouse.attempts import LoadAttempt, now_iso, write_attempt
from pipelines.warehouse.destinations import Destination, engine_for_load
from pipelines.warehouse.engine import Engine
from pipelines.warehouse.shown import shown_entities


@dataclass(frozen=True)
class LoadResult:
    requests: int
    runs_listed: int
    runs_fetched: int
    test_cases: int
    messages: int
    seconds: float
    unchanged: bool = False
    notices: tuple[str, ...] = ()  # lines for the user before the summary (e.g. a storage format converted)

    def summary(self) -> str:
        if self.unchanged:
            return (
                f"Nothing changed upstream since the last load ({self.runs_listed:,} runs listed); the warehouse is "
                f"as it was. {self.requests:,} requests in {self.seconds:.1f} s."
            )
        return (
            f"Loaded {self.test_cases:,} test cases ({self.messages:,} messages) from {self.runs_fetched:,} new or "
            f"changed runs of {self.runs_listed:,}; {self.requests:,} requests in {self.seconds:.1f} s."
        )

    def record(self) -> dict[str, Any]:
        """The summary's facts, for `load --format json` (keys documented in docs/operations.md)."""
        return {
            "outcome": "unchanged" if self.unchanged else "loaded",
            "runs_listed": self.runs_listed,
            "runs_fetched": self.runs_fetched,
            "test_cases": self.test_cases,
            "messages": self.messages,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "notices": list(self.notices),
        }


def run_load(
    db: str | Path | None = None,
    *,
    destination: Destination | str = Destination.DUCKDB,
    base_url: str | None = None,
    type_ids: Sequence[int] | None = None,
    workers: int | None = None,
    full_refresh: bool = False,
    source_options: dict[str, Any] | None = None,
    progress: LoadProgress | None = None,
    allow_insecure_http: bool = False,
    allow_mass_removal: bool = False,
) -> LoadResult:
    """Load the API into the warehouse (the DuckDB file `db`, by default benchmarks.duckdb; or the PostgreSQL
    database dlt's credentials name, which needs no `db`) and (re)create its views. dlt resolves the settings once:
    these options (`source_options`: any of the source's) first, then the environment, secrets.toml and
    config.toml, then the defaults. Raises a `BenchmarksEtlError` with a one-line message on any failure; the
    published warehouse then holds exactly what it held before. `allow_mass_removal` lifts the mass-removal guard
    (pipelines/api/removals.py) for this load.
    """
    started = time.monotonic()
    run_context = use_dlt_configuration()
    api_key.warn_about_readable_secrets_files(settings_folders(run_context))
    engine = engine_for_load(destination, db)
    explicit = {
        **(source_options or {}), **_given(base_url=base_url, workers=workers, type_ids=type_ids),
        **({"allow_insecure_http": True} if allow_insecure_http else {}),
    }
    stats = SourceStats(progress=progress or LoadProgress())
    with engine.load_lock():
        attempt = LoadAttempt(started_at=now_iso(), status="running", pid=os.getpid())
        _record(engine, attempt)
        with interrupts.recorded_by(lambda: _record_interrupted(engine.working_dir, attempt)):
            try:
                result = _load_if_changed(engine, explicit, stats, full_refresh, allow_mass_removal, started)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt) or interrupts.received():
                    interrupts.record_interruption()  # once, whether this or the watchdog gets there first
                    raise
                _record_failure(engine, attempt, exc)
                if api_key.holds_secret(str(exc)):
                    raise _without_secrets(exc) from None
                raise
        attempt.status, attempt.finished_at, attempt.summary = "succeeded", now_iso(), result.summary()
        attempt.wrote_data = not result.unchanged
        _record(engine, attempt)
    return result


def _record_failure(engine: Engine, attempt: LoadAttempt, exc: BaseException) -> None:
    """The attempt as failed, with its error's one line, secrets redacted."""
    attempt.status, attempt.finished_at = "failed", now_iso()
    attempt.error = api_key.redact(str(exc) if isinstance(exc, BenchmarksEtlError) else f"{type(exc).__name__}: {exc}")
    _record(engine, attempt)


def _given(base_url: str | None, workers: int | None, type_ids: Sequence[int] | None) -> dict[str, Any]:
    """The options a caller gave, as the source's settings (the others are left to dlt's configuration)."""
    given = {name: value for name, value in (("base_url", base_url), ("workers", workers)) if value is not None}
    return {**given, "type_ids": list(type_ids)} if type_ids else given


def _record(engine: Engine, attempt: LoadAttempt) -> None:
    """In the working folder (this host's `status`) and in the warehouse where it keeps one (every host's)."""
    write_attempt(engine.working_dir, attempt)
    engine.record_attempt(attempt)


def _without_secrets(exc: BaseException) -> BenchmarksEtlError:
    """The same failure, with every secret taken out of its text (and its traceback, which held the text, dropped)."""
    if isinstance(exc, BenchmarksEtlError):
        error = BenchmarksEtlError(api_key.redact(str(exc)))
    else:
        error = BenchmarksEtlError(
            f"unexpected {type(exc).__name__}: {api_key.redact(str(exc))} (run again with --verbose for details)"
        )
    error.exit_code = getattr(exc, "exit_code", 1)
    return error


def _record_interrupted(working_dir: Path, attempt: LoadAttempt) -> None:
    """An interruption after the publish leaves a successful load (its bookkeeping aside); before, a failed one."""
    attempt.finished_at = now_iso()
    if interrupts.published():
        attempt.status, attempt.summary, attempt.wrote_data = "succeeded", interrupts.message(), True
    else:
        attempt.status, attempt.error = "failed", interrupts.message()
    write_attempt(working_dir, attempt)


def _load_if_changed(
    engine: Engine, explicit: dict[str, Any], stats: SourceStats, full_refresh: bool, allow_mass_removal: bool,
    started: float,
) -> LoadResult:
    source_settings = resolve_source_settings(**explicit)  # every load: the key read afresh, URL and fraction checked
    check = change_check.Check(unchanged=False)
    if not full_refresh:
        check = change_check.check_unchanged(engine, source_settings, stats)
    if check.unchanged:
        return LoadResult(requests=stats.requests.value, runs_listed=check.runs_listed, runs_fetched=0, test_cases=0,
                          messages=0, seconds=time.monotonic() - started, unchanged=True)
    change_check.forget(engine)  # until this load completes, the next one must not take the short way
    from pipelines.load import steps  # deferred: only a load with something to do pays for dlt's pipeline

    shown = None if allow_mass_removal else shown_entities(engine)  # read before dlt changes anything
    loaded = steps.load_and_publish(engine, source_settings, stats, prefetched=check.prefetched, shown=shown,
                                    full_refresh=full_refresh)
    change_check.remember(engine, source_settings, stats)
    return LoadResult(
        requests=stats.requests.value,
        runs_listed=stats.runs_listed,
        runs_fetched=stats.runs_fetched,
        test_cases=loaded.rows_per_table.get(TEST_CASES.name, 0),
        messages=loaded.rows_per_table.get(TEST_CASE_MESSAGES.name, 0),
        seconds=time.monotonic() - started,
        notices=loaded.notices,
    )
