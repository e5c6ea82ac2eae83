"""The report as rich tables in the terminal: leaderboards, worst categories, regressions, data quality, freshness."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from pipelines.report.data import WORST_CATEGORIES, ReportData


def report_console() -> Console:
    """Wide enough for model names when the output goes to a file or a pipe (rich assumes 80 columns there)."""
    return Console(width=max(shutil.get_terminal_size((120, 40)).columns, 100))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def interval(low: float | None, high: float | None) -> str:
    return "—" if low is None else f"{100 * low:.1f}–{100 * high:.1f}%"


def leaderboard_tables(data: ReportData) -> list[Table]:
    groups: dict[int | None, list[dict]] = {}
    for row in data.leaderboard:
        groups.setdefault(row["benchmark_type_id"], []).append(row)
    tables = []
    for type_id, rows in groups.items():
        title = f"Leaderboard — {rows[0]['benchmark_type_name']}" + ("" if type_id is None else f" (type {type_id})")
        table = Table(title=title, title_justify="left")
        for column, justify in (("rank", "right"), ("model", "left"), ("provider", "left"),
                                ("pass rate", "right"), ("95% interval", "right"), ("test cases", "right")):
            table.add_column(column, justify=justify)
        for row in rows:
            table.add_row(str(row["rank"]), row["model_name"] or "", row["provider"] or "", percent(row["pass_rate"]),
                          interval(row["pass_rate_low"], row["pass_rate_high"]), f"{row['test_cases']:,}")
        tables.append(table)
    return tables


def render(data: ReportData, console: Console, *, leaderboard_only: bool = False) -> None:
    for table in leaderboard_tables(data):
        console.print(table)
    if leaderboard_only:
        return
    worst = Table(title=f"Worst categories (lowest pass rates, top {WORST_CATEGORIES})", title_justify="left")
    for column in ("model", "type", "category", "pass rate", "95% interval", "passed", "failed"):
        worst.add_column(column)
    for row in [r for r in data.categories if r["pass_rate"] is not None][:WORST_CATEGORIES]:
        worst.add_row(row["model_name"] or "", str(row["benchmark_type_id"]), row["probe_category_name"] or "",
                      percent(row["pass_rate"]), interval(row["pass_rate_low"], row["pass_rate_high"]),
                      str(row["passed"]), str(row["failed"]))
    console.print(worst)
    regressions = Table(title=f"Regressions ({len(data.regressions)})", title_justify="left")
    for column in ("model", "type", "probe", "previous", "latest", "change", "significant"):
        regressions.add_column(column)
    for row in data.regressions:
        regressions.add_row(row["model_name"] or "", str(row["benchmark_type_id"]), row["probe_name"] or "",
                            percent(row["previous_pass_rate"]), percent(row["latest_pass_rate"]),
                            f"{100 * row['delta']:+.1f} pts", "yes" if row["significant"] else "no")
    console.print(regressions)
    if data.data_quality:
        quality = Table(title=f"Data-quality problems ({len(data.data_quality)})", title_justify="left")
        for column in ("check", "entity", "id", "detail"):
            quality.add_column(column)
        for row in data.data_quality:
            quality.add_row(row["check_name"], row["entity"], row["entity_id"], row["detail"])
        console.print(quality)
    else:
        console.print("Data quality: no problems found.")
    console.print(freshness(data))


def freshness(data: ReportData, now: datetime | None = None) -> str:
    if data.last_load_at is None:
        return "Freshness: no load recorded."
    now = now or datetime.now(UTC)
    text = (f"Freshness: last load finished {data.last_load_at:%Y-%m-%d %H:%M} UTC ({_age(now, data.last_load_at)} "
            f"ago); {len(data.loads)} loads in all.")
    if data.checked_at is not None and data.checked_at > data.last_load_at + timedelta(minutes=1):
        text += (f" Checked against the API since, nothing had changed: {data.checked_at:%Y-%m-%d %H:%M} UTC "
                 f"({_age(now, data.checked_at)} ago).")
    return text


def _age(now: datetime, then: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
