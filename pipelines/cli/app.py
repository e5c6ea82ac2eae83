"""The `benchmarks-etl` command line: load, demo and simulate (report, query, export and status build on it)."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from pipelines import interrupts
from pipelines.api import settings
from pipelines.errors import BenchmarksEtlError, ConfigError, ExitCode
from pipelines.readers.formats import ExportFormat, QueryFormat
from pipelines.safe_text import CsvFormulas, terminal_text
from pipelines.warehouse.destinations import Destination
from pipelines.warehouse.settings import DEFAULT_DB_FILE

app = typer.Typer(
    help="Load the Benchmarks API (LLM security benchmarks) into DuckDB or PostgreSQL; keep pass-rate views over it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    Path, typer.Option("--db", help="Warehouse file (DuckDB).", show_default=True)
]
DestinationOption = Annotated[
    Destination,
    typer.Option(
        "--destination",
        help="Warehouse engine: a DuckDB file (--db), or the PostgreSQL database named by "
        "DESTINATION__POSTGRES__CREDENTIALS or the destination.postgres section of .dlt/secrets.toml.",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary; errors only.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs on errors.")]

# The simulator's scales (simulator/scales.py), smallest first, as choices of --scale: typer lists them in --help
# and rejects others. Named here, not imported, so that only the commands that run the simulator import it
# (tests/test_cli_options.py checks that both agree).
SIMULATOR_SCALES = ("tiny", "small", "medium", "large")
Scale = StrEnum("Scale", {name: name for name in SIMULATOR_SCALES})
ScaleOption = Annotated[Scale, typer.Option(help="Size of the simulated world.")]


def _reports_errors(command: F) -> F:
    """Our errors end the command with one line on stderr and their exit code; tracebacks only with --verbose."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = bool(kwargs.get("verbose"))
        if verbose:
            os.environ["RUNTIME__LOG_LEVEL"] = "INFO"
        try:
            if kwargs.get("destination") is Destination.POSTGRES:  # dlt resolves the credentials: with our defaults
                from pipelines.load.dlt_runtime import use_dlt_configuration

                use_dlt_configuration()
            with interrupts.running(verbose=verbose), interrupts.as_interruption():
                return command(*args, **kwargs)
        except BenchmarksEtlError as exc:
            if verbose:
                traceback.print_exc()
            _echo_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            if interrupts.claim_exit():  # the one line, unless the watchdog printed it already
                typer.echo(interrupts.message(), err=True)
            raise typer.Exit(interrupts.exit_code(exc)) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # a bug or an environment problem we did not foresee: still one line
            if verbose:
                traceback.print_exc()
            _echo_error(f"unexpected {type(exc).__name__}: {exc} (run again with --verbose for details)")
            raise typer.Exit(ExitCode.FAILED) from None

    return wrapper  # type: ignore[return-value]


def _echo_error(message: str) -> None:
    """One line, shown literally: an API's error body or a name in the message cannot drive the terminal."""
    typer.echo(f"error: {terminal_text(message)}", err=True)


def parse_type_ids(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--types expects comma-separated integer ids such as 1,3; got {value!r}.") from None


@app.command()
@_reports_errors
def load(
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    base_url: Annotated[
        str | None,
        typer.Option(help=f"API root URL (default: {settings.BASE_URL_SETTING} or {settings.DEFAULT_BASE_URL})."),
    ] = None,
    types: Annotated[str | None, typer.Option(help="Only these benchmark type ids, e.g. 1,3.")] = None,
    workers: Annotated[
        int | None, typer.Option(help=f"Concurrent requests (default {settings.DEFAULT_WORKERS}).", min=1)
    ] = None,
    full_refresh: Annotated[bool, typer.Option(help="Drop the loaded data and reload everything.")] = False,
    allow_insecure_http: Annotated[
        bool, typer.Option(help="Allow a plain http:// base URL to a non-loopback host (the key travels in clear).")
    ] = False,
    allow_mass_removal: Annotated[
        bool,
        typer.Option(help="This once, accept lists that flag more than sources.benchmarks.max_removal_fraction of "
                     "the runs or models as removed."),
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Load the API into the warehouse incrementally, then re-create the analytics views."""
    from pipelines.load.runner import run_load
    from pipelines.progress import make_progress

    progress = make_progress(quiet=quiet)
    try:
        result = run_load(
            db, destination=destination, base_url=base_url, type_ids=parse_type_ids(types), workers=workers,
            full_refresh=full_refresh, progress=progress, allow_insecure_http=allow_insecure_http,
            allow_mass_removal=allow_mass_removal,
        )
    finally:
        progress.close()
    if not quiet:
        for notice in result.notices:
            typer.echo(notice)
        typer.echo(result.summary())


@app.command()
@_reports_errors
def demo(
    db: DbOption = Path("benchmarks-demo.duckdb"),
    scale: ScaleOption = Scale.small,
    verbose: VerboseOption = False,
) -> None:
    """Start the API simulator on a free port, load it into a fresh demo warehouse, write benchmarks-demo.html."""
    from pipelines.cli.demo import run_demo

    run_demo(db, scale=scale.value, echo=typer.echo, html=Path("benchmarks-demo.html"))


CsvFormulasOption = Annotated[
    CsvFormulas,
    typer.Option(
        "--csv-formulas",
        help="CSV text cells starting with = + - @ tab or CR: 'escape' prefixes a single quote so spreadsheets show "
        "them as text (OWASP); 'keep' writes them unchanged.",
    ),
]


@app.command()
@_reports_errors
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


@app.command()
@_reports_errors
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


@app.command()
@_reports_errors
def status(
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    max_age: Annotated[
        str | None, typer.Option(help="Unhealthy when the last successful load is older, e.g. 26h or 90m.")
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Last successful load, its age, rows per view, the last failure; exit 1 when unhealthy (for monitoring)."""
    from pipelines.readers.durations import parse_duration
    from pipelines.readers.status import collect_status, render_status
    from pipelines.warehouse.destinations import open_engine

    engine = open_engine(destination, db, reading=True)
    report = collect_status(engine, max_age=parse_duration(max_age) if max_age else None)
    typer.echo(render_status(report))
    raise typer.Exit(ExitCode.FAILED if report.problems else ExitCode.OK)


@app.command()
@_reports_errors
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


@app.command()
@_reports_errors
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


@app.command()
def simulate(
    scale: ScaleOption = Scale.small,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic world.")] = 0,
    epoch: Annotated[int, typer.Option(help="World version: each step adds, re-scores and removes runs.")] = 0,
    api_key: Annotated[str, typer.Option(help="The key clients must send as X-Api-Key.")] = "demo-key",
    latency_ms: Annotated[float, typer.Option(help="Delay before every API response.")] = 0.0,
    fail_rate: Annotated[float, typer.Option(help="Fraction of requests answered 500/503/429 or dropped.")] = 0.0,
) -> None:
    """Serve the Benchmarks API simulator (deterministic synthetic data) until Ctrl-C."""
    from simulator.server import serve_forever

    interrupts.release()  # it stops on Ctrl-C / SIGTERM by itself

    serve_forever(
        seed=seed, scale=scale.value, epoch=epoch, api_key=api_key, latency_ms=latency_ms, fail_rate=fail_rate,
        port=port, announce=typer.echo,
    )


def main() -> None:
    interrupts.install()  # Ctrl-C / SIGTERM: one line, exit 130 / 143, within seconds, at any moment
    try:
        app(prog_name="benchmarks-etl")
    finally:
        interrupts.exit_if_interrupted()  # without waiting for threads that may never end (a hung read)


if __name__ == "__main__":
    sys.exit(main())
