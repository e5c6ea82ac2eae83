"""`check`: the regression gate. It keeps the rows of analytics.regressions a person should be told about (a drop
beyond --max-drop points, on runs of --min-cases rated test cases or more, whose Wilson intervals no longer overlap),
so the figures are the view's own; the command exits 10 when any is left, for cron and release pipelines."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipelines.errors import ConfigError, UnhealthyWarehouseError
from pipelines.readers.published import open_read_only
from pipelines.readers.status import collect_status
from pipelines.safe_text import json_text, terminal_text
from pipelines.warehouse.attempts import LoadAttempt
from pipelines.warehouse.destinations import Warehouse, as_engine
from pipelines.warehouse.engine import Names

DEFAULT_MAX_DROP_POINTS = 10.0
DEFAULT_MIN_CASES = 30
# A drop of exactly --max-drop is not beyond it, whatever the last bits of a double say (0.8 - 0.7 > 0.1).
FLOAT_NOISE_POINTS = 1e-9

# What each regression reports, in this order (the JSON keys): the view's columns, and the names of its ids.
COLUMNS = (
    "model_id", "model_name", "benchmark_type_id", "benchmark_type_name", "probe_id", "probe_name",
    "previous_run_id", "latest_run_id", "previous_pass_rate", "latest_pass_rate", "delta",
    "previous_passed_count", "previous_failed_count", "latest_passed_count", "latest_failed_count",
    "previous_pass_rate_low", "previous_pass_rate_high", "latest_pass_rate_low", "latest_pass_rate_high",
    "latest_load_id",
)
NAMED = {"model_name": "m.name", "benchmark_type_name": "t.name"}


@dataclass(frozen=True)
class Thresholds:
    """What counts as a regression worth an alert."""

    max_drop_points: float = DEFAULT_MAX_DROP_POINTS
    min_cases: int = DEFAULT_MIN_CASES

    @classmethod
    def parse(cls, max_drop: str, min_cases: str) -> Thresholds:
        """From the command line's text: one clear line for a value that is not a number in range."""
        try:
            points = float(max_drop)
        except ValueError:
            points = math.nan
        if not 0 <= points <= 100:
            raise ConfigError(f"--max-drop expects percentage points from 0 to 100, e.g. 10; got {max_drop!r}.")
        if not min_cases.strip().isdigit():
            raise ConfigError(f"--min-cases expects a whole number of test cases, 0 or more; got {min_cases!r}.")
        return cls(points, int(min_cases))


def find_regressions(
    warehouse: Warehouse, thresholds: Thresholds, *, since_last_load: bool = False,
    max_age: timedelta | None = None, now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The regressions beyond `thresholds`, worst first; only those whose latest run arrived in the last load with
    `since_last_load`. With `max_age`, raises UnhealthyWarehouseError where `status --max-age` would be unhealthy."""
    engine = as_engine(warehouse)
    last_attempt = None
    if max_age is not None or since_last_load:
        status = collect_status(engine, max_age=max_age, now=now)
        if max_age is not None and status.problems:
            raise UnhealthyWarehouseError(
                f"not checked: {'; '.join(status.problems)} (`benchmarks-etl status` says more)."
            )
        last_attempt = status.last_attempt
    with open_read_only(engine) as (connection, names):
        arrived = _load_of_the_last_attempt(connection, names, last_attempt) if since_last_load else None
        if since_last_load and arrived is None:
            return []
        return _regressions(connection, names, thresholds, arrived)


def _load_of_the_last_attempt(connection: Any, names: Names, attempt: LoadAttempt | None) -> str | None:
    """The load whose runs arrived in the last load attempt: the newest in load_history, unless that attempt wrote
    nothing (nothing changed upstream; it failed, or is still running). Without a record of attempts (a warehouse
    an older version loaded), the newest load."""
    if attempt is not None and (attempt.status != "succeeded" or attempt.wrote_data is False):
        return None
    newest = connection.execute(
        f"select load_id from {names.analytics('load_history')} order by started_at desc limit 1"
    ).fetchone()
    return newest[0] if newest else None


def _regressions(
    connection: Any, names: Names, thresholds: Thresholds, arrived_in: str | None
) -> list[dict[str, Any]]:
    selected = ", ".join(f"{NAMED.get(column, 'r.' + column)} as {column}" for column in COLUMNS)
    sql = (
        f"select {selected} from {names.analytics('regressions')} r "
        f"left join {names.analytics('models')} m on m.model_id = r.model_id "
        f"left join {names.analytics('benchmark_types')} t on t.benchmark_type_id = r.benchmark_type_id "
        "where r.significant "
        "and r.previous_passed_count + r.previous_failed_count >= ? "
        "and r.latest_passed_count + r.latest_failed_count >= ? "
        "and (r.previous_pass_rate - r.latest_pass_rate) * 100 > ? "
        "and (? is null or r.latest_load_id = ?) "
        "order by r.delta, r.model_id, r.benchmark_type_id, r.probe_id"
    )
    params = [thresholds.min_cases, thresholds.min_cases, thresholds.max_drop_points + FLOAT_NOISE_POINTS,
              arrived_in, arrived_in]
    cursor = connection.execute(sql, params)
    return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def regression_line(regression: dict[str, Any]) -> str:
    """One line a person reads in a cron mail: who, where, before and after, and on how many cases."""
    model = regression["model_name"] or f"model {regression['model_id']}"
    benchmark_type = regression["benchmark_type_name"] or f"type {regression['benchmark_type_id']}"
    probe = regression["probe_name"] or f"probe {regression['probe_id']}"
    before, after = 100 * regression["previous_pass_rate"], 100 * regression["latest_pass_rate"]
    return terminal_text(
        f"{model} | {benchmark_type} | {probe}: {before:.1f}% -> {after:.1f}% ({after - before:+.1f} points); "
        f"passed + failed {regression['previous_passed_count']} + {regression['previous_failed_count']} -> "
        f"{regression['latest_passed_count']} + {regression['latest_failed_count']}"
    )


def regressions_json(regressions: list[dict[str, Any]]) -> str:
    """The regressions as one JSON array (`[]` when there is none), keys as COLUMNS."""
    return json_text(json.dumps(regressions, default=str, ensure_ascii=False, indent=2))
