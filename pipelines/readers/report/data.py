"""Reads the analytics views into plain Python structures for the terminal and HTML reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.readers.published import open_read_only
from pipelines.warehouse.attempts import read_attempt
from pipelines.warehouse.destinations import Warehouse, as_engine

WORST_CATEGORIES = 10


@dataclass
class ReportData:
    warehouse: str  # what to call it: the file's name, or the database URL without its password
    type_id: int | None
    types: list[dict[str, Any]]
    leaderboard: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    regressions: list[dict[str, Any]]
    data_quality: list[dict[str, Any]]
    loads: list[dict[str, Any]]
    model_names: dict[int, str]
    checked_at: datetime | None = None  # the last successful load, also one that found nothing changed upstream

    @property
    def last_load_at(self) -> datetime | None:
        return self.loads[0]["finished_at"].astimezone(UTC) if self.loads else None


def _rows(connection: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, params or [])
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def read_report_data(warehouse: Warehouse, type_id: int | None = None) -> ReportData:
    """Everything a report shows, optionally restricted to one benchmark type (and the overall ranking)."""
    engine = as_engine(warehouse)
    with open_read_only(engine) as (connection, names):
        view = names.analytics
        type_filter = "where ? is null or benchmark_type_id = ?"
        params = [type_id, type_id]
        types = _rows(connection, f"select * from {view('benchmark_types')} {type_filter} order by 1", params)
        leaderboard = _rows(
            connection,
            f"select * from {view('leaderboard')} where ? is null or benchmark_type_id = ? or benchmark_type_id "
            "is null order by benchmark_type_id nulls first, rank",
            params,
        )
        category_filter = type_filter.replace("benchmark_type_id", "c.benchmark_type_id")
        categories = _rows(
            connection,
            f"select c.*, m.name as model_name from {view('category_pass_rates')} c "
            f"join {view('models')} m using (model_id) {category_filter}"
            " order by c.pass_rate nulls last, c.model_id, c.probe_category_id",
            params,
        )
        trend = _rows(connection, f"select * from {view('pass_rate_trend')} {type_filter} order by day", params)
        regressions = _rows(
            connection,
            f"select r.*, m.name as model_name from {view('regressions')} r join {view('models')} m using (model_id) "
            f"{type_filter.replace('benchmark_type_id', 'r.benchmark_type_id')} order by r.delta, r.probe_id",
            params,
        )
        data_quality = _rows(connection, f"select * from {view('data_quality')} order by 1, 2, 3")
        loads = _rows(connection, f"select * from {view('load_history')} order by started_at desc")
        model_names = dict(connection.execute(f"select model_id, name from {view('models')}").fetchall())
    if type_id is not None and not types:
        from pipelines.errors import ConfigError

        raise ConfigError(f"--type {type_id}: no such benchmark type in the warehouse.")
    attempt = read_attempt(engine.working_dir)
    checked_at = None
    if attempt is not None and attempt.status == "succeeded" and attempt.finished_at:
        checked_at = datetime.fromisoformat(attempt.finished_at).astimezone(UTC)
    name = Path(engine.location).name if engine.dialect == "duckdb" else engine.location
    return ReportData(warehouse=name, type_id=type_id, types=types, leaderboard=leaderboard,
                      categories=categories, trend=trend, regressions=regressions, data_quality=data_quality,
                      loads=loads, model_names=model_names, checked_at=checked_at)
