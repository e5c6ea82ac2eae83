"""The report as rich tables in the terminal: leaderboards, worst categories, regressions, data quality, freshness."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from pipelines.readers.durations import duration_text
from pipelines.readers.report.data import WORST_CATEGORIES, ReportData
from pipelines.safe_text import rich_text


def _table(title: str, columns: tuple[str, ...], justify: dict[str, str] | None = None) -> Table:
    """A table whose title and cells are rich Text (see `_row`): names from the API are never read as markup."""
    table = Table(title=rich_text(title, multiline=False), title_justify="left")
    for column in columns:
        table.add_column(column, justify=(justify or {}).get(column, "left"))
    return table


def _row(table: Table, *cells: object) -> None:
    table.add_row(*(rich_text(cell) for cell in cells))


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
        right = dict.fromkeys(("rank", "pass rate", "95% interval", "test cases"), "right")
        table = _table(title, ("rank", "model", "provider", "pass rate", "95% interval", "test cases"), right)
        for row in rows:
            _row(table, row["rank"], row["model_name"], row["provider"], percent(row["pass_rate"]),
                 interval(row["pass_rate_low"], row["pass_rate_high"]), f"{row['test_cases']:,}")
        tables.append(table)
    return tables


def render(data: ReportData, console: Console, *, leaderboard_only: bool = False) -> None:
    for table in leaderboard_tables(data):
        console.print(table)
    if leaderboard_only:
        return
    worst = _table(f"Worst categories (lowest pass rates, top {WORST_CATEGORIES})",
                   ("model", "type", "category", "pass rate", "95% interval", "passed", "failed"))
    for row in [r for r in data.categories if r["pass_rate"] is not None][:WORST_CATEGORIES]:
        _row(worst, row["model_name"], row["benchmark_type_id"], row["probe_category_name"], percent(row["pass_rate"]),
             interval(row["pass_rate_low"], row["pass_rate_high"]), row["passed"], row["failed"])
    console.print(worst)
    regressions = _table(f"Regressions ({len(data.regressions)})",
                         ("model", "type", "probe", "previous", "latest", "change", "significant"))
    for row in data.regressions:
        _row(regressions, row["model_name"], row["benchmark_type_id"], row["probe_name"],
             percent(row["previous_pass_rate"]), percent(row["latest_pass_rate"]), f"{100 * row['delta']:+.1f} pts",
             "yes" if row["significant"] else "no")
    console.print(regressions)
    if data.data_quality:
        quality = _table(f"Data-quality problems ({len(data.data_quality)})", ("check", "entity", "id", "detail"))
        for row in data.data_quality:
            _row(quality, row["check_name"], row["entity"], row["entity_id"], row["detail"])
        console.print(quality)
    else:
        console.print(rich_text("Data quality: no problems found."))
    console.print(rich_text(freshness(data)))


def freshness(data: ReportData, now: datetime | None = None) -> str:
    if data.last_load_at is None:
        return "Freshness: no load recorded."
    now = now or datetime.now(UTC)
    text = (f"Freshness: last load finished {data.last_load_at:%Y-%m-%d %H:%M} UTC "
            f"({duration_text(now - data.last_load_at)} ago); {len(data.loads)} loads in all.")
    if data.checked_at is not None and data.checked_at > data.last_load_at + timedelta(minutes=1):
        text += (f" Checked against the API since, nothing had changed: {data.checked_at:%Y-%m-%d %H:%M} UTC "
                 f"({duration_text(now - data.checked_at)} ago).")
    return text
