"""One load: resolve the settings, take the load lock, find out whether anything changed upstream; if so, load it
with dlt and publish.

dlt is imported only when there is something to load or its configuration may have changed: finding out that
nothing changed takes less time than importing dlt (see pipelines/load/change_check.py and
pipelines/load/settings_inputs.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines import interrupts
from pipelines import settings as default_settings
from pipelines.api import api_key
from pipelines.api.load_context import LoadContext
from pipelines.api.removals import check_fraction
from pipelines.api.security import check_base_url
from pipelines.errors import BenchmarksEtlError
from pipelines.load import change_check, settings_inputs
from pipelines.progress import LoadProgress
from pipelines.tables import TEST_CASE_MESSAGES, TEST_CASES
from pipelines.warehouse.attempts import LoadAttempt, now_iso, write_attempt
from pipelines.warehouse.destinations import Destination, open_engine
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


def run_load(
    db: str | Path,
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
    """Load the API into the warehouse (the DuckDB file `db`, or the PostgreSQL database dlt's credentials name)
    and (re)create its views.

    Options left as None come from dlt's configuration (environment, .dlt/config.toml) or the source's defaults.
    Raises a `BenchmarksEtlError` with a one-line message on any failure; the published warehouse then holds
    exactly what it held before: dlt writes where readers do not look, published only once all succeeded.
    `allow_mass_removal` lifts the mass-removal guard (pipelines/api/removals.py) for this load.
    """
    started = time.monotonic()
    engine = open_engine(destination, db)
    explicit = {
        **(source_options or {}),
        **{name: value for name, value in (("base_url", base_url), ("workers", workers)) if value is not None},
        **({"allow_insecure_http": True} if allow_insecure_http else {}),
        **({"type_ids": list(type_ids)} if type_ids else {}),
    }
    load = LoadContext(progress=progress or LoadProgress(), allow_mass_removal=allow_mass_removal)
    with engine.load_lock():
        attempt = LoadAttempt(started_at=now_iso(), status="running", pid=os.getpid())
        _record(engine, attempt)
        with interrupts.recorded_by(lambda: _record_interrupted(engine.working_dir, attempt)):
            try:
                result = _load_if_changed(engine, explicit, load, full_refresh, started)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt) or interrupts.received():
                    interrupts.record_interruption()  # once, whether this or the watchdog gets there first
                    raise
                attempt.status, attempt.finished_at = "failed", now_iso()
                attempt.error = api_key.redact(
                    str(exc) if isinstance(exc, BenchmarksEtlError) else f"{type(exc).__name__}: {exc}"
                )
                _record(engine, attempt)
                if api_key.holds_secret(str(exc)):
                    raise _without_secrets(exc) from None
                raise
        attempt.status, attempt.finished_at, attempt.summary = "succeeded", now_iso(), result.summary()
        _record(engine, attempt)
    return result


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
        attempt.status, attempt.summary = "succeeded", interrupts.message()
    else:
        attempt.status, attempt.error = "failed", interrupts.message()
    write_attempt(working_dir, attempt)


def _load_if_changed(
    engine: Engine, explicit: dict[str, Any], load: LoadContext, full_refresh: bool, started: float
) -> LoadResult:
    # The settings dlt resolved last time when nothing dlt would read has changed since (no dlt import), else dlt's.
    recorded = None if full_refresh else change_check.recorded_settings(engine, explicit)
    settings, inputs = recorded or settings_inputs.resolve_with_dlt(explicit)
    api_key.warn_about_readable_secrets_files(inputs.files if inputs else [])
    settings = api_key.with_api_key(settings)  # read (again) from api_key_file, stripped and checked
    # before anything (dlt's trace, the change-check record, an error) could record a URL with a password in it
    check_base_url(settings["base_url"], allow_insecure_http=bool(settings.get("allow_insecure_http")))
    engine.configure(settings)
    check_fraction(settings.get("max_removal_fraction", default_settings.DEFAULT_MAX_REMOVAL_FRACTION))
    unchecked = change_check.Check(unchanged=False)
    check = unchecked if full_refresh else change_check.check_unchanged(engine, settings, load)
    if check.unchanged:
        return LoadResult(requests=load.requests.value, runs_listed=check.runs_listed, runs_fetched=0, test_cases=0,
                          messages=0, seconds=time.monotonic() - started, unchanged=True)
    change_check.forget(engine)  # until this load completes, the next one must not take the short way
    from pipelines.load import steps  # deferred: only a load with something to do pays for dlt's pipeline

    load.prefetched = check.prefetched
    load.shown = None if load.allow_mass_removal else shown_entities(engine)  # read before dlt changes anything
    rows = steps.load_and_publish(engine, settings, load, full_refresh)
    change_check.remember(engine, settings, inputs, explicit, load)
    return LoadResult(
        requests=load.requests.value,
        runs_listed=load.runs_listed,
        runs_fetched=load.runs_fetched,
        test_cases=rows.get(TEST_CASES.name, 0),
        messages=rows.get(TEST_CASE_MESSAGES.name, 0),
        seconds=time.monotonic() - started,
        notices=tuple(load.notices),
    )
