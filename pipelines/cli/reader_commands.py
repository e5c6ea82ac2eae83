"""The commands that read a warehouse: query, export, status, check, report and verify. Each imports its reader when it
runs, so that `--help` and the other commands do not."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.one_line_errors import reports_errors
from pipelines.cli.options import CsvFormulasOption, DbOption, DestinationOption, VerboseOption
from pipelines.errors import ExitCode
from pipelines.readers.formats import ExportFormat, QueryFormat, TextOrJson
from pipelines.safe_text import CsvFormulas, terminal_text
from pipelines.warehouse.destinations import Destination
from pipelines.warehouse.settings import DEFAULT_DB_FILE


@reports_errors
def query(
    sql: Annotated[str, typer.Argument(help="One SQL statement, e.g. \"select * from analytics.models\".")],
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    output_format: Annotated[QueryFormat, typer.Option("--format", help="Output format.")] = QueryFormat.TABLE,
    csv_formulas: CsvFormulasOption = CsvFormulas.ESCAPE,
    verbose: VerboseOption = False,
) -> None:
    """Run ad-hoc SQL against the warehouse, read-only."""
    from pipelines.readers.query import format_rows, run_query
    from pipelines.warehouse.destinations import open_engine

    columns, rows = run_query(open_engine(destination, db, reading=True), sql)
    text = format_rows(columns, rows, output_format.value, csv_formulas)
    if output_format is QueryFormat.CSV and sys.stdout.isatty():
        text = terminal_text(text, multiline=True)  # literal text on a terminal
    typer.echo(text, nl=False, color=True)  # into a file or a pipe exactly: click would strip ESC [ ... sequences


@reports_errors
def export(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files to.")],
    output_format: Annotated[
        ExportFormat, typer.Option("--format", help="File format.")
    ] = ExportFormat.PARQUET,
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    csv_formulas: CsvFormulasOption = CsvFormulas.ESCAPE,
    verbose: VerboseOption = False,
) -> None:
    """Write every analytics view to a file per view (atomically), for BI tools that cannot open DuckDB."""
    from pipelines.readers.query import export_views
    from pipelines.warehouse.destinations import open_engine

    written = export_views(open_engine(destination, db, reading=True), out, output_format.value, csv_formulas)
    typer.echo(f"Wrote {len(written)} files to {Path(out).resolve()}: {', '.join(p.name for p in written)}")


TextOrJsonOption = Annotated[TextOrJson, typer.Option("--format", help="Output format.")]


@reports_errors
def status(
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    max_age: Annotated[
        str | None, typer.Option(help="Unhealthy when the last successful load is older, e.g. 26h or 90m.")
    ] = None,
    output_format: TextOrJsonOption = TextOrJson.TEXT,
    verbose: VerboseOption = False,
) -> None:
    """Last successful load, its age, rows per view, the last failure; exit 1 when unhealthy (for monitoring)."""
    from pipelines.readers.durations import parse_duration
    from pipelines.readers.status import collect_status, render_status, status_json
    from pipelines.warehouse.destinations import open_engine

    engine = open_engine(destination, db, reading=True)
    report = collect_status(engine, max_age=parse_duration(max_age) if max_age else None)
    typer.echo(status_json(report) if output_format is TextOrJson.JSON else render_status(report))
    raise typer.Exit(ExitCode.FAILED if report.problems else ExitCode.OK)


@reports_errors
def check(
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    max_drop: Annotated[
        str, typer.Option(metavar="POINTS", help="A regression is a drop of more than this many percentage points.")
    ] = "10",
    min_cases: Annotated[
        str, typer.Option(metavar="N", help="Only runs with at least N passed + failed test cases, both of them.")
    ] = "30",
    since_last_load: Annotated[
        bool, typer.Option(help="Only regressions whose latest run arrived in the last load (cron mails once).")
    ] = False,
    max_age: Annotated[
        str | None,
        typer.Option(help="Fail (exit 1) where `status --max-age` is unhealthy: stale, or the last load failed."),
    ] = None,
    output_format: TextOrJsonOption = TextOrJson.TEXT,
    verbose: VerboseOption = False,
) -> None:
    """The regression gate: exit 10 and one line per probe whose latest run regressed beyond the thresholds (and
    whose 95% Wilson intervals no longer overlap); exit 0 and no output otherwise."""
    from pipelines.readers.check import Thresholds, find_regressions, regression_line, regressions_json
    from pipelines.readers.durations import parse_duration
    from pipelines.warehouse.destinations import open_engine

    thresholds = Thresholds.parse(max_drop, min_cases)
    age = parse_duration(max_age) if max_age else None
    regressions = find_regressions(open_engine(destination, db, reading=True), thresholds,
                                   since_last_load=since_last_load, max_age=age)
    if output_format is TextOrJson.JSON:
        typer.echo(regressions_json(regressions))
    else:
        for regression in regressions:
            typer.echo(regression_line(regression))
    raise typer.Exit(ExitCode.REGRESSION if regressions else ExitCode.OK)


@reports_errors
def report(
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    type_id: Annotated[int | None, typer.Option("--type", help="Only this benchmark type id.")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report with charts.")] = None,
    verbose: VerboseOption = False,
) -> None:
    """Leaderboards, worst categories, regressions, data quality and freshness; --html for charts."""
    from pipelines.readers.report.data import read_report_data
    from pipelines.readers.report.html import write_html
    from pipelines.readers.report.terminal import render, report_console
    from pipelines.warehouse.destinations import open_engine

    data = read_report_data(open_engine(destination, db, reading=True), type_id)
    render(data, report_console())
    if html is not None:
        typer.echo(f"HTML report: {write_html(data, html)}")


@reports_errors
def verify(
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    verbose: VerboseOption = False,
) -> None:
    """Check the warehouse against its own invariants; name each problem; exit 1 when anything is wrong."""
    from pipelines.readers.verify import verify_warehouse
    from pipelines.warehouse.destinations import open_engine

    problems = verify_warehouse(open_engine(destination, db))
    for problem in problems:
        typer.echo(problem)
    if problems:
        typer.echo("The next load repairs this: it fetches the runs named again.", err=True)
        raise typer.Exit(ExitCode.FAILED)
    typer.echo("The warehouse is whole: every loaded run holds exactly the rows its load brought.")
