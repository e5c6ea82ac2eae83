"""One load: under the load lock, find out whether anything changed upstream; if so, load it with dlt and publish.

The dlt part lives in pipelines/dlt_load.py and is imported only when there is something to load: importing dlt
takes longer than finding out that nothing changed (see pipelines/fingerprint.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines import fingerprint, paths
from pipelines.benchmarks.catalog import LoadStats
from pipelines.errors import BenchmarksEtlError
from pipelines.locking import exclusive_load_lock
from pipelines.progress import LoadProgress
from pipelines.run_log import LoadAttempt, now_iso, write_attempt


@dataclass(frozen=True)
class LoadResult:
    requests: int
    runs_listed: int
    runs_fetched: int
    test_cases: int
    messages: int
    seconds: float
    finished_pending: bool
    unchanged: bool = False

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
    base_url: str | None = None,
    type_ids: Sequence[int] | None = None,
    workers: int | None = None,
    full_refresh: bool = False,
    source_options: dict[str, Any] | None = None,
    progress: LoadProgress | None = None,
    allow_insecure_http: bool = False,
) -> LoadResult:
    """Load the API into the warehouse file `db` and (re)create its views.

    Options left as None come from dlt's configuration (environment, .dlt/config.toml) or the defaults in
    settings.py. Raises a `BenchmarksEtlError` with a one-line message on any failure; the published warehouse then
    holds exactly what it held before: dlt writes to a private working file, published only once all succeeded.
    """
    started = time.monotonic()
    db_path = paths.resolve_db_path(db)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    stats = LoadStats(progress=progress or LoadProgress())
    options: dict[str, Any] = dict(source_options or {})
    if base_url is not None:
        options["base_url"] = base_url
    if allow_insecure_http:
        options["allow_insecure_http"] = True
    if workers is not None:
        options["workers"] = workers
    if type_ids:
        options["type_ids"] = list(type_ids)
    with exclusive_load_lock(paths.working_dir_for(db_path) / "load.lock"):
        attempt = LoadAttempt(started_at=now_iso(), status="running", pid=os.getpid())
        write_attempt(db_path, attempt)
        try:
            unchanged, finished_pending = _load_if_changed(db_path, stats, options, full_refresh)
        except BaseException as exc:
            attempt.status, attempt.finished_at = "failed", now_iso()
            attempt.error = str(exc) if isinstance(exc, BenchmarksEtlError) else f"{type(exc).__name__}: {exc}"
            write_attempt(db_path, attempt)
            raise
        result = LoadResult(
            requests=stats.requests.value,
            runs_listed=stats.runs_listed,
            runs_fetched=stats.runs_fetched,
            test_cases=stats.test_cases,
            messages=stats.messages,
            seconds=time.monotonic() - started,
            finished_pending=finished_pending,
            unchanged=unchanged,
        )
        attempt.status, attempt.finished_at, attempt.summary = "succeeded", now_iso(), result.summary()
        write_attempt(db_path, attempt)
    return result


def _load_if_changed(
    db_path: Path, stats: LoadStats, options: dict[str, Any], full_refresh: bool
) -> tuple[bool, bool]:
    """(nothing changed upstream, an interrupted earlier load was finished)."""
    config_digest = fingerprint.config_digest(options)
    check = fingerprint.Check(unchanged=False)
    if not full_refresh:
        check = fingerprint.check_unchanged(db_path, config_digest, stats)
    if check.unchanged:
        return True, False
    fingerprint.forget(db_path)  # until this load completes, the next one must not take the short way
    from pipelines import dlt_load  # deferred: only a load with something to do pays for importing dlt

    finished_pending = dlt_load.load_and_publish(db_path, stats, options, full_refresh, check.prefetched)
    fingerprint.remember(db_path, config_digest, stats)
    return False, finished_pending
